"""Where the last sign-up or link request was emailed, for the check-your-inbox page: a short-
lived, signed, HTTP-only cookie (no session row, and the address never appears in a URL or a
log). When the address has a likely typo, the sign-up's profile rides along so the page can redo
the sign-up at the corrected address in one click."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

from .typos import suggest_email

SENT_COOKIE = "sent_to"
SENT_COOKIE_SALT = "accounts.views.sent-to"
SENT_COOKIE_MAX_AGE = 3600
# Browsers keep cookies up to 4 KB; a sign-up whose profile does not fit is remembered by its
# address only (the page then suggests a fix without the one-click button).
SENT_COOKIE_MAX_BYTES = 3800


def remember(
    response: HttpResponse, email: str, *, profile: dict | None = None, kind: str = "subscribe"
) -> None:
    payload: dict = {"e": email, "k": kind}
    # The profile is only needed to redo a sign-up at a corrected address.
    if profile is not None and suggest_email(email):
        payload["p"] = profile
    value = signing.dumps(payload, salt=SENT_COOKIE_SALT, compress=True)
    if len(value) > SENT_COOKIE_MAX_BYTES:
        payload.pop("p", None)
        value = signing.dumps(payload, salt=SENT_COOKIE_SALT, compress=True)
    response.set_cookie(
        SENT_COOKIE,
        value,
        max_age=SENT_COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


def read(request: HttpRequest) -> dict | None:
    value = request.COOKIES.get(SENT_COOKIE)
    if not value:
        return None
    try:
        payload = signing.loads(value, salt=SENT_COOKIE_SALT, max_age=SENT_COOKIE_MAX_AGE)
    except signing.BadSignature:
        return None
    return payload if isinstance(payload, dict) and isinstance(payload.get("e"), str) else None
