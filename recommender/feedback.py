"""Feedback from digest emails: "More like this" / "Less like this" on one paper.

The links in the email are signed (purpose "feedback") and open a page with one button; only
its POST records the event, because mail scanners follow every link in a message.
"""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse

from accounts import tokens
from accounts.models import Subscriber

from .models import DigestItem, FeedbackEvent, Paper

LINK_KINDS = (FeedbackEvent.Kind.UP, FeedbackEvent.Kind.DOWN)


def record_feedback(
    *,
    subscriber: Subscriber,
    paper: Paper,
    kind: str,
    digest_item: DigestItem | None = None,
) -> tuple[FeedbackEvent, bool]:
    """Record one reaction; pressing the same button again for the same item changes nothing.

    Returns (event, created). The digest item's row is locked while checking, so two quick
    POSTs (a double click) still record one event.
    """
    if kind not in FeedbackEvent.Kind.values:
        raise ValueError(f"unknown feedback kind {kind!r}")
    with transaction.atomic():
        if digest_item is not None:
            DigestItem.objects.select_for_update().filter(pk=digest_item.pk).first()
        return FeedbackEvent.objects.get_or_create(
            subscriber=subscriber, paper=paper, kind=kind, digest_item=digest_item
        )


def feedback_url(subscriber: Subscriber, item: DigestItem, kind: str) -> str:
    token = tokens.make_token(subscriber, "feedback", i=item.pk, k=str(kind))
    return tokens.absolute(reverse("recommender:feedback", args=[token]))


def read_feedback_token(token: str) -> tuple[Subscriber, DigestItem, str]:
    """The subscriber, digest item and kind a feedback link stands for, or InvalidToken."""
    data = tokens.read_token(token, "feedback")
    kind = data.extra.get("k")
    item = (
        DigestItem.objects.select_related("paper", "digest")
        .filter(pk=data.extra.get("i"), digest__subscriber=data.subscriber)
        .first()
    )
    if item is None or kind not in LINK_KINDS:
        raise tokens.InvalidToken("This feedback link is not valid any more.")
    return data.subscriber, item, kind
