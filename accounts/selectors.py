"""Reads for the preferences and change-email pages."""

from __future__ import annotations

import calendar

from django.db.models import Prefetch

from digest_site.mailing.policy import may_mail
from recommender.models import Digest, DigestItem, FeedbackEvent, Paper

from .models import Subscriber


def recent_digests(subscriber: Subscriber, *, limit: int = 5) -> list[Digest]:
    items = DigestItem.objects.select_related("paper").order_by("rank")
    return list(
        subscriber.digests.filter(status=Digest.Status.SENT)
        .order_by("-period_start")
        .prefetch_related(Prefetch("items", queryset=items))[:limit]
    )


def rated_papers(subscriber: Subscriber, *, limit: int = 100) -> tuple[list[Paper], list[Paper]]:
    """Papers liked and disliked, by the latest up/down the subscriber gave each."""
    events = (
        FeedbackEvent.objects.filter(
            subscriber=subscriber, kind__in=[FeedbackEvent.Kind.UP, FeedbackEvent.Kind.DOWN]
        )
        .select_related("paper")
        .order_by("-created_at", "-pk")[:limit]
    )
    latest: dict[int, FeedbackEvent] = {}
    for event in events:
        latest.setdefault(event.paper_id, event)
    liked = [e.paper for e in latest.values() if e.kind == FeedbackEvent.Kind.UP]
    disliked = [e.paper for e in latest.values() if e.kind == FeedbackEvent.Kind.DOWN]
    return liked, disliked


def email_change_obstacle(subscriber: Subscriber, new_email: str) -> str | None:
    """Why `subscriber` cannot move to `new_email` right now ("taken", "suppressed",
    "stopped"), or None when nothing stands in the way."""
    if subscriber.status == Subscriber.Status.SUPPRESSED:
        return "stopped"
    if not may_mail(new_email):
        return "suppressed"
    if Subscriber.objects.filter(email=new_email).exclude(pk=subscriber.pk).exists():
        return "taken"
    return None


def delivery_schedule(subscriber: Subscriber) -> str:
    """ "every day at 08:00 (Europe/Berlin)" or "every Friday at 08:00 (UTC)"."""
    profile = subscriber.profile
    when = f"at {profile.send_hour:02d}:00 ({profile.timezone})"
    if profile.frequency == profile.Frequency.WEEKLY:
        return f"every {calendar.day_name[profile.send_weekday]} {when}"
    return f"every day {when}"


def first_digest_message(subscriber: Subscriber) -> str:
    """What a person who just confirmed should read about their first digest: the truth, which
    depends on whether the worker has already built and sent it."""
    schedule = delivery_schedule(subscriber)
    latest = subscriber.digests.order_by("-created_at").first()
    if latest is None or latest.status in Digest.OPEN:
        return (
            f"You are subscribed. Your first digest is on its way to {subscriber.email} and "
            f"should arrive within minutes; after that, digests arrive {schedule}."
        )
    if latest.status == Digest.Status.SENT:
        count = latest.items.count()
        return (
            f"You are subscribed. Your first digest just went to {subscriber.email} "
            f"({count} paper{'s' if count != 1 else ''}); the next ones arrive {schedule}."
        )
    if latest.status == Digest.Status.SKIPPED:
        return (
            "You are subscribed. No new paper matched your interests closely enough today, so "
            f"we sent nothing yet; we look again {schedule}."
        )
    return (
        f"You are subscribed. Your first digest could not be sent yet; we retry shortly, and "
        f"digests arrive {schedule}."
    )
