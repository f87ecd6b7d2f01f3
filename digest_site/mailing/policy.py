"""May we mail this address? The one answer every sender asks for, right before it sends, and
the one place that takes an address off the list (suppress: a hard bounce, a complaint, a
recipient the mail server refused for good)."""

from __future__ import annotations

import logging

from django.db import IntegrityError, connection, transaction

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


def mailable_subscriber_sql() -> str:
    """The SQL condition "this subscriber may be mailed a digest now" (active, not paused, the
    address not on the suppression list): what may_mail and Subscriber.receives_digests say,
    for a statement that must check it in the same step as it claims (see delivery.ledger).
    The same for everyone; its parameters are mailable_subscriber_params."""
    quote = connection.ops.quote_name
    people, suppressed = Subscriber._meta, Suppression._meta

    def column(meta, name: str) -> str:
        return quote(meta.get_field(name).column)

    # Table and column names from _meta; values only as parameters.
    sql = (
        f"EXISTS (SELECT 1 FROM {quote(people.db_table)} s"  # noqa: S608
        f" WHERE s.{column(people, 'id')} = %s"
        f" AND s.{column(people, 'status')} = %s"
        f" AND s.{column(people, 'paused_at')} IS NULL"
        f" AND NOT EXISTS (SELECT 1 FROM {quote(suppressed.db_table)} x"
        f" WHERE x.{column(suppressed, 'email')} = s.{column(people, 'email')}))"
    )
    return sql


def mailable_subscriber_params(subscriber_id: int) -> list:
    """The parameters of mailable_subscriber_sql's condition, for one subscriber."""
    return [subscriber_id, Subscriber.Status.ACTIVE.value]
