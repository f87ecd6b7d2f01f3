"""Scheduling: who is due, claimed together with their digest's ledger row, handed to the
workers in chunks; and reconciliation, which takes back whatever a silent holder dropped.

A claim and the Digest row it creates commit in one transaction, so every claim leaves a row
saying what happened to it. Chunks are handed out by a function the caller passes in
(`enqueue(digest_ids)`: the Celery task's publisher, or anything a test wants), never by
importing the tasks module.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q

from accounts.models import Subscriber

from ..models import Digest, Paper
from . import ledger
from .digests import period_start_for

log = logging.getLogger(__name__)

Enqueue = Callable[[list[int]], None]


def claim_due_in_chunks(*, now: datetime, size: int) -> Iterator[list[int]]:
    """Claim due subscribers `size` at a time and yield the ids of the PENDING digests each
    claim created, chunk by chunk: the dispatcher hands one to the workers before it claims the
    next.

    Each claim moves next_digest_at forward with an UPDATE conditional on its old value (of two
    dispatchers, exactly one wins a subscriber) and creates the digest row for the period the
    subscriber was due for, in the same transaction.
    """
    due = (
        Subscriber.objects.filter(status=Subscriber.Status.ACTIVE, paused_at__isnull=True)
        .filter(Q(next_digest_at__lte=now) | Q(next_digest_at__isnull=True))
        .select_related("profile")
        .order_by("pk")
    )
    batch: list[Subscriber] = []
    for subscriber in due.iterator(chunk_size=1000):
        batch.append(subscriber)
        if len(batch) == size:
            if claimed := _claim(batch, now=now):
                yield claimed
            batch = []
    if batch and (claimed := _claim(batch, now=now)):
        yield claimed


def _claim(subscribers: list[Subscriber], *, now: datetime) -> list[int]:
    lease = now + timedelta(seconds=settings.DIGEST_LEASE_SECONDS)
    moves = [
        ledger.Move(s.pk, s.next_digest_at, s.profile.next_send_after(now)) for s in subscribers
    ]
    with transaction.atomic():
        moved = ledger.move_due(moves)
        rows = []
        for subscriber in subscribers:
            due_at = subscriber.next_digest_at
            # A subscriber seen for the first time (no next_digest_at yet) is only scheduled,
            # not sent to, so a new confirmation never triggers an off-hour email.
            if subscriber.pk in moved and due_at is not None:
                rows.append(
                    Digest(
                        subscriber=subscriber,
                        period_start=period_start_for(subscriber.profile, due_at),
                        frequency=subscriber.profile.frequency,
                        status=Digest.Status.PENDING,
                        due_at=due_at,
                        lease_until=lease,
                    )
                )
        # A row that already exists for the period (built on demand at confirmation, say)
        # stays as it is: it already says what happened to that period.
        Digest.objects.bulk_create(rows, ignore_conflicts=True)
        wanted = {(row.subscriber_id, row.period_start) for row in rows}
        return [
            pk
            for pk, subscriber_id, period in Digest.objects.filter(
                subscriber_id__in={s for s, _ in wanted}, status=Digest.Status.PENDING
            ).values_list("pk", "subscriber_id", "period_start")
            if (subscriber_id, period) in wanted
        ]


def claim_due_subscribers(*, now: datetime) -> list[int]:
    """The subscribers claim_due_in_chunks claims (their digests' subscriber ids)."""
    ids = [pk for chunk in claim_due_in_chunks(now=now, size=1000) for pk in chunk]
    return list(Digest.objects.filter(pk__in=ids).values_list("subscriber_id", flat=True))


def dispatch_due(*, now: datetime, enqueue: Enqueue) -> int:
    """Claim every due subscriber and hand out their digests in chunks; the number handed out.

    A chunk the broker would not take is released (its lease cleared, so the next
    reconciliation re-queues it) and dispatching stops there: the subscribers not claimed yet
    stay due for the next run instead of being moved on with nobody to send to them.
    """
    handed = 0
    for chunk in claim_due_in_chunks(now=now, size=settings.DIGEST_CHUNK_SIZE):
        try:
            enqueue(chunk)
        except Exception:
            Digest.objects.filter(pk__in=chunk, status=Digest.Status.PENDING).update(
                lease_until=None
            )
            log.exception("dispatch: broker refused %d digests; left to reconcile", len(chunk))
            break
        handed += len(chunk)
    log.info("dispatched %d due digests", handed)
    return handed


def reconcile(*, now: datetime, enqueue: Enqueue) -> dict[str, int]:
    """Take back every open digest whose holder went silent, and hand it out again.

    - SENDING past its lease: the send died somewhere between claim and record (a killed
      process, a lost connection). It goes back to BUILT and is sent again; if the mail server
      had accepted it before the reply was lost, that is the documented at-least-once window.
    - PENDING or BUILT with no live lease (a lost message, a killed worker, a chunk the broker
      refused, a retry whose countdown was lost): re-queued.
    - SKIPPED for lack of papers while its send window is open, when papers arrived since it
      was built: built again.
    - open and more than DIGEST_GIVE_UP_AFTER_HOURS past due: FAILED, with the reason.
    """
    counts = {"given_up": _give_up(now), "reclaimed": _reclaim_sending(now), "empty_retried": 0}
    counts["empty_retried"] = _reopen_empty(now)
    counts["requeued"] = _requeue_idle(now, enqueue)
    if any(counts.values()):
        log.info("reconcile: %s", counts)
    return counts


def _give_up(now: datetime) -> int:
    limit = now - timedelta(hours=settings.DIGEST_GIVE_UP_AFTER_HOURS)
    return Digest.objects.filter(
        Q(due_at__lt=limit) | Q(due_at__isnull=True, created_at__lt=limit),
        Q(lease_until__isnull=True) | Q(lease_until__lt=now),
        status__in=[Digest.Status.PENDING, Digest.Status.BUILT],
    ).update(
        status=Digest.Status.FAILED,
        last_error=f"not delivered within {settings.DIGEST_GIVE_UP_AFTER_HOURS:g} h of its send "
        "time; given up",
        lease_until=None,
    )


def _reclaim_sending(now: datetime) -> int:
    return Digest.objects.filter(status=Digest.Status.SENDING, lease_until__lt=now).update(
        status=Digest.Status.BUILT,
        lease_until=None,
        last_error="send lease expired: the sender went silent mid-send (re-queued)",
    )


def _reopen_empty(now: datetime) -> int:
    newest = Paper.objects.aggregate(newest=Max("ingested_at"))["newest"]
    if newest is None:
        return 0
    return Digest.objects.filter(
        status=Digest.Status.SKIPPED,
        skip_reason=Digest.SkipReason.EMPTY,
        due_at__gt=now - timedelta(hours=settings.DIGEST_SEND_WINDOW_HOURS),
        built_at__lt=newest,
    ).update(status=Digest.Status.PENDING, skip_reason="", lease_until=None, note="")


def _requeue_idle(now: datetime, enqueue: Enqueue) -> int:
    idle = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    lease = now + timedelta(seconds=settings.DIGEST_LEASE_SECONDS)
    requeued = 0
    while True:
        # Locked rows are another reconciler's (two beats at once): skip them, never wait.
        with transaction.atomic():
            chunk = list(
                Digest.objects.select_for_update(skip_locked=True)
                .filter(idle, status__in=[Digest.Status.PENDING, Digest.Status.BUILT])
                .order_by("pk")
                .values_list("pk", flat=True)[: settings.DIGEST_CHUNK_SIZE]
            )
            Digest.objects.filter(pk__in=chunk).update(lease_until=lease)
        if not chunk:
            return requeued
        try:
            enqueue(chunk)
        except Exception:
            Digest.objects.filter(pk__in=chunk).update(lease_until=None)
            log.exception("reconcile: the broker refused a chunk; trying again next run")
            return requeued
        requeued += len(chunk)
