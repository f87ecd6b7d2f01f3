"""Form validation: bad input gets a clear message next to the field, and keeps what was typed."""

from __future__ import annotations

import pytest

from accounts.forms import PreferencesForm, SubscribeForm
from accounts.models import Subscriber
from accounts.references import parse_reference
from tests.helpers import form_data

pytestmark = pytest.mark.usefixtures("fresh_cache")


def _errors(**overrides) -> dict:
    form = SubscribeForm(form_data(**overrides))
    assert not form.is_valid()
    return form.errors


def test_it_accepts_a_complete_form():
    form = SubscribeForm(form_data(seed_references="2503.11731\nA title"))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["keywords"] == ["LoRA", "speculative decoding"]
    assert form.cleaned_data["send_hour"] == 7
    assert [r.arxiv_id for r in form.cleaned_data["seed_references"]] == ["2503.11731", ""]


BAD_INPUT = [
    ("email", "not-an-email", "does not look like an email address"),
    ("email", "", "We need your email address"),
    ("interests_text", "", "Tell us in a few words what you like to read"),
    ("interests_text", "   ", "Tell us in a few words what you like to read"),
    ("interests_text", "a" * 10_000, "Please keep this under 2,000 characters (it has 10,000)"),
    ("categories", ["cs.LG", "astro-ph.XX"], "“astro-ph.XX” is not an arXiv category we offer"),
    ("seed_references", "2503.1173", "is not an arXiv id or arXiv link"),
    ("seed_references", "2513.11731", "is not an arXiv id or arXiv link"),
    ("seed_references", "arXiv:hello", "is not an arXiv id or arXiv link"),
    ("seed_references", "https://example.com/paper.pdf", "is not an arXiv id or arXiv link"),
    ("seed_references", "https://arxiv.org/abs/123", "is not an arXiv id or arXiv link"),
    ("seed_references", "12345", "neither an arXiv id nor a paper title"),
    ("timezone", "Mars/Olympus_Mons", "is not a time zone we know"),
    ("send_hour", "24", "Select a valid choice"),
    ("send_hour", "-1", "Select a valid choice"),
    ("frequency", "hourly", "Select a valid choice"),
    ("keywords", ",".join(f"k{i}" for i in range(25)), "Up to 20 keywords"),
    ("keywords", "x" * 80, "Keep each keyword under 60 characters"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUT)
def test_it_explains_bad_input(field, value, message):
    errors = _errors(**{field: value})
    assert list(errors) == [field]
    assert message in " ".join(errors[field])


def test_the_validation_only_form_agrees_with_the_form_on_every_input():
    # The subscribe POST validates with SubscribeForm.for_validation (no per-form copies of the
    # fields); it must accept, clean and refuse exactly what SubscribeForm does.
    cases = [form_data(), form_data(seed_references="2503.11731\nA title", website="")]
    cases += [form_data(**{field: value}) for field, value, _ in BAD_INPUT]
    cases += [form_data(email="a@example.org\r\nBcc: b@example.org"), form_data(website="x")]
    for data in cases:
        checked, rendered = SubscribeForm.for_validation(data), SubscribeForm(data)
        assert checked.is_valid() == rendered.is_valid()
        assert checked.errors == rendered.errors
        assert checked.cleaned_data == rendered.cleaned_data


def test_validating_never_changes_the_forms_fields():
    fields_before = list(SubscribeForm.base_fields)
    for _ in range(2):
        checked = SubscribeForm.for_validation(form_data(categories=["cs.LG", "astro-ph.XX"]))
        assert not checked.is_valid()
    # Field order (email first) and every field's choices are as the rendering form needs them.
    assert list(SubscribeForm.base_fields) == fields_before
    form = SubscribeForm()
    assert next(iter(form.fields)) == "email"
    assert list(SubscribeForm.for_validation(form_data()).fields) == list(form.fields)
    assert len(form.hour_options()) == 24


@pytest.mark.parametrize(
    ("pasted", "arxiv_id"),
    [
        ("2503.11731", "2503.11731"),
        ("2503.11731v3", "2503.11731"),
        ("arXiv:2503.11731", "2503.11731"),
        ("0704.0001", "0704.0001"),
        ("hep-th/9901001", "hep-th/9901001"),
        ("hep-th/9901001v2", "hep-th/9901001"),
        ("math.GT/0309136", "math/0309136"),
        ("https://arxiv.org/abs/2503.11731", "2503.11731"),
        ("https://arxiv.org/pdf/2503.11731v1", "2503.11731"),
        ("http://export.arxiv.org/abs/hep-th/9901001", "hep-th/9901001"),
        ("https://arxiv.org/pdf/2503.11731.pdf", "2503.11731"),
    ],
)
def test_it_understands_arxiv_ids_and_links(pasted, arxiv_id):
    assert parse_reference(pasted).arxiv_id == arxiv_id


def test_it_keeps_titles_as_titles():
    reference = parse_reference("  Attention Is   All You Need ")
    assert reference.title == "Attention Is All You Need"
    assert reference.arxiv_id == ""


def test_it_rejects_too_many_references():
    pasted = "\n".join(f"2503.{n:05d}" for n in range(51))
    assert "Up to 50 papers" in " ".join(_errors(seed_references=pasted)["seed_references"])


def test_it_fills_the_preferences_form_from_a_profile(make_subscriber):
    subscriber = make_subscriber(
        interests_text="robots",
        keywords=["SLAM", "RL"],
        categories=["cs.RO", "gone.XX"],
        seed_references=["2503.11731"],
        timezone="Europe/Paris",
        send_hour=9,
    )
    form = PreferencesForm.for_profile(subscriber.profile)
    assert form["keywords"].value() == "SLAM, RL"
    assert form["categories"].value() == ["cs.RO"]
    assert form["seed_references"].value() == "2503.11731"
    assert ("9", "09:00", True) in form.hour_options()


def test_it_rerenders_the_page_with_messages_next_to_fields_and_typed_values(client, db):
    typed = "a long story " * 900
    response = client.post(
        "/",
        form_data(
            email="bad@",
            interests_text=typed,
            categories=["cs.LG", "nope.XX"],
            keywords="kept, words",
            seed_references="2503.1\nMy favourite title",
        ),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_email-error"' in html
    assert 'aria-invalid="true"' in html
    assert 'value="bad@"' in html
    assert typed.strip() in html
    assert 'value="kept, words"' in html
    assert "My favourite title" in html
    assert 'value="cs.LG" checked' in html
    assert "Please check the form" in html
    assert not Subscriber.objects.exists()


def test_it_keeps_a_change_to_one_forms_choices_out_of_the_next_form():
    # The choice fields share their fixed choices between form instances (no per-form copy).
    first = SubscribeForm()
    first.fields["send_hour"].choices = [(7, "07:00")]
    first.fields["categories"].choices = [("cs.LG", "Machine Learning")]
    second = SubscribeForm(form_data(send_hour="9", categories=["cs.RO", "eess.AS"]))
    assert second.is_valid(), second.errors
    assert len(second.hour_options()) == 24
    assert second.cleaned_data["categories"] == ["cs.RO", "eess.AS"]
    assert not SubscribeForm(form_data(send_hour="24")).is_valid()
