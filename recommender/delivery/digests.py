"""Digests: pick the candidate papers of a period and store one ranked Digest per subscriber."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

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


def open_digests(subscribers: list[Subscriber], *, moment: datetime) -> list[Digest]:
    """Each subscriber's digest row for the period containing `moment`, created PENDING (due
    at `moment`) where there is none yet: the on-demand path (a first digest at confirmation,
    the demo, benchmarks). The unique (subscriber, period) constraint decides races."""
    periods = {s.pk: period_start_for(s.profile, moment) for s in subscribers}
    Digest.objects.bulk_create(
        [
            Digest(
                subscriber=s,
                period_start=periods[s.pk],
                frequency=s.profile.frequency,
                status=Digest.Status.PENDING,
                due_at=moment,
            )
            for s in subscribers
        ],
        ignore_conflicts=True,
    )
    rows = Digest.objects.filter(
        subscriber__in=subscribers, period_start__in=set(periods.values())
    ).select_related("subscriber__profile")
    by_subscriber = {d.subscriber_id: d for d in rows if periods[d.subscriber_id] == d.period_start}
    return [by_subscriber[s.pk] for s in subscribers]


def fill_digest(digest: Digest, ranked: RankingResult | None = None) -> str:
    """Build a PENDING digest: store its ranked papers and make it BUILT, or SKIPPED when
    nothing new matched (reconciliation builds it again if papers arrive within the send
    window). Returns the digest's status after the call; a digest another worker built first
    is left as that worker made it."""
    if ranked is None:
        ranked = rank_alone(digest.subscriber)
    picks = ranked.picks
    note = ranked.note if picks else f"No new papers matched these interests. {ranked.note}"
    fields = {
        "status": Digest.Status.BUILT if picks else Digest.Status.SKIPPED,
        "skip_reason": "" if picks else Digest.SkipReason.EMPTY,
        "ranker": ranked.ranker[:64],
        "note": note.strip()[:300],
        "built_at": timezone.now(),
    }
    with transaction.atomic():
        won = Digest.objects.filter(pk=digest.pk, status=Digest.Status.PENDING).update(**fields)
        if won:
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
    if won:
        for name, value in fields.items():
            setattr(digest, name, value)
    else:
        digest.refresh_from_db()
    return digest.status


def build_digest(
    subscriber: Subscriber, *, moment: datetime, ranked: RankingResult | None = None
) -> tuple[Digest, bool]:
    """Build the subscriber's digest for the period containing `moment`, on demand.

    Returns (digest, created): `created` is False when the period's digest existed already
    (built, sent or skipped), which is then returned as it is.
    """
    digest = open_digests([subscriber], moment=moment)[0]
    if digest.status != Digest.Status.PENDING:
        return digest, False
    fill_digest(digest, ranked)
    return digest, True
