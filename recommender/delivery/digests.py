"""Digests: pick the candidate papers of a period and store one ranked Digest per subscriber."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction

from accounts.models import InterestProfile, Subscriber

from ..models import Digest, DigestItem
from ..ranking.scoring import RankingResult
from ..ranking.subscribers import rank_alone


def period_start_for(profile: InterestProfile, moment: datetime) -> date:
    """The local date a digest sent at `moment` is for; weekly digests key on their Monday."""
    local_day = moment.astimezone(profile.zone()).date()
    if profile.frequency == InterestProfile.Frequency.WEEKLY:
        return local_day - timedelta(days=local_day.weekday())
    return local_day


def build_digest(
    subscriber: Subscriber, *, moment: datetime, ranked: RankingResult | None = None
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
