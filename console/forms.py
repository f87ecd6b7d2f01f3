"""Form fields that show JSON lists the way people read them: one item per line."""

from __future__ import annotations

from django import forms


class LinesField(forms.Field):
    """A list of short strings (authors, categories, keywords) edited as one item per line."""

    widget = forms.Textarea(attrs={"rows": 4, "cols": 60})

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(str(item) for item in value)
        return value

    def to_python(self, value) -> list[str]:
        if isinstance(value, list):
            return value
        return [line.strip() for line in (value or "").splitlines() if line.strip()]
