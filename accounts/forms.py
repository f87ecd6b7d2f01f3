"""The subscribe and preferences forms: what a person may tell us, and clear messages when not."""

from __future__ import annotations

import copy
import zoneinfo
from functools import cache

from django import forms
from django.core.exceptions import ValidationError

from .categories import CATEGORY_GROUPS, CATEGORY_NAMES
from .models import InterestProfile, normalise_email
from .references import HOW_TO_WRITE, Reference, read_pasted

INTERESTS_MAX_LENGTH = 2000
MAX_KEYWORDS = 20
KEYWORD_MAX_LENGTH = 60
WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]
HOURS = [(hour, f"{hour:02d}:00") for hour in range(24)]
LINE_BREAK_MESSAGE = "Line breaks are not allowed in this field."


@cache
def known_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _reject_line_breaks(value: object) -> None:
    # Checked on the raw value, before stripping: a trailing "\r\nBcc: ..." is an injection
    # attempt even though stripping would hide it.
    if isinstance(value, str) and any(char in value for char in "\r\n\x00"):
        raise ValidationError(LINE_BREAK_MESSAGE, code="line_break")


class SingleLineCharField(forms.CharField):
    def to_python(self, value):
        _reject_line_breaks(value)
        return super().to_python(value)


class SingleLineEmailField(forms.EmailField):
    def to_python(self, value):
        _reject_line_breaks(value)
        return super().to_python(value)


class _SharedChoicesWidget:
    """Shares its choices with its copies instead of copying and re-normalising them."""

    def __deepcopy__(self, memo):
        # forms.Widget.__deepcopy__, which ChoiceWidget extends with a copy of the choices.
        return forms.Widget.__deepcopy__(self, memo)


class SharedCheckboxSelectMultiple(_SharedChoicesWidget, forms.CheckboxSelectMultiple):
    pass


class SharedRadioSelect(_SharedChoicesWidget, forms.RadioSelect):
    pass


class SharedSelect(_SharedChoicesWidget, forms.Select):
    pass


class _FixedChoicesField:
    """A choice field whose choices are fixed when the form class is defined.

    Django deep-copies every field for every form instance, choices included; for these
    fields that was most of the form's cost on each subscribe POST. The choices are frozen
    into tuples here, so sharing them between instances is safe: they cannot be changed in
    place, and assigning new ones to one form's field does not touch the others.
    """

    def __init__(self, *, choices, widget, **kwargs):
        frozen = tuple(
            (value, tuple(label) if isinstance(label, (list, tuple)) else label)
            for value, label in choices
        )
        super().__init__(choices=frozen, widget=widget, **kwargs)

    def __deepcopy__(self, memo):
        result = copy.copy(self)
        memo[id(self)] = result
        result.widget = copy.deepcopy(self.widget, memo)
        result.error_messages = self.error_messages.copy()
        result.validators = self.validators[:]
        return result


class FixedMultipleChoiceField(_FixedChoicesField, forms.MultipleChoiceField):
    pass


class FixedChoiceField(_FixedChoicesField, forms.ChoiceField):
    pass


class FixedTypedChoiceField(_FixedChoicesField, forms.TypedChoiceField):
    pass


class ProfileForm(forms.Form):
    """The interest and delivery fields shared by the subscribe and preferences forms."""

    interests_text = forms.CharField(
        label="What do you read?",
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "required": "Tell us in a few words what you like to read, e.g. "
            "“efficient inference for large language models”."
        },
    )
    keywords = SingleLineCharField(label="Keywords", required=False, max_length=1200)
    categories = FixedMultipleChoiceField(
        label="arXiv categories",
        required=False,
        choices=CATEGORY_GROUPS,
        widget=SharedCheckboxSelectMultiple,
        error_messages={"invalid_choice": "“%(value)s” is not an arXiv category we offer."},
    )
    seed_references = forms.CharField(
        label="Papers you liked",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    frequency = FixedChoiceField(
        label="How often",
        choices=InterestProfile.Frequency.choices,
        initial=InterestProfile.Frequency.DAILY,
        widget=SharedRadioSelect,
    )
    send_weekday = FixedTypedChoiceField(
        label="Weekly digests arrive on",
        choices=WEEKDAYS,
        coerce=int,
        initial=0,
        widget=SharedSelect,
    )
    timezone = SingleLineCharField(label="Time zone", max_length=64, initial="UTC")
    send_hour = FixedTypedChoiceField(
        label="Send at", choices=HOURS, coerce=int, initial=7, widget=SharedSelect
    )

    def clean_interests_text(self) -> str:
        text = self.cleaned_data["interests_text"].strip()
        if len(text) > INTERESTS_MAX_LENGTH:
            raise ValidationError(
                f"Please keep this under {INTERESTS_MAX_LENGTH:,} characters "
                f"(it has {len(text):,}). A sentence or two is plenty."
            )
        return text

    def clean_keywords(self) -> list[str]:
        raw = self.cleaned_data["keywords"]
        keywords = []
        for part in raw.split(","):
            keyword = " ".join(part.split())
            if keyword and keyword.lower() not in (k.lower() for k in keywords):
                keywords.append(keyword)
        if len(keywords) > MAX_KEYWORDS:
            raise ValidationError(f"Up to {MAX_KEYWORDS} keywords, please.")
        too_long = [k for k in keywords if len(k) > KEYWORD_MAX_LENGTH]
        if too_long:
            raise ValidationError(
                f"Keep each keyword under {KEYWORD_MAX_LENGTH} characters "
                f"(“{too_long[0][:30]}…” is longer); separate keywords with commas."
            )
        return keywords

    def clean_seed_references(self) -> list[Reference]:
        try:
            lines = read_pasted(self.cleaned_data["seed_references"])
        except ValueError as error:
            raise ValidationError(str(error)) from None
        errors = [f"Line {line.number}: {line.error}" for line in lines if line.error]
        if errors:
            # The hint once, on the first error: the summary at the top of the form shows it.
            raise ValidationError([f"{errors[0]} {HOW_TO_WRITE}", *errors[1:]])
        return [line.reference for line in lines if line.reference]

    def clean_timezone(self) -> str:
        name = self.cleaned_data["timezone"].strip()
        if name not in known_timezones():
            raise ValidationError(
                f"“{name[:64]}” is not a time zone we know. Use a name like Europe/Berlin, "
                "America/New_York or UTC."
            )
        return name

    # The templates write their own accessible markup; these give them each option's state.
    def category_groups(self) -> list[dict]:
        selected = set(self["categories"].value() or [])
        groups = []
        for group, choices in CATEGORY_GROUPS:
            categories = [
                {"code": code, "name": name, "checked": code in selected} for code, name in choices
            ]
            checked = sum(category["checked"] for category in categories)
            groups.append(
                {
                    "name": group,
                    "categories": categories,
                    "checked_count": checked,
                    "any_checked": checked > 0,
                }
            )
        return groups

    def _options(self, name: str) -> list[tuple[str, str, bool]]:
        current = str(self[name].value())
        return [
            (str(value), label, str(value) == current) for value, label in self.fields[name].choices
        ]

    def frequency_options(self) -> list[tuple[str, str, bool]]:
        return self._options("frequency")

    def weekday_options(self) -> list[tuple[str, str, bool]]:
        return self._options("send_weekday")

    def hour_options(self) -> list[tuple[str, str, bool]]:
        return self._options("send_hour")


class SubscribeForm(ProfileForm):
    email = SingleLineEmailField(
        label="Email address",
        max_length=254,
        error_messages={
            "required": "We need your email address to send you the digest.",
            "invalid": "That does not look like an email address, e.g. ada@example.org.",
        },
    )
    # Honeypot: hidden from people (CSS and aria-hidden), filled in by form-filling bots.
    website = forms.CharField(required=False, label="Leave this field empty")
    # The fingerprint of the pasted papers the person has seen checked (on the form, after a
    # first send, or live): a paste with lines we cannot match stops for review once.
    seed_reviewed = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    field_order = ["email"]

    @classmethod
    def for_validation(cls, data) -> SubscribeForm:
        """A form that validates `data` on the class's own field definitions instead of deep
        copies of them: the copies were a fifth to a third of the subscribe POST's own work,
        and a valid sign-up (nearly every POST) is never rendered. Clean-only: render a
        SubscribeForm."""
        return _SubscribeValidation(data)


class _FieldsUsedAsTheyAre(dict):
    """Field definitions that a form instance uses without copying them (see
    SubscribeForm.for_validation). Safe only because cleaning reads a field and never changes
    it; an instance that renders or alters its fields must have copies."""

    def __deepcopy__(self, memo):
        return self


class _SubscribeValidation(SubscribeForm):
    # Its fields are one copy made here, already in the form's order: ordering them per instance
    # would pop them from the shared dict.
    field_order = None


_SubscribeValidation.base_fields = _FieldsUsedAsTheyAre(SubscribeForm().fields)


class PreferencesForm(ProfileForm):
    @classmethod
    def for_profile(cls, profile: InterestProfile) -> PreferencesForm:
        return cls(
            initial={
                "interests_text": profile.interests_text,
                "keywords": ", ".join(profile.keywords),
                "categories": [c for c in profile.categories if c in CATEGORY_NAMES],
                "seed_references": "\n".join(profile.seed_references),
                "frequency": profile.frequency,
                "send_weekday": profile.send_weekday,
                "timezone": profile.timezone,
                "send_hour": profile.send_hour,
            }
        )


class ChangeEmailForm(forms.Form):
    """The preferences page's "change email address" form: the new address only."""

    new_email = SingleLineEmailField(
        label="New email address",
        max_length=254,
        error_messages={
            "required": "Enter the address you want your digests sent to.",
            "invalid": "That does not look like an email address, e.g. ada@example.org.",
        },
    )

    def __init__(self, *args, current_email: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.current_email = current_email

    def clean_new_email(self) -> str:
        new_email = normalise_email(self.cleaned_data["new_email"])
        if new_email == self.current_email:
            raise ValidationError("That is already your address.", code="unchanged")
        return new_email
