"""Feedback from digest emails: "More like this" / "Less like this", and opened papers.

The "More/Less like this" links are signed (purpose "feedback") and open a page with one
button; only its POST records the event, because mail scanners follow every link in a message.

A paper's title links through the site (purpose "open"): the GET records a click and
redirects to the paper at once. A click is a weak signal (PROFILE_CLICK_WEIGHT) that never
overrides a thumbs up or down, and two rules keep link scanners out of it: HEAD requests are
never counted, and neither is a click within FEEDBACK_CLICK_MIN_SECONDS of the digest being
sent (security gateways fetch every link of a message on delivery, people do not read that
fast). An expired link still leads to the paper; it just is not counted.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts import tokens
from accounts.models import Subscriber

from ..models import DigestItem, FeedbackEvent, Paper

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


def feedback_url(
    subscriber: Subscriber, item: DigestItem, kind: str, *, signer: tokens.LinkSigner | None = None
) -> str:
    if signer is not None:
        return signer.url("recommender:feedback", "feedback", i=item.pk, k=str(kind))
    token = tokens.make_token(subscriber, "feedback", i=item.pk, k=str(kind))
    return tokens.absolute(reverse("recommender:feedback", args=[token]))


def read_feedback_token(token: str) -> tuple[Subscriber, DigestItem, str]:
    """The subscriber, digest item and kind a feedback link stands for, or InvalidToken."""
    data = tokens.read_token(token, "feedback")
    kind = data.extra.get("k")
    item = _digest_item(data)
    if item is None or kind not in LINK_KINDS:
        raise tokens.InvalidToken("This feedback link is not valid any more.")
    return data.subscriber, item, kind


def _digest_item(data: tokens.TokenData) -> DigestItem | None:
    """The digest item a link names, if it is still there and in its subscriber's digest."""
    return (
        DigestItem.objects.select_related("paper", "digest")
        .filter(pk=data.extra.get("i"), digest__subscriber=data.subscriber)
        .first()
    )


def open_url(
    subscriber: Subscriber, item: DigestItem, *, signer: tokens.LinkSigner | None = None
) -> str:
    """The tracked link to a digest item's paper."""
    if signer is not None:
        return signer.url("recommender:open", "open", i=item.pk)
    token = tokens.make_token(subscriber, "open", i=item.pk)
    return tokens.absolute(reverse("recommender:open", args=[token]))


def open_paper(token: str, *, count: bool) -> str:
    """Where a paper link leads (the paper's URL), recording the click when it counts.

    `count` is False for requests that are not a person reading (HEAD). Raises InvalidToken
    for a forged link or one whose digest item is gone.
    """
    try:
        data = tokens.read_token(token, "open")
    except tokens.InvalidToken as error:
        if not error.expired:
            raise
        data, count = tokens.read_token(token, "open", check_age=False), False
    item = _digest_item(data)
    if item is None:
        raise tokens.InvalidToken("This paper link is not valid any more.")
    if count and _counts_as_reading(item):
        record_feedback(
            subscriber=data.subscriber,
            paper=item.paper,
            kind=FeedbackEvent.Kind.CLICK,
            digest_item=item,
        )
    return item.paper.url


def _counts_as_reading(item: DigestItem) -> bool:
    sent_at = item.digest.sent_at
    if sent_at is None:  # opened from an admin preview or a digest that never went out
        return False
    return timezone.now() - sent_at >= timedelta(seconds=settings.FEEDBACK_CLICK_MIN_SECONDS)
