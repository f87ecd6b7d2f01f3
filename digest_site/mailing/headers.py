"""Headers every message to a subscriber carries."""

from __future__ import annotations

from accounts import tokens
from accounts.models import Subscriber


def list_unsubscribe_headers(
    subscriber: Subscriber, *, signer: tokens.LinkSigner | None = None
) -> dict[str, str]:
    """RFC 2369 + RFC 8058 headers: mail clients show an unsubscribe button that POSTs here."""
    url = tokens.one_click_unsubscribe_url(subscriber, signer=signer)
    return {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
