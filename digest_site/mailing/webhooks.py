"""Provider feedback: django-anymail's tracking webhooks (mounted at /anymail/) become
DeliveryEvents, and bounces, complaints and unsubscribes decide who is never mailed again.

Anymail authenticates each post (HTTP basic auth with ANYMAIL_WEBHOOK_SECRET, plus the
provider's own signature where it has one, e.g. Mailgun's) before it sends the `tracking`
signal; a post that fails reaches nothing here. Every event is stored once per provider event,
however often the provider replays it: the unique constraint on (provider, provider_event_id)
decides, and the rules below run in the same transaction as that insert, so a replay can
neither double-count a soft bounce nor half-apply one.

Rules (each a named setting):
- a hard bounce, a reject as invalid (or as an address the provider already saw bounce), or a
  spam complaint suppresses the address at once;
- soft bounces suppress it once SOFT_BOUNCE_SUPPRESS_AFTER of them arrive within
  SOFT_BOUNCE_WINDOW_DAYS;
- the provider's own unsubscribe events unsubscribe the subscriber.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta

from anymail.signals import AnymailTrackingEvent, EventType, RejectReason, tracking
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.dispatch import receiver
from django.utils import timezone

from accounts.models import Subscriber, normalise_email
from accounts.services import subscriber_unsubscribe
from recommender.models import DeliveryEvent, Digest, Suppression

from .policy import suppress

log = logging.getLogger(__name__)

KINDS = {
    EventType.QUEUED: DeliveryEvent.Kind.QUEUED,
    EventType.SENT: DeliveryEvent.Kind.SENT,
    EventType.DELIVERED: DeliveryEvent.Kind.DELIVERED,
    EventType.DEFERRED: DeliveryEvent.Kind.DEFERRED,
    EventType.BOUNCED: DeliveryEvent.Kind.BOUNCED,
    EventType.REJECTED: DeliveryEvent.Kind.REJECTED,
    EventType.FAILED: DeliveryEvent.Kind.FAILED,
    EventType.COMPLAINED: DeliveryEvent.Kind.COMPLAINED,
    EventType.UNSUBSCRIBED: DeliveryEvent.Kind.UNSUBSCRIBED,
    EventType.OPENED: DeliveryEvent.Kind.OPENED,
    EventType.CLICKED: DeliveryEvent.Kind.CLICKED,
}

# Rejects that say the address itself is bad (or already bounced at the provider).
SUPPRESSING_REJECTS = {
    RejectReason.INVALID: Suppression.Reason.BOUNCE,
    RejectReason.BOUNCED: Suppression.Reason.BOUNCE,
    RejectReason.SPAM: Suppression.Reason.COMPLAINT,
}


@receiver(tracking, dispatch_uid="digest_site.mailing.webhooks.on_tracking_event")
def on_tracking_event(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    record_tracking_event(event, provider=esp_name)


def record_tracking_event(event: AnymailTrackingEvent, *, provider: str) -> DeliveryEvent | None:
    """Store one provider event and apply its rules; None for a replay or an event we do not
    keep (autoresponders, subscribes, unknown kinds, events without a recipient)."""
    if not settings.ANYMAIL.get("WEBHOOK_SECRET"):
        # Without a secret anymail accepts any post; refusing (HTTP 500, which providers retry)
        # keeps a forged bounce from suppressing anyone until the secret is set.
        raise ImproperlyConfigured("ANYMAIL_WEBHOOK_SECRET is not set: webhook events refused")
    kind = KINDS.get(event.event_type)
    recipient = normalise_email(event.recipient or "")
    if kind is None or not recipient:
        log.info("%s webhook: %s event not recorded", provider, event.event_type)
        return None
    message_id = str(event.message_id or "")[:300]
    permanent = _is_permanent(event, provider) if kind == DeliveryEvent.Kind.BOUNCED else None
    try:
        with transaction.atomic():
            row = DeliveryEvent.objects.create(
                kind=kind,
                email=recipient,
                digest=_digest_of(message_id),
                message_id=message_id,
                provider=provider[:32],
                provider_event_id=event_key(event, recipient),
                permanent=permanent,
                detail=_detail(event),
                occurred_at=event.timestamp or timezone.now(),
            )
            _apply_rules(row, event)
    except IntegrityError:
        log.info("%s webhook: event %s already recorded", provider, event.event_id)
        return None
    return row


def event_key(event: AnymailTrackingEvent, recipient: str) -> str:
    """The provider's event id with the recipient, or a digest of the event's own fields where
    the provider sends no id (Postmark's deliveries and opens): a replay gives the same key."""
    if event.event_id:
        key = f"{event.event_id}:{recipient}"
    else:
        fields = (
            event.event_type,
            event.message_id,
            recipient,
            event.timestamp.isoformat() if event.timestamp else "",
            event.description,
            event.click_url,
        )
        key = "fields:" + hashlib.sha256(repr(fields).encode()).hexdigest()
    if len(key) > 200:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def _digest_of(message_id: str) -> Digest | None:
    if not message_id:
        return None
    return Digest.objects.filter(message_id=message_id).first()


def _detail(event: AnymailTrackingEvent) -> str:
    parts = [event.description, event.mta_response, event.reject_reason, event.click_url]
    return " | ".join(str(part) for part in parts if part)[:2000]


def _is_permanent(event: AnymailTrackingEvent, provider: str) -> bool:
    """Hard or soft bounce, from the field each provider uses to say so."""
    raw = event.esp_event if isinstance(event.esp_event, dict) else {}
    name = provider.lower()
    if name == "postmark" and raw.get("Type"):
        return raw["Type"] not in ("SoftBounce", "Transient", "DnsError")
    if name == "amazon ses" and isinstance(raw.get("bounce"), dict):
        return raw["bounce"].get("bounceType") == "Permanent"
    if name == "sendgrid" and raw.get("type"):
        # "bounce" is the mailbox refusing for good; "blocked" a (possibly passing) block.
        return raw["type"] != "blocked"
    if name == "mailgun" and isinstance(raw.get("event-data"), dict):
        return raw["event-data"].get("severity", "permanent") == "permanent"
    # Anything else: an SMTP reply class of 4 is transient, everything else permanent.
    return not re.search(r"(?<![\d.])4\d\d(?!\d)|(?<![\d.])4\.\d+\.\d+", event.mta_response or "")


def _apply_rules(row: DeliveryEvent, event: AnymailTrackingEvent) -> None:
    if row.kind == DeliveryEvent.Kind.BOUNCED:
        if row.permanent:
            suppress(row.email, Suppression.Reason.BOUNCE, f"hard bounce ({row.provider})")
        elif soft_bounces(row.email, until=row.occurred_at) >= settings.SOFT_BOUNCE_SUPPRESS_AFTER:
            suppress(
                row.email,
                Suppression.Reason.BOUNCE,
                f"{settings.SOFT_BOUNCE_SUPPRESS_AFTER} soft bounces within "
                f"{settings.SOFT_BOUNCE_WINDOW_DAYS} days ({row.provider})",
            )
    elif row.kind == DeliveryEvent.Kind.REJECTED:
        reason = SUPPRESSING_REJECTS.get(event.reject_reason)
        if reason:
            suppress(row.email, reason, f"rejected as {event.reject_reason} ({row.provider})")
        elif event.reject_reason == RejectReason.UNSUBSCRIBED:
            unsubscribe(row.email)
    elif row.kind == DeliveryEvent.Kind.COMPLAINED:
        suppress(row.email, Suppression.Reason.COMPLAINT, f"spam complaint ({row.provider})")
    elif row.kind == DeliveryEvent.Kind.UNSUBSCRIBED:
        unsubscribe(row.email)


def soft_bounces(email: str, *, until) -> int:
    """Soft bounces of `email` in the SOFT_BOUNCE_WINDOW_DAYS up to `until`."""
    since = until - timedelta(days=settings.SOFT_BOUNCE_WINDOW_DAYS)
    return DeliveryEvent.objects.filter(
        email=email,
        kind=DeliveryEvent.Kind.BOUNCED,
        permanent=False,
        occurred_at__gt=since,
        occurred_at__lte=until,
    ).count()


def unsubscribe(email: str) -> bool:
    """The provider's unsubscribe: the subscriber stops receiving anything at once."""
    subscriber = Subscriber.objects.filter(email=normalise_email(email)).first()
    if subscriber is None:
        return False
    return subscriber_unsubscribe(subscriber=subscriber, record_event=False)
