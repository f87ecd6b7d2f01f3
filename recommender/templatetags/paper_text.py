"""Template filters that make paper metadata read well outside LaTeX."""

from __future__ import annotations

import re

from django import template

register = template.Library()

# \textbf{Event-VLA} -> Event-VLA; applied repeatedly so nested commands unwrap too.
_COMMAND_WITH_ARGUMENT = re.compile(r"\\[a-zA-Z]+\*?\{([^{}]*)\}")
# A command without an argument reads best as its name: \log -> log, \alpha -> alpha.
_BARE_COMMAND = re.compile(r"\\([a-zA-Z]+)\*?")
_MATH_DELIMITER = re.compile(r"(?<!\\)\$")


@register.filter
def plain_text(value: str) -> str:
    """Abstract text without LaTeX markup: commands unwrapped, math dollars dropped."""
    text = str(value)
    previous = None
    while previous != text:
        previous, text = text, _COMMAND_WITH_ARGUMENT.sub(r"\1", text)
    text = _BARE_COMMAND.sub(r"\1", text)
    text = _MATH_DELIMITER.sub("", text).replace("\\$", "$")
    return " ".join(text.split())
