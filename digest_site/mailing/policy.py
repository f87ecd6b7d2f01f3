"""May we mail this address? The one answer every sender asks for, right before it sends, and
the one place that takes an address off the list (suppress: a hard bounce, a complaint, a
recipient the mail server refused for good)."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from accounts.models import Subscriber, normalise_email
from recommender.models import Suppression

log = logging.getLogger(__name__)


def may_mail(address: str, *, subscriber: Subscriber | None = None) -> bool:
    """False for an address on the suppression list (bounced, complained, removed by an admin),
    and for a subscriber whose record is suppressed; every other address may be mailed."""
    if subscriber is not None and subscriber.status == Subscriber.Status.SUPPRESSED:
        return False
    return not Suppression.covers(address)


def suppress(address: str, reason: str, detail: str) -> bool:
    """Never mail `address` again; True if this call added it. The subscriber with that
    address (if any) is marked suppressed, so pages and the admin show why nothing arrives."""
    email = normalise_email(address)
    try:
        with transaction.atomic():
            _, created = Suppression.objects.get_or_create(
                email=email, defaults={"reason": reason, "detail": detail[:300]}
            )
    except IntegrityError:  # added by a concurrent event for the same address
        created = False
    Subscriber.objects.filter(email=email).exclude(status=Subscriber.Status.SUPPRESSED).update(
        status=Subscriber.Status.SUPPRESSED
    )
    if created:
        log.info("suppressed %s: %s", email, detail)
    return created
