"""Template filters that make paper metadata read well outside LaTeX (see recommender.text)."""

from __future__ import annotations

from django import template

from recommender.text import readable

register = template.Library()


@register.filter
def plain_text(value: str) -> str:
    """Title or abstract text without LaTeX markup: `$Ω$` -> Ω, `\\textbf{X}` -> X."""
    return readable(value)
