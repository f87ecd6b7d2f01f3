"""The whole subscription flow in a real browser (Debian's chromium through Playwright) against
a live server: subscribe, read the confirmation email from the outbox, confirm, edit preferences,
unsubscribe, change the address. Every page is also saved as a screenshot at desktop and phone
widths in var/screenshots/ for people to look at."""

from __future__ import annotations

import re

import pytest

from accounts.models import Subscriber
from recommender.models import Paper
from tests.browser.helpers import DESKTOP, PHONE, outbox_messages, shoot

pytestmark = pytest.mark.browser


def test_it_subscribes_confirms_edits_and_unsubscribes(browser, site, settings):
    context = browser.new_context(viewport=DESKTOP, timezone_id="Europe/Berlin")
    page = context.new_page()
    page.goto(site.url + "/")
    assert page.get_by_label("Time zone").input_value() == "Europe/Berlin"
    shoot(page, "01-landing")

    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_label("What do you read?").fill("speculative decoding for language models")
    preview = page.locator("#preview-results")
    preview.get_by_text("Speculative decoding for large language models at scale").wait_for()
    page.get_by_text("Language, vision and speech").click()  # open the collapsed group
    page.get_by_label("Computation and Language").check()
    assert "1 selected" in page.locator("summary", has_text="Language, vision").inner_text()
    page.get_by_label("At", exact=True).select_option("8")
    shoot(page, "02-landing-filled")
    page.get_by_role("button", name="Send me the confirmation email").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    shoot(page, "03-check-inbox")

    (message,) = outbox_messages(settings)
    assert message["To"] == "ada@example.org"
    text = message.get_body(preferencelist=("plain",)).get_content()
    confirm_url = re.search(r"http://\S+/confirm/\S+/", text).group(0)
    assert confirm_url.startswith(site.url)
    page.goto(confirm_url)
    shoot(page, "04-confirm")
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING
    page.get_by_role("button", name="Yes, start my digest").click()
    page.get_by_text("You are subscribed.").wait_for()
    shoot(page, "05-preferences")
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert subscriber.profile.timezone == "Europe/Berlin"
    assert subscriber.profile.send_hour == 8
    assert subscriber.profile.categories == ["cs.CL"]
    # The first digest goes out at once, not at tomorrow's send hour.
    _confirmation, first_digest = outbox_messages(settings)
    assert first_digest["To"] == "ada@example.org"
    assert "Speculative decoding" in first_digest.get_body(("plain",)).get_content()

    page.get_by_label("What do you read?").fill("graph neural networks for molecules")
    page.get_by_role("radio", name="Weekly").check()
    page.get_by_label("Weekly digests arrive on").select_option("4")
    page.get_by_label("Papers you liked").fill("2606.00003\n2501.99999")
    page.get_by_role("button", name="Save preferences").click()
    page.get_by_text("Saved.").wait_for()
    shoot(page, "06-preferences-saved")
    profile = Subscriber.objects.get().profile
    assert profile.interests_text == "graph neural networks for molecules"
    assert (profile.frequency, profile.send_weekday) == ("weekly", 4)
    assert [p.arxiv_id for p in profile.seed_papers.all()] == ["2606.00003"]

    page.get_by_role("link", name="Unsubscribe").click()
    shoot(page, "07-unsubscribe")
    assert Subscriber.objects.get().status == Subscriber.Status.ACTIVE
    page.get_by_role("button", name="Unsubscribe").click()
    page.get_by_role("heading", name="You are unsubscribed").wait_for()
    shoot(page, "08-unsubscribed")
    assert Subscriber.objects.get().status == Subscriber.Status.UNSUBSCRIBED
    assert len(outbox_messages(settings)) == 2
    context.close()


def test_it_shows_errors_next_to_fields_and_keeps_the_input(browser, site):
    page = browser.new_page(viewport=DESKTOP)
    page.goto(site.url + "/")
    page.get_by_label("Email address").fill("not-an-address")
    page.get_by_label("What do you read?").fill("x" * 10_000)
    page.get_by_label("Papers you liked").fill("2503.1")
    page.get_by_role("button", name="Send me the confirmation email").click()
    page.get_by_text("Please check the form.").wait_for()
    shoot(page, "09-form-errors")
    assert page.get_by_label("Email address").input_value() == "not-an-address"
    assert page.locator("#id_email-error").inner_text().startswith("That does not look like")
    assert "under 2,000 characters" in page.locator("#id_interests_text-error").inner_text()
    assert "not an arXiv id" in page.locator("#id_seed_references-error").inner_text()
    assert page.get_by_label("Papers you liked").input_value() == "2503.1"
    assert not Subscriber.objects.exists()
    page.close()


def test_it_works_without_javascript(browser, site, settings):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(site.url + "/")
    page.get_by_label("Email address").fill("nojs@example.org")
    page.get_by_label("What do you read?").fill("robot learning")
    page.get_by_role("button", name="Send me the confirmation email").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    subscriber = Subscriber.objects.get()
    assert subscriber.profile.timezone == "UTC"
    assert len(outbox_messages(settings)) == 1
    context.close()


def test_it_records_feedback_from_a_digest_and_deletes_everything(browser, site, settings):
    from datetime import date as day

    from django.utils import timezone

    from accounts.models import InterestProfile
    from recommender.delivery.sending import send_digest
    from recommender.models import Digest, DigestItem, FeedbackEvent

    now = timezone.now()
    subscriber = Subscriber.objects.create(
        email="grace@example.org", status="active", confirmed_at=now, consent_at=now
    )
    InterestProfile.objects.create(subscriber=subscriber, interests_text="language models")
    digest = Digest.objects.create(subscriber=subscriber, period_start=day(2026, 6, 30))
    for rank, paper in enumerate(Paper.objects.order_by("arxiv_id"), start=1):
        DigestItem.objects.create(digest=digest, paper=paper, rank=rank, score=1.0, reason="x")
    assert send_digest(digest)
    (message,) = outbox_messages(settings)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(preferencelist=("plain",)).get_content()
    more_like_first = re.search(r"More like this: (\S+)", text).group(1)

    page = browser.new_page(viewport=DESKTOP)
    page.goto(more_like_first)
    shoot(page, "11-feedback")
    assert not FeedbackEvent.objects.exists()
    page.get_by_role("button", name="Yes, more like this").click()
    page.get_by_role("heading", name="Thanks, noted").wait_for()
    shoot(page, "12-feedback-done")
    assert FeedbackEvent.objects.get().kind == "up"

    page.get_by_role("link", name="See everything you rated").click()
    liked = page.locator("#liked-heading").locator("..")
    liked.get_by_text("Speculative decoding for large language models at scale").wait_for()
    shoot(page, "13-preferences-with-history")

    page.get_by_role("link", name="Delete all my data").click()
    shoot(page, "14-delete")
    page.get_by_role("button", name="Delete everything").click()
    page.get_by_role("heading", name="Your data is deleted").wait_for()
    shoot(page, "15-deleted")
    assert not Subscriber.objects.exists()

    page.goto(more_like_first)
    assert page.get_by_role("heading", name="This link does not work").is_visible()
    shoot(page, "16-invalid-link")
    page.get_by_role("link", name="Email me a new link").click()
    shoot(page, "17-manage")
    page.close()


def test_it_changes_the_address_through_a_link_sent_to_the_new_one(browser, site, settings):
    from django.utils import timezone

    from accounts import tokens
    from accounts.models import InterestProfile

    now = timezone.now()
    subscriber = Subscriber.objects.create(
        email="ada@example.org", status="active", confirmed_at=now, consent_at=now
    )
    InterestProfile.objects.create(subscriber=subscriber, interests_text="robot learning")
    page = browser.new_page(viewport=DESKTOP)
    page.goto(site.url + tokens.preferences_path(subscriber))
    page.get_by_role("link", name="Change address").click()
    page.get_by_label("New email address").fill("not-an-address")
    page.get_by_role("button", name="Send confirmation link").click()
    page.get_by_text("That does not look like an email address").wait_for()
    assert page.get_by_label("New email address").input_value() == "not-an-address"
    shoot(page, "18-change-email-error")
    page.get_by_label("New email address").fill("ada@new.example.org")
    page.get_by_role("button", name="Send confirmation link").click()
    page.get_by_text("Check your new inbox").wait_for()
    shoot(page, "19-change-email-sent")

    (message,) = outbox_messages(settings)
    assert message["To"] == "ada@new.example.org"
    text = message.get_body(preferencelist=("plain",)).get_content()
    page.goto(re.search(r"http://\S+/change-email/\S+/", text).group(0))
    shoot(page, "20-change-email-confirm")
    assert Subscriber.objects.get().email == "ada@example.org"
    page.get_by_role("button", name="Yes, use this address").click()
    page.get_by_text("Done: your digests now go to ada@new.example.org").wait_for()
    assert Subscriber.objects.get().email == "ada@new.example.org"
    notice = [m for m in outbox_messages(settings) if m["To"] == "ada@example.org"]
    assert [m["Subject"] for m in notice] == ["Your Paper Digest address was changed"]
    page.close()
