"""Sending a digest: exactly once, never to suppressed or paused addresses, failures recorded."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from django.core import mail
from django.utils import timezone

from recommender.delivery import digests, sending
from recommender.models import DeliveryEvent, Digest, Suppression

MORNING = datetime(2026, 7, 1, 7, 0, tzinfo=UTC)


@pytest.fixture
def built_digest(make_subscriber, make_paper):
    make_paper(
        title="Tactile sensing for dexterous robot hands",
        abstract="Robot hands with tactile sensing learn dexterous manipulation.",
        categories=["cs.RO"],
        authors=["Ada Lovelace", "Alan Turing", "Grace Hopper", "Kurt Gödel"],
        first_seen=date(2026, 6, 30),
    )
    reader = make_subscriber(interests_text="dexterous robot hands", categories=["cs.RO"])
    digest, _ = digests.build_digest(reader, moment=MORNING)
    return digest


def test_it_emails_the_digest_with_text_and_html_parts(built_digest):
    assert sending.send_digest(built_digest)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["reader@example.com"]
    assert "Tactile sensing for dexterous robot hands" in message.subject
    assert "Tactile sensing for dexterous robot hands" in message.body
    assert "Why:" in message.body
    assert "et al." in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "Tactile sensing for dexterous robot hands" in html
    # The title links to the paper through the site's click-counting redirect.
    assert re.search(r'<a href="http://[^"]+/open/[^"]+/"', html)
    # Template syntax must never leak into what people read.
    for leaked in ("{#", "{%", "{{"):
        assert leaked not in html
        assert leaked not in message.body


def test_it_records_the_send_and_never_sends_twice(built_digest):
    assert sending.send_digest(built_digest)
    assert not sending.send_digest(built_digest)

    assert len(mail.outbox) == 1
    built_digest.refresh_from_db()
    assert built_digest.status == Digest.Status.SENT
    assert built_digest.sent_at is not None
    event = DeliveryEvent.objects.get(digest=built_digest)
    assert event.kind == DeliveryEvent.Kind.SENT
    assert event.message_id == built_digest.message_id != ""


def test_it_does_not_email_a_suppressed_address(built_digest):
    Suppression.objects.create(email="Reader@Example.com", reason=Suppression.Reason.BOUNCE)

    assert not sending.send_digest(built_digest)

    assert mail.outbox == []
    built_digest.refresh_from_db()
    assert built_digest.status == Digest.Status.SKIPPED
    assert built_digest.skip_reason == Digest.SkipReason.SUPPRESSED


def test_it_does_not_email_a_paused_subscriber(built_digest):
    subscriber = built_digest.subscriber
    subscriber.paused_at = timezone.now()
    subscriber.save()

    assert not sending.send_digest(built_digest)
    assert mail.outbox == []


def test_it_records_a_failed_send_and_allows_a_retry(built_digest, settings):
    settings.EMAIL_BACKEND = "tests.mail_backends.BrokenBackend"

    assert sending.send_one(built_digest) == sending.RETRY

    built_digest.refresh_from_db()
    assert built_digest.status == Digest.Status.BUILT
    assert "connection refused" in built_digest.last_error
    assert built_digest.lease_until > timezone.now()  # not retried before its back-off
    event = DeliveryEvent.objects.get(kind=DeliveryEvent.Kind.FAILED)
    assert event.permanent is False

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert sending.send_digest(built_digest)
    built_digest.refresh_from_db()
    assert (built_digest.status, built_digest.attempts) == (Digest.Status.SENT, 2)
