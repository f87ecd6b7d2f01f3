"""Delivery health for the admin: what was sent, what failed or bounced, over recent days."""

from __future__ import annotations

from datetime import date, timedelta

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
    }
