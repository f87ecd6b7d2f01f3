"""Templates rendered once with placeholders ("slots") and then filled many times by plain
string substitution: the digest's paper blocks and layouts (see digest_email.DigestRenderer).

A slot is a name between two private-use characters; `comment_slot` wraps one in an HTML
comment, which the HTML parser keeps where it stands even between table rows (text there would
be moved out of the table). Values are escaped by the caller, for where the slot stands.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.utils.safestring import SafeString, mark_safe

_OPEN, _CLOSE = "\ue000", "\ue001"
_SLOT = re.compile(f"<!--{_OPEN}(\\w+){_CLOSE}-->|{_OPEN}(\\w+){_CLOSE}")


class SlotError(ValueError):
    """A rendered template holds a slot nobody asked for (a stray private-use character pair in
    the data); the caller renders that email without slots instead."""


def holds_markers(*parts: object) -> bool:
    """Whether data to be rendered among slots could be taken for one: such data is rendered
    the plain way."""
    return any(_OPEN in text or _CLOSE in text for text in map(str, parts))


def slot(name: str) -> SafeString:
    return mark_safe(f"{_OPEN}{name}{_CLOSE}")  # noqa: S308 (a fixed marker, not user data)


def comment_slot(name: str) -> SafeString:
    return mark_safe(f"<!--{_OPEN}{name}{_CLOSE}-->")  # noqa: S308 (a fixed marker)


class Filler:
    """A rendered text split at its slots: literal, name, literal, name, ..., literal."""

    def __init__(self, rendered: str, names: set[str]) -> None:
        pieces = _SLOT.split(rendered)
        self._literals = pieces[::3]
        pairs = zip(pieces[1::3], pieces[2::3], strict=True)
        self._names = [comment or plain for comment, plain in pairs]
        unknown = set(self._names) - names
        if unknown or any(_OPEN in part or _CLOSE in part for part in self._literals):
            raise SlotError(f"unexpected slot markers in a rendered template: {sorted(unknown)}")

    def fill(self, values: Mapping[str, str]) -> str:
        """The text with each slot replaced by its value, escaped already for where it stands."""
        out = [self._literals[0]]
        for name, literal in zip(self._names, self._literals[1:], strict=True):
            out.append(values[name])
            out.append(literal)
        return "".join(out)


# What css-inline writes back after parsing an escaped value: the parser has undone Django's
# escaping and normalised line ends; its serialiser escapes only these characters. (Chained
# replace() is several times faster than translate() on the short, mostly clean values here.)


def _line_ends(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value


def serialised_text(value: str) -> str:
    """`value` as text of a document that went through css-inline (parsed and serialised)."""
    value = _line_ends(value).replace("&", "&amp;").replace("\xa0", "&nbsp;")
    value = value.replace("<", "&lt;").replace(">", "&gt;")
    return value.replace("\x00", "") if "\x00" in value else value


def serialised_attribute(value: str) -> str:
    """`value` as an attribute value of a document that went through css-inline."""
    value = _line_ends(value).replace("&", "&amp;").replace("\xa0", "&nbsp;")
    value = value.replace('"', "&quot;")
    return value.replace("\x00", "\ufffd") if "\x00" in value else value
