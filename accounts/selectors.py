"""Reads for the preferences and change-email pages."""

from __future__ import annotations

from django.db.models import Prefetch

from digest_site.mailing.policy import may_mail
from recommender.models import Digest, DigestItem, FeedbackEvent, Paper

from .models import Subscriber
from .references import unmatched_references


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


def seed_state(subscriber: Subscriber) -> tuple[list[Paper], list[str]]:
    """The pasted papers we matched, and the pasted lines we do not hold (yet)."""
    profile = subscriber.profile
    matched = list(profile.seed_papers.all())
    return matched, unmatched_references(profile.seed_references, matched)


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
