"""May we mail this address? The one answer every sender asks for, right before it sends."""

from __future__ import annotations

from accounts.models import Subscriber
from recommender.models import Suppression


def may_mail(address: str, *, subscriber: Subscriber | None = None) -> bool:
    """False for an address on the suppression list (bounced, complained, removed by an admin),
    and for a subscriber whose record is suppressed; every other address may be mailed."""
    if subscriber is not None and subscriber.status == Subscriber.Status.SUPPRESSED:
        return False
    return not Suppression.covers(address)
