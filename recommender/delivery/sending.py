"""Delivery: send a built digest once, and record what happened to it."""

from __future__ import annotations

import logging

from django.core.mail import make_msgid
from django.db.models import F
from django.utils import timezone

from accounts.models import Subscriber
from digest_site.mailing.headers import list_unsubscribe_headers
from digest_site.mailing.messages import make_message
from digest_site.mailing.policy import may_mail

from ..models import DeliveryEvent, Digest, DigestItem
from . import digest_email

log = logging.getLogger(__name__)


def send_digest(digest: Digest) -> bool:
    """Send `digest` by email unless it was already sent or its address may not be mailed.

    The conditional UPDATE claims the digest: of two workers handed the same digest, only the
    one that flips BUILT/FAILED -> SENDING sends it. Returns True when an email went out.
    """
    claimed = Digest.objects.filter(
        pk=digest.pk, status__in=[Digest.Status.BUILT, Digest.Status.FAILED]
    ).update(status=Digest.Status.SENDING, attempts=F("attempts") + 1)
    if not claimed:
        return False
    digest.refresh_from_db()
    subscriber = digest.subscriber

    if not subscriber.receives_digests or not may_mail(subscriber.email, subscriber=subscriber):
        _finish(digest, Digest.Status.SKIPPED, note="Subscriber cannot receive email.")
        return False

    items = list(digest.items.select_related("paper"))
    message_id = make_msgid(domain="paper-digest")
    message = make_message(
        "digest",
        subscriber.email,
        digest_email_context(digest, items, subscriber),
        headers={"Message-ID": message_id, **list_unsubscribe_headers(subscriber)},
    )
    try:
        message.send()
    except Exception as error:  # any transport error: record it, let the caller retry
        log.warning("digest %s to %s failed: %s", digest.pk, subscriber.email, error)
        _finish(digest, Digest.Status.FAILED, error=str(error))
        DeliveryEvent.objects.create(
            kind=DeliveryEvent.Kind.FAILED,
            email=subscriber.email,
            digest=digest,
            detail=str(error)[:2000],
        )
        raise

    # Anymail backends report the provider's own id, which its webhooks will quote back.
    provider_status = getattr(message, "anymail_status", None)
    message_id = getattr(provider_status, "message_id", None) or message_id
    now = timezone.now()
    Digest.objects.filter(pk=digest.pk).update(
        status=Digest.Status.SENT, sent_at=now, message_id=str(message_id)[:300], last_error=""
    )
    Subscriber.objects.filter(pk=subscriber.pk).update(last_digest_at=now)
    DeliveryEvent.objects.create(
        kind=DeliveryEvent.Kind.SENT,
        email=subscriber.email,
        digest=digest,
        message_id=str(message_id)[:300],
    )
    return True


def _finish(digest: Digest, status: str, *, note: str = "", error: str = "") -> None:
    Digest.objects.filter(pk=digest.pk).update(
        status=status, note=note[:300], last_error=error[:2000]
    )


def digest_email_context(digest: Digest, items: list[DigestItem], subscriber) -> dict:
    """Template context of a digest email (subject, notes, overview, one block per paper with
    the reader's signed links): see delivery.digest_email."""
    return digest_email.email_context(digest, items, subscriber)
