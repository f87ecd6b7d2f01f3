"""Scheduling: which subscribers are due, claimed so that two dispatchers never double-send."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.db.models import Q

from accounts.models import Subscriber

from ..models import Digest
from ..ranking.candidates import candidate_window
from ..ranking.scoring import RankingResult
from ..ranking.subscribers import rank_many
from . import digests, sending

log = logging.getLogger(__name__)


def claim_due_in_chunks(*, now: datetime, size: int) -> Iterator[list[int]]:
    """Move each due subscriber's next_digest_at forward and yield the ids this call claimed,
    `size` at a time, each chunk as soon as it is claimed: the dispatcher queues it for the
    workers while it goes on claiming the rest.

    The UPDATE is conditional on the old value, so if two dispatchers run at once each
    subscriber is claimed by exactly one of them.
    """
    due = (
        Subscriber.objects.filter(status=Subscriber.Status.ACTIVE, paused_at__isnull=True)
        .filter(Q(next_digest_at__lte=now) | Q(next_digest_at__isnull=True))
        .select_related("profile")
    )
    chunk = []
    for subscriber in due.iterator(chunk_size=1000):
        following = subscriber.profile.next_send_after(now)
        won = Subscriber.objects.filter(
            pk=subscriber.pk, next_digest_at=subscriber.next_digest_at
        ).update(next_digest_at=following)
        # A subscriber seen for the first time (no next_digest_at yet) is only scheduled, not
        # sent to, so a new confirmation never triggers an immediate off-hour email.
        if won and subscriber.next_digest_at is not None:
            chunk.append(subscriber.pk)
            if len(chunk) == size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def claim_due_subscribers(*, now: datetime) -> list[int]:
    """Every id claim_due_in_chunks claims, in one list."""
    return [pk for chunk in claim_due_in_chunks(now=now, size=1000) for pk in chunk]


def build_and_send(subscribers: list[Subscriber], *, moment: datetime) -> dict[str, int]:
    """Build and send each subscriber's digest; one failure never stops the rest of the chunk.

    "failed" counts the subscribers whose digest could not be built or sent; running the chunk
    again retries exactly those (sent digests are never sent twice).
    """
    counts = {"sent": 0, "skipped": 0, "already": 0, "failed": 0}
    ranked = rank_chunk(subscribers, moment=moment)
    for subscriber in subscribers:
        try:
            digest, created = digests.build_digest(
                subscriber, moment=moment, ranked=ranked.get(subscriber.pk)
            )
            sent = sending.send_digest(digest)
        except Exception:  # one bad address or profile must not cost the others their digest
            log.exception("digest for subscriber %s failed", subscriber.pk)
            counts["failed"] += 1
            continue
        if sent:
            counts["sent"] += 1
        elif created:
            counts["skipped"] += 1
        else:
            counts["already"] += 1
    return counts


def rank_chunk(subscribers: list[Subscriber], *, moment: datetime) -> dict[int, RankingResult]:
    """Rank every subscriber of a chunk whose digest is not built yet, in one batch.

    The model, the candidate papers and their vectors are loaded once for the chunk and all its
    profiles are scored with one matrix product; each subscriber then only sees the candidates of
    their own period window that they have not received before.
    """
    periods = {s.pk: digests.period_start_for(s.profile, moment) for s in subscribers}
    if not periods:
        return {}
    built = set(
        Digest.objects.filter(
            subscriber_id__in=periods, period_start__gte=min(periods.values())
        ).values_list("subscriber_id", "period_start")
    )
    todo = [s for s in subscribers if (s.pk, periods[s.pk]) not in built]
    if not todo:
        return {}
    papers, allowed = candidate_window(todo)
    results = rank_many(
        [s.profile for s in todo], papers, limit=settings.DIGEST_MAX_ITEMS, allowed=allowed
    )
    return {s.pk: result for s, result in zip(todo, results, strict=True)}
