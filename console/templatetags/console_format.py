from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def pct(value: float | None, digits: int = 2) -> str:
    """0.0012 -> "0.12 %": rates as people read them."""
    if value is None:
        return "-"
    return f"{100 * float(value):.{int(digits)}f} %"


@register.filter
def minutes(value) -> str:
    """A timedelta as "30 minutes" (the lockout page's cool-off)."""
    try:
        total = round(value.total_seconds() / 60)
    except AttributeError:
        return ""
    return f"{total} minute{'s' if total != 1 else ''}"
