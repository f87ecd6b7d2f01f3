"""Signed links: confirm, preferences, unsubscribe, feedback and change-email, each with its own
salt.

A token carries the subscriber's id and a keyed hash of their address (never the address itself,
which would leak into logs and referrers). A token only works when both still match the same
row, so a token for one subscriber never opens another, and the salt per purpose keeps an
unsubscribe token from confirming or opening preferences. Once an address changes, every older
link of that subscriber stops working.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

from .models import Subscriber

PURPOSES = (
    "confirm",
    "preferences",
    "unsubscribe",
    "feedback",
    "open",
    "change-email",
    "digest",
)


class InvalidToken(Exception):
    """The link was tampered with, made for another purpose or subscriber, or has expired."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True)
class TokenData:
    subscriber: Subscriber
    extra: dict[str, Any]


def _max_age(purpose: str) -> timedelta:
    days = {
        "confirm": settings.CONFIRM_LINK_MAX_AGE_DAYS,
        "preferences": settings.PREFERENCES_LINK_MAX_AGE_DAYS,
        "unsubscribe": settings.UNSUBSCRIBE_LINK_MAX_AGE_DAYS,
        "feedback": settings.FEEDBACK_LINK_MAX_AGE_DAYS,
        "open": settings.FEEDBACK_LINK_MAX_AGE_DAYS,
        "change-email": settings.CHANGE_EMAIL_LINK_MAX_AGE_DAYS,
        "digest": settings.DIGEST_LINK_MAX_AGE_DAYS,
    }[purpose]
    return timedelta(days=days)


def _signer(purpose: str) -> signing.TimestampSigner:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return signing.TimestampSigner(salt=f"accounts.tokens.{purpose}")


def _email_tag(email: str, *, label: str = "email") -> str:
    """A keyed hash of an address; `label` keeps the tag of one field from matching another's."""
    return salted_hmac(f"accounts.tokens.{label}", email, algorithm="sha256").hexdigest()[:20]


def _pending_tag(email: str) -> str:
    return _email_tag(email, label="pending-email")


def make_token(subscriber: Subscriber, purpose: str, **extra: Any) -> str:
    payload = {"s": subscriber.pk, "e": _email_tag(subscriber.email), **extra}
    return _signer(purpose).sign_object(payload, compress=True)


def read_token(token: str, purpose: str, *, check_age: bool = True) -> TokenData:
    """The subscriber (and extra fields) a token was made for, or InvalidToken.

    `check_age=False` accepts an expired but genuine token: only for links whose old copies
    must still lead somewhere harmless (a paper link in a months-old digest).
    """
    max_age = _max_age(purpose) if check_age else None
    try:
        payload = _signer(purpose).unsign_object(token, max_age=max_age)
    except signing.SignatureExpired as error:
        raise InvalidToken("This link has expired.", expired=True) from error
    except (signing.BadSignature, ValueError) as error:
        raise InvalidToken("This link is not valid.") from error
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int):
        raise InvalidToken("This link is not valid.")
    subscriber = Subscriber.objects.filter(pk=payload["s"]).first()
    if subscriber is None or not constant_time_compare(
        _email_tag(subscriber.email), str(payload.get("e", ""))
    ):
        raise InvalidToken("This link is not valid any more.")
    extra = {key: value for key, value in payload.items() if key not in ("s", "e")}
    return TokenData(subscriber, extra)


def change_email_token(subscriber: Subscriber) -> str:
    """A change-email token for the subscriber's pending address: it holds a tag of that
    address (the address itself is on the row), so asking for another address voids it."""
    if not subscriber.pending_email:
        raise ValueError("no address change is pending")
    return make_token(subscriber, "change-email", p=_pending_tag(subscriber.pending_email))


def read_email_change(token: str) -> tuple[Subscriber, str]:
    """The subscriber and the new address of a change-email link, or InvalidToken (also when
    the subscriber has since asked for another address, or the change is done)."""
    data = read_token(token, "change-email")
    pending = data.subscriber.pending_email
    if not pending or not constant_time_compare(_pending_tag(pending), str(data.extra.get("p"))):
        raise InvalidToken("This link is not valid any more.")
    return data.subscriber, pending


def applied_email_change(token: str) -> Subscriber | None:
    """The subscriber whose address a genuine, unexpired change-email link already moved to its
    new address (a second click, a second tab), else None. Such a link no longer passes
    read_token (the address tag changed); its holder owns the new mailbox, so the caller may
    send them on to the preferences page.

    "Already moved" means the link's pending tag is the tag of the current address: nothing
    else needs storing, and a later move to yet another address makes the link plainly invalid.
    """
    try:
        payload = _signer("change-email").unsign_object(token, max_age=_max_age("change-email"))
    except (signing.BadSignature, ValueError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int):
        return None
    subscriber = Subscriber.objects.filter(pk=payload["s"]).first()
    if subscriber is None or not constant_time_compare(
        _pending_tag(subscriber.email), str(payload.get("p"))
    ):
        return None
    return subscriber


def change_email_url(subscriber: Subscriber) -> str:
    """The link mailed to the subscriber's pending address."""
    return absolute(reverse("accounts:change-email", args=[change_email_token(subscriber)]))


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def confirm_url(subscriber: Subscriber) -> str:
    token = make_token(subscriber, "confirm")
    return absolute(reverse("accounts:confirm", args=[token]))


def preferences_url(subscriber: Subscriber) -> str:
    return absolute(preferences_path(subscriber))


def preferences_path(subscriber: Subscriber) -> str:
    return reverse("accounts:preferences", args=[make_token(subscriber, "preferences")])


def unsubscribe_url(subscriber: Subscriber) -> str:
    token = make_token(subscriber, "unsubscribe")
    return absolute(reverse("accounts:unsubscribe", args=[token]))


def one_click_unsubscribe_url(subscriber: Subscriber) -> str:
    token = make_token(subscriber, "unsubscribe")
    return absolute(reverse("accounts:unsubscribe-one-click", args=[token]))
