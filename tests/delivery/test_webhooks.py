"""Provider feedback through anymail's tracking webhooks: what each provider's post does to the
delivery log, the suppression list and the subscriber, and that forged posts and replays do
nothing more."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from accounts.models import Subscriber
from recommender.models import DeliveryEvent, Digest, Suppression
from tests.delivery import provider_payloads as p


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": p.WEBHOOK_SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": p.MAILGUN_SIGNING_KEY,
    }
    settings.SOFT_BOUNCE_SUPPRESS_AFTER = 3
    settings.SOFT_BOUNCE_WINDOW_DAYS = 7


@pytest.fixture
def reader(make_subscriber):
    return make_subscriber("reader@example.com")


def post(client, payload: p.Post, *, auth: str | None = p.basic_auth()):
    return payload.send(client, auth=auth)


def kinds(email: str) -> list[str]:
    return sorted(DeliveryEvent.objects.filter(email=email).values_list("kind", flat=True))


def status_of(subscriber: Subscriber) -> str:
    subscriber.refresh_from_db()
    return subscriber.status


# --- Postmark ---------------------------------------------------------------------------------


def test_it_suppresses_a_postmark_hard_bounce_at_once_and_records_a_replay_once(client, reader):
    bounce = p.postmark_bounce("Reader@Example.com", bounce_id=901542550)

    for _ in range(3):  # Postmark retries a post it thinks failed
        assert post(client, bounce).status_code == 200

    event = DeliveryEvent.objects.get(email="reader@example.com")
    assert (event.kind, event.permanent, event.provider) == ("bounced", True, "Postmark")
    assert event.provider_event_id == "901542550:reader@example.com"
    assert "550 5.1.1" in event.detail
    suppression = Suppression.objects.get(email="reader@example.com")
    assert suppression.reason == Suppression.Reason.BOUNCE
    assert status_of(reader) == Subscriber.Status.SUPPRESSED


def test_it_suppresses_after_the_third_soft_bounce_within_the_window(client, reader):
    for number in (1, 2):
        post(client, p.postmark_bounce(reader.email, bounce_id=number, kind="SoftBounce"))
        post(client, p.postmark_bounce(reader.email, bounce_id=number, kind="SoftBounce"))
    assert kinds(reader.email) == ["bounced", "bounced"]
    assert not Suppression.objects.exists()
    assert status_of(reader) == Subscriber.Status.ACTIVE

    post(client, p.postmark_bounce(reader.email, bounce_id=3, kind="SoftBounce"))

    assert Suppression.objects.get(email=reader.email).detail.startswith("3 soft bounces")
    assert status_of(reader) == Subscriber.Status.SUPPRESSED


def test_it_does_not_count_soft_bounces_older_than_the_window(client, reader):
    post(
        client,
        p.postmark_bounce(reader.email, bounce_id=1, kind="SoftBounce", at="2026-06-01T07:00:00Z"),
    )
    post(
        client,
        p.postmark_bounce(reader.email, bounce_id=2, kind="SoftBounce", at="2026-06-20T07:00:00Z"),
    )
    post(
        client,
        p.postmark_bounce(reader.email, bounce_id=3, kind="SoftBounce", at="2026-07-01T07:00:00Z"),
    )

    assert DeliveryEvent.objects.filter(email=reader.email, permanent=False).count() == 3
    assert not Suppression.objects.exists()


def test_it_suppresses_a_postmark_spam_complaint(client, reader):
    assert post(client, p.postmark_spam_complaint(reader.email, complaint_id=77)).status_code == 200

    assert Suppression.objects.get(email=reader.email).reason == Suppression.Reason.COMPLAINT
    assert status_of(reader) == Subscriber.Status.SUPPRESSED


def test_a_postmark_unsubscribe_unsubscribes(client, reader):
    post(client, p.postmark_subscription_change(reader.email, message_id="pm-1"))

    assert status_of(reader) == Subscriber.Status.UNSUBSCRIBED
    assert reader.unsubscribed_at is not None
    assert kinds(reader.email) == ["unsubscribed"]
    assert not Suppression.objects.exists()


def test_it_records_deliveries_and_opens_once_and_links_them_to_the_digest(client, reader):
    digest = Digest.objects.create(
        subscriber=reader, period_start=date(2026, 7, 1), status="sent", message_id="pm-42"
    )

    for _ in range(2):  # Postmark sends no event id for these: the event's fields key it
        post(client, p.postmark_delivery(reader.email, message_id="pm-42"))
        post(client, p.postmark_open(reader.email, message_id="pm-42"))

    assert kinds(reader.email) == ["delivered", "opened"]
    assert set(DeliveryEvent.objects.values_list("digest", flat=True)) == {digest.pk}
    assert status_of(reader) == Subscriber.Status.ACTIVE


# --- SendGrid ---------------------------------------------------------------------------------


def test_it_handles_a_sendgrid_batch_of_every_kind(client, make_subscriber):
    people = {
        name: make_subscriber(f"{name}@example.com")
        for name in ("ok", "hard", "blocked", "invalid", "spam", "leaver")
    }
    batch = p.sendgrid_events(
        p.sendgrid_event("delivered", "ok@example.com", event_id="e1", response="250 OK"),
        p.sendgrid_event("open", "ok@example.com", event_id="e2", useragent="Mozilla/5.0"),
        p.sendgrid_event("click", "ok@example.com", event_id="e3", url="https://arxiv.org/"),
        p.sendgrid_event(
            "bounce",
            "hard@example.com",
            event_id="e4",
            type="bounce",
            status="5.1.1",
            reason="550 5.1.1 The email account that you tried to reach does not exist.",
        ),
        p.sendgrid_event(
            "bounce",
            "blocked@example.com",
            event_id="e5",
            type="blocked",
            status="4.0.0",
            reason="421 4.7.0 Try again later",
        ),
        p.sendgrid_event("dropped", "invalid@example.com", event_id="e6", reason="Invalid"),
        p.sendgrid_event("spamreport", "spam@example.com", event_id="e7"),
        p.sendgrid_event("unsubscribe", "leaver@example.com", event_id="e8"),
    )

    assert post(client, batch).status_code == 200
    assert post(client, batch).status_code == 200  # replayed whole

    assert DeliveryEvent.objects.count() == 8
    assert kinds("ok@example.com") == ["clicked", "delivered", "opened"]
    assert DeliveryEvent.objects.get(email="blocked@example.com").permanent is False
    assert dict(Suppression.objects.values_list("email", "reason")) == {
        "hard@example.com": "bounce",
        "invalid@example.com": "bounce",
        "spam@example.com": "complaint",
    }
    statuses = {name: status_of(s) for name, s in people.items()}
    assert statuses == {
        "ok": "active",
        "hard": "suppressed",
        "blocked": "active",
        "invalid": "suppressed",
        "spam": "suppressed",
        "leaver": "unsubscribed",
    }


# --- Mailgun ----------------------------------------------------------------------------------


def test_it_suppresses_a_signed_mailgun_permanent_failure(client, reader):
    failure = p.mailgun_failed(reader.email, token="a" * 50)

    assert post(client, failure).status_code == 200
    assert post(client, failure).status_code == 200

    event = DeliveryEvent.objects.get(email=reader.email)
    assert (event.kind, event.permanent) == ("bounced", True)
    assert event.message_id == "<20260701070000.1.ABCDEF@mg.paper-digest.example>"
    assert status_of(reader) == Subscriber.Status.SUPPRESSED


def test_a_mailgun_temporary_failure_is_only_recorded(client, reader):
    post(client, p.mailgun_failed(reader.email, token="b" * 50, severity="temporary"))

    assert kinds(reader.email) == ["deferred"]
    assert not Suppression.objects.exists()


def test_a_mailgun_post_with_a_wrong_signature_changes_nothing(client, reader):
    forged = p.mailgun_failed(reader.email, token="c" * 50, key="someone-elses-key")

    assert post(client, forged).status_code == 400

    assert not DeliveryEvent.objects.exists()
    assert status_of(reader) == Subscriber.Status.ACTIVE


# --- Amazon SES -------------------------------------------------------------------------------


def test_it_suppresses_every_recipient_of_an_ses_permanent_bounce(client, make_subscriber):
    ann, bob = make_subscriber("ann@example.com"), make_subscriber("bob@example.com")
    notification = p.ses_notification(
        p.ses_bounce("ann@example.com", "bob@example.com", message_id="ses-1")
    )

    assert post(client, notification).status_code == 200
    assert post(client, notification).status_code == 200

    assert DeliveryEvent.objects.filter(kind="bounced", permanent=True).count() == 2
    assert set(Suppression.objects.values_list("email", flat=True)) == {
        "ann@example.com",
        "bob@example.com",
    }
    assert (status_of(ann), status_of(bob)) == ("suppressed", "suppressed")


def test_ses_transient_bounces_and_deliveries_do_not_suppress(client, reader):
    post(
        client,
        p.ses_notification(p.ses_bounce(reader.email, bounce_type="Transient", message_id="s2")),
    )
    post(client, p.ses_notification(p.ses_delivery(reader.email, message_id="s3")))

    assert kinds(reader.email) == ["bounced", "delivered"]
    assert DeliveryEvent.objects.get(kind="bounced").permanent is False
    assert not Suppression.objects.exists()


def test_it_suppresses_an_ses_complaint(client, reader):
    post(client, p.ses_notification(p.ses_complaint(reader.email, message_id="s4")))

    assert Suppression.objects.get(email=reader.email).reason == "complaint"


def test_ses_asks_for_credentials_and_records_nothing_without_them(client, reader):
    response = post(
        client, p.ses_notification(p.ses_complaint(reader.email, message_id="s5")), auth=None
    )

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert not DeliveryEvent.objects.exists()
    assert status_of(reader) == Subscriber.Status.ACTIVE


# --- Forged posts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "auth", [None, p.basic_auth("hooks:wrong-password"), "Bearer " + p.WEBHOOK_SECRET]
)
def test_a_post_without_the_secret_changes_nothing(client, reader, auth):
    response = post(client, p.postmark_bounce(reader.email, bounce_id=1), auth=auth)

    assert response.status_code == 400
    assert not DeliveryEvent.objects.exists()
    assert not Suppression.objects.exists()
    assert status_of(reader) == Subscriber.Status.ACTIVE


def test_without_a_configured_secret_every_event_is_refused(settings, reader):
    settings.ANYMAIL = {}
    client = Client(raise_request_exception=False)

    response = post(client, p.postmark_spam_complaint(reader.email, complaint_id=5), auth=None)

    assert response.status_code == 500  # providers retry, so nothing is lost once it is set
    assert not DeliveryEvent.objects.exists()
    assert status_of(reader) == Subscriber.Status.ACTIVE


def test_the_tracking_paths_are_mounted_for_each_provider(client):
    for path in (p.POSTMARK, p.SENDGRID, p.MAILGUN, p.AMAZON_SES):
        assert client.head(path).status_code == 200
