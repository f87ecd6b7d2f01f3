"""Delivery health for the admin, `manage.py delivery_status` and /healthz: what was sent,
what failed or bounced, what is overdue and what is stuck."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from accounts.models import Subscriber

from ..models import DeliveryEvent, Digest, Suppression

# Event kinds that mean a message did not reach, or should not have been sent to, its reader.
PROBLEM_EVENTS = (
    DeliveryEvent.Kind.FAILED,
    DeliveryEvent.Kind.BOUNCED,
    DeliveryEvent.Kind.REJECTED,
    DeliveryEvent.Kind.COMPLAINED,
)


def delivery_health(*, days: int = 7, today: date | None = None) -> dict:
    """Per-day digest counts by status, problem events, and the latest failures."""
    today = today or timezone.localdate()
    since = today - timedelta(days=days - 1)
    per_day: dict[date, dict[str, int]] = {
        since + timedelta(days=n): dict.fromkeys(Digest.Status.values, 0) for n in range(days)
    }
    for row in (
        Digest.objects.filter(period_start__gte=since, period_start__lte=today)
        .values("period_start", "status")
        .annotate(n=Count("id"))
    ):
        per_day[row["period_start"]][row["status"]] = row["n"]
    events = dict(
        DeliveryEvent.objects.filter(occurred_at__date__gte=since)
        .values_list("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    sent = sum(day[Digest.Status.SENT] for day in per_day.values())
    failed = sum(day[Digest.Status.FAILED] for day in per_day.values())
    return {
        "since": since,
        "days": [
            {"day": day, "counts": [counts[status] for status in Digest.Status.values]}
            for day, counts in sorted(per_day.items(), reverse=True)
        ],
        "statuses": list(Digest.Status.values),
        "events": {kind: events.get(kind, 0) for kind in DeliveryEvent.Kind.values},
        "problems": sum(events.get(kind, 0) for kind in PROBLEM_EVENTS),
        "sent": sent,
        "failed_percent": 100 * failed / (sent + failed) if sent + failed else 0.0,
        "active_subscribers": Subscriber.objects.filter(
            status=Subscriber.Status.ACTIVE, paused_at__isnull=True
        ).count(),
        "suppressed": Suppression.objects.count(),
        "recent_failures": list(
            Digest.objects.filter(status=Digest.Status.FAILED)
            .select_related("subscriber")
            .order_by("-created_at")[:10]
        ),
        "overdue": overdue(),
        "stuck": stuck_digests(limit=10),
    }


# Columns of the per-period ledger report, in the order a digest moves through them.
LEDGER_COLUMNS = ("due", "pending", "built", "sending", "sent", "failed", "skipped", "suppressed")


def ledger_by_period(*, since: date) -> list[dict]:
    """Per period (newest first): how many digests were due (claimed) and where each is now.
    "skipped" counts periods with nothing new or a paused/unsubscribed reader; "suppressed"
    the digests not sent because the address may not be mailed."""
    periods: dict[date, dict[str, int]] = {}
    for row in (
        Digest.objects.filter(period_start__gte=since)
        .values("period_start", "status", "skip_reason")
        .annotate(n=Count("id"))
    ):
        counts = periods.setdefault(row["period_start"], dict.fromkeys(LEDGER_COLUMNS, 0))
        column = row["status"]
        if column == Digest.Status.SKIPPED and row["skip_reason"] == Digest.SkipReason.SUPPRESSED:
            column = "suppressed"
        counts[column] += row["n"]
        counts["due"] += row["n"]
    return [{"period": p, **periods[p]} for p in sorted(periods, reverse=True)]


def stuck_digests(*, now: datetime | None = None, limit: int = 20) -> list[tuple[Digest, str]]:
    """Open digests past their send time by more than DIGEST_OVERDUE_MINUTES, each with what
    holds it up; reconciliation should have moved them, so each one is worth a look."""
    now = now or timezone.now()
    late = now - timedelta(minutes=settings.DIGEST_OVERDUE_MINUTES)
    rows = (
        Digest.objects.filter(status__in=Digest.OPEN, due_at__lt=late)
        .select_related("subscriber")
        .order_by("due_at")[:limit]
    )
    return [(digest, _holdup(digest, now)) for digest in rows]


def _holdup(digest: Digest, now: datetime) -> str:
    if digest.lease_until and digest.lease_until > now:
        holder = "being sent" if digest.status == Digest.Status.SENDING else "queued or retrying"
        return f"{holder} until {digest.lease_until:%Y-%m-%d %H:%M} UTC"
    if digest.last_error:
        return f"waiting for reconciliation after: {digest.last_error[:120]}"
    return "waiting for reconciliation (no lease: nobody holds it)"


def overdue(*, now: datetime | None = None) -> dict[str, int]:
    """Open digests and unclaimed due subscribers more than DIGEST_OVERDUE_MINUTES late (a
    dispatcher or the workers not running, a broker down); both zero when delivery is healthy."""
    now = now or timezone.now()
    late = now - timedelta(minutes=settings.DIGEST_OVERDUE_MINUTES)
    return {
        "digests": Digest.objects.filter(status__in=Digest.OPEN, due_at__lt=late).count(),
        "unclaimed": Subscriber.objects.filter(
            status=Subscriber.Status.ACTIVE, paused_at__isnull=True, next_digest_at__lt=late
        ).count(),
    }
