"""Signed links: confirm, preferences, unsubscribe, feedback and change-email, each with its own
salt.

A token carries the subscriber's id and a keyed hash of their address (never the address itself,
which would leak into logs and referrers). A token only works when both still match the same
row, so a token for one subscriber never opens another, and the salt per purpose keeps an
unsubscribe token from confirming or opening preferences.

The one token that holds an address is change-email's: it carries the new address, which is
nowhere else until the change is made (signed, not encrypted: whoever sees the link can read it,
and it is only ever mailed to that address). Once the change is made the tag of the old address
no longer matches, so the link (and every older link of that subscriber) stops working.
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

PURPOSES = ("confirm", "preferences", "unsubscribe", "feedback", "open", "change-email")


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
    }[purpose]
    return timedelta(days=days)


def _signer(purpose: str) -> signing.TimestampSigner:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return signing.TimestampSigner(salt=f"accounts.tokens.{purpose}")


def _email_tag(email: str) -> str:
    return salted_hmac("accounts.tokens.email", email, algorithm="sha256").hexdigest()[:20]


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


def read_email_change(token: str) -> tuple[Subscriber, str]:
    """The subscriber and the new address of a change-email link, or InvalidToken."""
    data = read_token(token, "change-email")
    new_email = data.extra.get("n")
    if not isinstance(new_email, str) or not new_email:
        raise InvalidToken("This link is not valid.")
    return data.subscriber, new_email


def applied_email_change(token: str) -> Subscriber | None:
    """The subscriber whose address a genuine, unexpired change-email link already moved to its
    new address (a second click, a second tab), else None. Such a link no longer passes
    read_token (the address tag changed); its holder owns the new mailbox, so the caller may
    send them on to the preferences page."""
    try:
        payload = _signer("change-email").unsign_object(token, max_age=_max_age("change-email"))
    except (signing.BadSignature, ValueError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int):
        return None
    return Subscriber.objects.filter(pk=payload["s"], email=payload.get("n")).first()


def change_email_url(subscriber: Subscriber, new_email: str) -> str:
    token = make_token(subscriber, "change-email", n=new_email)
    return absolute(reverse("accounts:change-email", args=[token]))


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


def list_unsubscribe_headers(subscriber: Subscriber) -> dict[str, str]:
    """RFC 2369 + RFC 8058 headers: mail clients show an unsubscribe button that POSTs here."""
    return {
        "List-Unsubscribe": f"<{one_click_unsubscribe_url(subscriber)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
