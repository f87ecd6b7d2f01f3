"""Digests: pick the candidate papers of a period and store one ranked Digest per subscriber."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import InterestProfile, Subscriber

from ..models import Digest, DigestItem
from ..ranking.scoring import RankingResult
from ..ranking.subscribers import rank_alone
from . import ledger


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
    fill_digests([digest], {digest.pk: ranked})
    if digest.status == Digest.Status.PENDING:  # another worker's: read what it made of it
        digest.refresh_from_db()
    return digest.status


def fill_digests(pending: list[Digest], ranked: dict[int, RankingResult]) -> list[DigestItem]:
    """Build a chunk's PENDING digests in one transaction of two statements whatever their
    number: store the status, ranker and note of those still PENDING (ledger.store_built) and
    insert all their items. Each digest stored gets its new fields set in memory; one another
    worker took first keeps status PENDING here. Returns the items stored (with their papers),
    so the send needs not read them back."""
    now = timezone.now()
    builds = {digest.pk: _build(digest, ranked[digest.pk]) for digest in pending}
    rows: list[DigestItem] = []
    with transaction.atomic():
        won = ledger.store_built(list(builds.values()), built_at=now)
        for digest in pending:
            if digest.pk in won:
                built = builds[digest.pk]
                digest.status, digest.skip_reason = built.status, built.skip_reason
                digest.ranker, digest.note, digest.built_at = built.ranker, built.note, now
                rows.extend(_items(digest, ranked[digest.pk]))
        ledger.insert_items(rows)
    return rows


def _build(digest: Digest, ranked: RankingResult) -> ledger.Built:
    picks = ranked.picks
    note = ranked.note if picks else f"No new papers matched these interests. {ranked.note}"
    return ledger.Built(
        digest.pk,
        Digest.Status.BUILT.value if picks else Digest.Status.SKIPPED.value,
        "" if picks else Digest.SkipReason.EMPTY.value,
        ranked.ranker[:64],
        note.strip()[:300],
    )


def _items(digest: Digest, ranked: RankingResult) -> list[DigestItem]:
    return [
        DigestItem(
            digest=digest, paper=pick.paper, rank=rank, score=pick.score, reason=pick.reason[:300]
        )
        for rank, pick in enumerate(ranked.picks, start=1)
    ]


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
