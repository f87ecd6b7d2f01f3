"""Scheduling: which subscribers are due, claimed so that two dispatchers never double-send."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from django.db.models import Q

from accounts.models import Subscriber

from . import delivery, digests

# Subscribers per Celery task: big enough to load shared data once per batch, small enough
# that many workers share the load evenly.
CHUNK_SIZE = 200


def chunks(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def claim_due_subscribers(*, now: datetime) -> list[int]:
    """Move each due subscriber's next_digest_at forward and return the ids this call claimed.

    The UPDATE is conditional on the old value, so if two dispatchers run at once each
    subscriber is claimed by exactly one of them.
    """
    due = (
        Subscriber.objects.filter(status=Subscriber.Status.ACTIVE, paused_at__isnull=True)
        .filter(Q(next_digest_at__lte=now) | Q(next_digest_at__isnull=True))
        .select_related("profile")
    )
    claimed = []
    for subscriber in due.iterator(chunk_size=1000):
        following = subscriber.profile.next_send_after(now)
        won = Subscriber.objects.filter(
            pk=subscriber.pk, next_digest_at=subscriber.next_digest_at
        ).update(next_digest_at=following)
        # A subscriber seen for the first time (no next_digest_at yet) is only scheduled, not
        # sent to, so a new confirmation never triggers an immediate off-hour email.
        if won and subscriber.next_digest_at is not None:
            claimed.append(subscriber.pk)
    return claimed


def build_and_send(subscribers: list[Subscriber], *, moment: datetime) -> dict[str, int]:
    counts = {"sent": 0, "skipped": 0, "already": 0}
    for subscriber in subscribers:
        digest, created = digests.build_digest(subscriber, moment=moment)
        if delivery.send_digest(digest):
            counts["sent"] += 1
        elif created:
            counts["skipped"] += 1
        else:
            counts["already"] += 1
    return counts
