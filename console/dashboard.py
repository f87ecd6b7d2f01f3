"""The figures of the admin dashboard, read from the database over a range of days.

Plain reads (no writes): subscribers by status per day, digests per day by status, bounce and
complaint rates against the mailbox providers' limits, click-through and feedback rates,
ingestion runs, and the recommender model's card. Every per-day list is aligned with
`DayRange.days`. Event kinds and statuses are counted as the models define them, so kinds the
delivery code starts recording later (provider webhooks) appear without changes here.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import Subscriber
from recommender.model import store as model_store
from recommender.models import DeliveryEvent, Digest, FeedbackEvent, IngestionRun, Suppression

# Spam complaints: Gmail's and Yahoo's bulk-sender rules (February 2024) ask senders to stay under
# 0.1 % of delivered mail and never reach 0.3 %. Bounces: keep hard bounces under 2 %; Amazon SES
# puts an account under review at 5 %. "Close" is 80 % of the target.
COMPLAINT_TARGET, COMPLAINT_LIMIT = 0.001, 0.003
BOUNCE_TARGET, BOUNCE_LIMIT = 0.02, 0.05
CLOSE_SHARE = 0.8
# Kinds only a provider's webhooks report; none of them recorded means rates are not measured.
PROVIDER_KINDS = (
    DeliveryEvent.Kind.DELIVERED,
    DeliveryEvent.Kind.BOUNCED,
    DeliveryEvent.Kind.COMPLAINED,
    DeliveryEvent.Kind.OPENED,
    DeliveryEvent.Kind.CLICKED,
    DeliveryEvent.Kind.DEFERRED,
    DeliveryEvent.Kind.REJECTED,
)
RANGES = (7, 30, 90)


@dataclass(frozen=True)
class DayRange:
    start: date
    end: date

    @classmethod
    def last(cls, days: int, *, today: date | None = None) -> DayRange:
        today = today or timezone.localdate()
        return cls(today - timedelta(days=days - 1), today)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    @property
    def length(self) -> int:
        return (self.end - self.start).days + 1

    def index(self, day: date) -> int | None:
        offset = (day - self.start).days
        return offset if 0 <= offset < self.length else None

    def moments(self) -> tuple[datetime, datetime]:
        """The range as [first moment, moment after the last day) in the current timezone."""
        zone = timezone.get_current_timezone()
        return (
            datetime.combine(self.start, datetime.min.time(), zone),
            datetime.combine(self.end + timedelta(days=1), datetime.min.time(), zone),
        )


def _local_day(moment: datetime | None) -> date | None:
    return timezone.localtime(moment).date() if moment else None


# --- Subscribers ----------------------------------------------------------------------------------


def subscribers_by_status(days: DayRange) -> dict:
    """How many subscribers were in each status at the end of each day.

    Reconstructed from each subscriber's timestamps (signed up, confirmed, unsubscribed, put on
    the suppression list), so a subscriber who unsubscribed and came back counts as active since
    confirming. Subscribers deleted with all their data are gone from every day.
    """
    statuses = list(Subscriber.Status.values)
    # Difference arrays: +1 where a subscriber enters a status, -1 where they leave it.
    change = {status: [0] * (days.length + 1) for status in statuses}
    suppressed_on = dict(Suppression.objects.values_list("email", "created_at"))

    def add(status: str, since: date, until: date | None) -> None:
        first = max((since - days.start).days, 0)
        last = days.length if until is None else min((until - days.start).days, days.length)
        if first < last:
            change[status][first] += 1
            change[status][last] -= 1

    rows = Subscriber.objects.values_list(
        "email", "status", "created_at", "confirmed_at", "unsubscribed_at"
    ).iterator(chunk_size=5000)
    for email, status, created, confirmed, unsubscribed in rows:
        created, confirmed = _local_day(created), _local_day(confirmed)
        ended_at, ended_as = None, None
        if status == Subscriber.Status.SUPPRESSED:
            ended_at, ended_as = _local_day(suppressed_on.get(email)) or created, status
        elif status == Subscriber.Status.UNSUBSCRIBED:
            ended_at, ended_as = _local_day(unsubscribed) or created, status
        if confirmed and (ended_at is None or confirmed < ended_at):
            add(Subscriber.Status.PENDING, created, confirmed)
            add(Subscriber.Status.ACTIVE, confirmed, ended_at)
        else:
            add(Subscriber.Status.PENDING, created, ended_at)
        if ended_as:
            add(ended_as, ended_at, None)
    counts = {}
    for status in statuses:
        running, values = 0, []
        for step in change[status][: days.length]:
            running += step
            values.append(running)
        counts[status] = values
    now = dict(Subscriber.objects.values_list("status").annotate(n=Count("id")))
    signed_up = Subscriber.objects.filter(created_at__range=days.moments()).count()
    return {
        "series": counts,
        "now": {status: now.get(status, 0) for status in statuses},
        "signed_up": signed_up,
        "paused": Subscriber.objects.filter(paused_at__isnull=False).count(),
    }


# --- Digests and delivery ------------------------------------------------------------------------


def digests_by_status(days: DayRange) -> dict:
    series = {status: [0] * days.length for status in Digest.Status.values}
    for row in (
        Digest.objects.filter(period_start__range=(days.start, days.end))
        .values("period_start", "status")
        .annotate(n=Count("id"))
    ):
        series[row["status"]][days.index(row["period_start"])] = row["n"]
    totals = {status: sum(values) for status, values in series.items()}
    return {"series": series, "totals": totals, "all": sum(totals.values())}


def _level(rate: float, target: float, limit: float) -> str:
    if rate >= limit:
        return "critical"
    if rate >= target:
        return "over"
    if rate >= CLOSE_SHARE * target:
        return "close"
    return "ok"


def delivery_rates(days: DayRange) -> dict:
    """Bounces and complaints per digest sent, per day and over the range, against the limits.

    Sends are our own SENT events; bounces and complaints are what providers reported by
    webhook. Without any provider event recorded, the rates measure nothing yet and say so.
    """
    per_day: dict[str, list[int]] = defaultdict(lambda: [0] * days.length)
    totals: dict[str, int] = defaultdict(int)
    for row in (
        DeliveryEvent.objects.filter(occurred_at__range=days.moments())
        .annotate(day=TruncDate("occurred_at"))
        .values("day", "kind")
        .annotate(n=Count("id"))
    ):
        index = days.index(row["day"])
        if index is not None:
            per_day[row["kind"]][index] += row["n"]
            totals[row["kind"]] += row["n"]
    sent = per_day[DeliveryEvent.Kind.SENT]

    def rate(kind: str) -> tuple[list[float], float]:
        daily = [n / s if s else 0.0 for n, s in zip(per_day[kind], sent, strict=True)]
        overall = totals[kind] / totals[DeliveryEvent.Kind.SENT] if totals["sent"] else 0.0
        return daily, overall

    bounce_daily, bounce = rate(DeliveryEvent.Kind.BOUNCED)
    complaint_daily, complaint = rate(DeliveryEvent.Kind.COMPLAINED)
    return {
        "sent": totals[DeliveryEvent.Kind.SENT],
        "events": {kind: totals.get(kind, 0) for kind in DeliveryEvent.Kind.values},
        "bounce_daily": bounce_daily,
        "complaint_daily": complaint_daily,
        "bounce_rate": bounce,
        "complaint_rate": complaint,
        "bounce_level": _level(bounce, BOUNCE_TARGET, BOUNCE_LIMIT),
        "complaint_level": _level(complaint, COMPLAINT_TARGET, COMPLAINT_LIMIT),
        "provider_feedback": DeliveryEvent.objects.filter(kind__in=PROVIDER_KINDS).exists(),
        "thresholds": {
            "complaint_target": COMPLAINT_TARGET,
            "complaint_limit": COMPLAINT_LIMIT,
            "bounce_target": BOUNCE_TARGET,
            "bounce_limit": BOUNCE_LIMIT,
        },
    }


def engagement(days: DayRange) -> dict:
    """Of the digests sent each day, the share with at least one paper opened (click-through)
    and the share with at least one "more / less like this" (feedback)."""
    sent = [0] * days.length
    for row in (
        Digest.objects.filter(sent_at__range=days.moments())
        .annotate(day=TruncDate("sent_at"))
        .values("day")
        .annotate(n=Count("id"))
    ):
        if (index := days.index(row["day"])) is not None:
            sent[index] += row["n"]
    clicked, answered = [0] * days.length, [0] * days.length
    for row in (
        FeedbackEvent.objects.filter(digest_item__digest__sent_at__range=days.moments())
        .annotate(day=TruncDate("digest_item__digest__sent_at"))
        .values("day")
        .annotate(
            clicked=Count("digest_item__digest", distinct=True, filter=Q(kind="click")),
            answered=Count("digest_item__digest", distinct=True, filter=Q(kind__in=["up", "down"])),
        )
    ):
        if (index := days.index(row["day"])) is not None:
            clicked[index] += row["clicked"]
            answered[index] += row["answered"]
    kinds = dict(
        FeedbackEvent.objects.filter(created_at__range=days.moments())
        .values_list("kind")
        .annotate(n=Count("id"))
    )
    total_sent = sum(sent)
    return {
        "sent": total_sent,
        "click_daily": [c / s if s else 0.0 for c, s in zip(clicked, sent, strict=True)],
        "feedback_daily": [a / s if s else 0.0 for a, s in zip(answered, sent, strict=True)],
        "click_rate": sum(clicked) / total_sent if total_sent else 0.0,
        "feedback_rate": sum(answered) / total_sent if total_sent else 0.0,
        "clicked_digests": sum(clicked),
        "answered_digests": sum(answered),
        "events": {kind: kinds.get(kind, 0) for kind in FeedbackEvent.Kind.values},
    }


# --- Ingestion and the model ---------------------------------------------------------------------


def ingestion(days: DayRange) -> dict:
    runs = list(IngestionRun.objects.filter(started_at__range=days.moments()))
    sources = sorted({run.source for run in runs})
    created = {source: [0] * days.length for source in sources}
    by_source: dict[str, dict[str, int]] = {
        source: dict.fromkeys(("runs", "failed", "created", "updated", "rejected"), 0)
        for source in sources
    }
    for run in runs:
        index = days.index(_local_day(run.started_at))
        if index is not None:
            created[run.source][index] += run.created
        row = by_source[run.source]
        row["runs"] += 1
        row["failed"] += run.status == IngestionRun.Status.FAILED
        row["created"] += run.created
        row["updated"] += run.updated
        row["rejected"] += run.rejected
    return {
        "runs": runs[:20],
        "count": len(runs),
        "created_series": created,
        "by_source": by_source,
        "last_run": IngestionRun.objects.first(),
    }


def model_card() -> dict:
    """The current model's card and the last offline evaluation, times as datetimes."""
    card, evaluation = model_store.current_card(), model_store.last_evaluation()
    for record, key in ((card, "fitted_at"), (evaluation, "evaluated_at")):
        if record and record.get(key):
            with contextlib.suppress(ValueError):  # else shown as stored
                record[key] = datetime.fromisoformat(record[key])
    return {"card": card, "evaluation": evaluation}
