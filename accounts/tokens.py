"""Signed links: confirm, preferences, unsubscribe, feedback and change-email, each with its own
salt.

A token carries the subscriber's id and a keyed hash of their address (never the address itself,
which would leak into logs and referrers). A token only works when both still match the same
row, so a token for one subscriber never opens another, and the salt per purpose keeps an
unsubscribe token from confirming or opening preferences. Once an address changes, every older
link of that subscriber stops working.

A digest email carries about 33 links. `LinkSigner` makes them in the short form
`<subscriber>.<timestamp>.<field><value>....<signature>`: the signature is an HMAC-SHA256 (key
salted per purpose) over the subscriber's address and everything before it, so the keyed hash
of the part every link of one email shares is computed once and each link costs one more hash
of its own fields; the address itself stays out of the token. `read_token` accepts this form
and the older `TimestampSigner` one (still made by `make_token`, and in inboxes for months) with
the same checks: constant-time comparison, salt per purpose, the same expiry.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import get_script_prefix, get_urlconf, reverse
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
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    if ":" not in token:  # the short form: TimestampSigner tokens always hold a colon
        return _read_link_token(token, purpose, check_age=check_age)
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


# --- Short links, many per email ---------------------------------------------------------------

_FIELD_VALUE = re.compile(r"[A-Za-z0-9_-]+")
_INT_FIELDS = frozenset({"i", "d"})  # digest item and digest ids; the others are strings
_SHORT_TOKEN = re.compile(
    r"(?P<s>[0-9]{1,18})\.(?P<ts>[0-9A-Za-z]{1,12})(?P<fields>(?:\.[a-z][A-Za-z0-9_-]+)*)"
    r"\.(?P<sig>[A-Za-z0-9_-]{43})"
)


@functools.lru_cache(maxsize=64)
def _link_key(purpose: str, secret: str) -> hmac.HMAC:
    """A keyed hash salted per purpose (Django's salted_hmac key derivation), to be copied."""
    key = hashlib.sha256(f"accounts.tokens.link.{purpose}{secret}".encode()).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


def _signature(mac: hmac.HMAC) -> str:
    return base64.urlsafe_b64encode(mac.digest())[:43].decode()  # 32 bytes: 43 chars and "="


def _fields(extra: dict[str, Any]) -> str:
    parts = []
    for key, value in extra.items():
        if value is None:  # an unsaved row (a preview): the link names nothing
            continue
        text = str(value)
        if (
            len(key) != 1
            or not key.islower()
            or not (type(value) is int or _FIELD_VALUE.fullmatch(text))
        ):
            raise ValueError(f"link field {key}={value!r} cannot go in a short token")
        parts.append(f".{key}{text}")
    return "".join(parts)


class LinkSigner:
    """Signs the links of one email to one subscriber (see the module's docstring): the
    subscriber's part of each purpose's keyed hash is computed once, on first use."""

    def __init__(self, subscriber: Subscriber, *, now: float | None = None) -> None:
        stamp = signing.b62_encode(int(time.time() if now is None else now))
        self._head = f"{subscriber.pk}.{stamp}"
        self._email = subscriber.email
        self._prefixes: dict[str, hmac.HMAC] = {}
        self._routes: dict[str, tuple[str, str]] = {}

    def token(self, purpose: str, **extra: Any) -> str:
        prefix = self._prefixes.get(purpose)
        if prefix is None:
            if purpose not in PURPOSES:
                raise ValueError(f"unknown token purpose {purpose!r}")
            prefix = _link_key(purpose, settings.SECRET_KEY).copy()
            prefix.update(f"{self._email}\n{self._head}".encode())
            self._prefixes[purpose] = prefix
        fields = _fields(extra)
        mac = prefix.copy()
        mac.update(fields.encode())
        return f"{self._head}{fields}.{_signature(mac)}"

    def url(self, name: str, purpose: str, **extra: Any) -> str:
        """The absolute URL of route `name` with this subscriber's token as its one argument."""
        route = self._routes.get(name)
        if route is None:
            before, after = _route(name, get_script_prefix(), get_urlconf())
            route = self._routes[name] = (absolute(before), after)
        return f"{route[0]}{self.token(purpose, **extra)}{route[1]}"


@functools.lru_cache(maxsize=64)
def _route(name: str, _script_prefix: str, _urlconf: object) -> tuple[str, str]:
    """The path of `name` split around its token argument: reverse() once per route (the
    arguments after `name` only key the cache; SITE_URL is added per signer, as it may change)."""
    marker = "TOKEN"
    before, _, after = reverse(name, args=[marker]).partition(marker)
    return before, after


def _read_link_token(token: str, purpose: str, *, check_age: bool) -> TokenData:
    match = _SHORT_TOKEN.fullmatch(token)
    if match is None:
        raise InvalidToken("This link is not valid.")
    subscriber = Subscriber.objects.filter(pk=int(match["s"])).first()
    if subscriber is None:
        raise InvalidToken("This link is not valid any more.")
    # The address is inside the signature: after an address change no old link verifies.
    signed = f"{subscriber.email}\n{token[: match.start('sig') - 1]}".encode()
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    if not any(
        constant_time_compare(_signature(_keyed(purpose, secret, signed)), match["sig"])
        for secret in secrets
    ):
        raise InvalidToken("This link is not valid.")
    try:
        age = time.time() - signing.b62_decode(match["ts"])
    except ValueError as error:
        raise InvalidToken("This link is not valid.") from error
    if check_age and age > _max_age(purpose).total_seconds():
        raise InvalidToken("This link has expired.", expired=True)
    extra: dict[str, Any] = {}
    for field in match["fields"].split(".")[1:]:
        key, value = field[0], field[1:]
        extra[key] = int(value) if key in _INT_FIELDS and value.isdigit() else value
    return TokenData(subscriber, extra)


def _keyed(purpose: str, secret: str, message: bytes) -> hmac.HMAC:
    mac = _link_key(purpose, secret).copy()
    mac.update(message)
    return mac


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


def preferences_url(subscriber: Subscriber, *, signer: LinkSigner | None = None) -> str:
    if signer is not None:
        return signer.url("accounts:preferences", "preferences")
    return absolute(preferences_path(subscriber))


def preferences_path(subscriber: Subscriber) -> str:
    return reverse("accounts:preferences", args=[make_token(subscriber, "preferences")])


def unsubscribe_url(subscriber: Subscriber, *, signer: LinkSigner | None = None) -> str:
    if signer is not None:
        return signer.url("accounts:unsubscribe", "unsubscribe")
    token = make_token(subscriber, "unsubscribe")
    return absolute(reverse("accounts:unsubscribe", args=[token]))


def one_click_unsubscribe_url(subscriber: Subscriber, *, signer: LinkSigner | None = None) -> str:
    if signer is not None:  # a digest's header, signed with the rest of its email's links
        return signer.url("accounts:unsubscribe-one-click", "unsubscribe")
    token = make_token(subscriber, "unsubscribe")
    return absolute(reverse("accounts:unsubscribe-one-click", args=[token]))
