"""Digests: pick the candidate papers of a period and store one ranked Digest per subscriber."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet

from accounts.models import InterestProfile, Subscriber

from . import ranking
from .models import Digest, DigestItem, Paper


def period_start_for(profile: InterestProfile, moment: datetime) -> date:
    """The local date a digest sent at `moment` is for; weekly digests key on their Monday."""
    local_day = moment.astimezone(profile.zone()).date()
    if profile.frequency == InterestProfile.Frequency.WEEKLY:
        return local_day - timedelta(days=local_day.weekday())
    return local_day


def recent_papers(*, days: int) -> QuerySet[Paper]:
    """Papers first listed in the last `days` listing days we hold, hidden ones left out.

    "Recent" is measured against the newest listing day we hold rather than the wall clock, so
    a late ingestion or a replayed archive still yields the latest papers.
    """
    newest = Paper.objects.aggregate(newest=Max("first_seen"))["newest"]
    if newest is None:
        return Paper.objects.none()
    return Paper.objects.filter(first_seen__gt=newest - timedelta(days=days)).exclude(
        curation=Paper.Curation.HIDDEN
    )


def candidate_window(subscribers: list[Subscriber]) -> tuple[list[Paper], list[np.ndarray]]:
    """The recent papers of a batch of subscribers, and for each one the mask of those open to
    them: inside their frequency's lookback window and not sent to them before.

    Loaded once per batch (one Celery chunk, or a single subscriber) so the candidates are
    fetched and transformed once, whatever the number of subscribers.
    """
    lookbacks = [settings.DIGEST_LOOKBACK_DAYS[s.profile.frequency] for s in subscribers]
    candidates = list(recent_papers(days=max(lookbacks)))
    newest = max((p.first_seen for p in candidates), default=None)
    received: dict[int, set[int]] = {}
    for subscriber_id, paper_id in DigestItem.objects.filter(
        digest__subscriber__in=subscribers, paper_id__in=[p.pk for p in candidates]
    ).values_list("digest__subscriber_id", "paper_id"):
        received.setdefault(subscriber_id, set()).add(paper_id)
    allowed = []
    for subscriber, lookback in zip(subscribers, lookbacks, strict=True):
        start = newest - timedelta(days=lookback) if newest else None
        sent = received.get(subscriber.pk, set())
        allowed.append(
            np.array([p.first_seen > start and p.pk not in sent for p in candidates], bool)
        )
    return candidates, allowed


def rank_alone(subscriber: Subscriber) -> ranking.RankingResult:
    """Rank one subscriber's candidates (the batch path does the same for a whole chunk)."""
    candidates, allowed = candidate_window([subscriber])
    return ranking.rank_many(
        [subscriber.profile], candidates, limit=settings.DIGEST_MAX_ITEMS, allowed=allowed
    )[0]


def build_digest(
    subscriber: Subscriber, *, moment: datetime, ranked: ranking.RankingResult | None = None
) -> tuple[Digest, bool]:
    """Build the subscriber's digest for the period containing `moment`.

    Returns (digest, created). `ranked` comes from a batch scorer (scheduling.build_and_send);
    without it the subscriber is ranked alone. The unique constraint on (subscriber,
    period_start) decides races: a second builder for the same period gets the existing digest
    back instead of a duplicate.
    """
    profile = subscriber.profile
    period = period_start_for(profile, moment)
    existing = Digest.objects.filter(subscriber=subscriber, period_start=period).first()
    if existing:
        return existing, False

    if ranked is None:
        ranked = rank_alone(subscriber)
    picks = ranked.picks
    note = ranked.note if picks else f"No new papers matched these interests. {ranked.note}"
    try:
        with transaction.atomic():
            digest = Digest.objects.create(
                subscriber=subscriber,
                period_start=period,
                frequency=profile.frequency,
                ranker=ranked.ranker[:64],
                status=Digest.Status.BUILT if picks else Digest.Status.SKIPPED,
                note=note.strip()[:300],
            )
            DigestItem.objects.bulk_create(
                DigestItem(
                    digest=digest,
                    paper=pick.paper,
                    rank=rank,
                    score=pick.score,
                    reason=pick.reason[:300],
                )
                for rank, pick in enumerate(picks, start=1)
            )
    except IntegrityError:
        return Digest.objects.get(subscriber=subscriber, period_start=period), False
    return digest, True


def preview_digest(subscriber: Subscriber) -> ranking.RankingResult:
    """What the subscriber's next digest would hold if it were built now; nothing is stored."""
    return rank_alone(subscriber)
