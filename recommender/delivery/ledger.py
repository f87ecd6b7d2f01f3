"""The ledger's conditional writes that say which rows they changed.

Django's update() returns only a count; a claim must also tell its caller which rows it won
(and their attempt counts), in the same statement that made the claim, or a second statement
could see another worker's change in between. So these run `UPDATE ... WHERE <condition>
RETURNING ...` (PostgreSQL, and SQLite 3.35 and later), with table and column names from the
models' _meta. Under concurrency an UPDATE waits for the rows another transaction changed and
checks its condition again on their new values, so each row is won by exactly one caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from typing import NamedTuple

from django.db import connection, transaction

from digest_site.mailing.policy import mailable_subscriber_sql

from ..models import Digest


def _column(name: str) -> str:
    return connection.ops.quote_name(Digest._meta.get_field(name).column)


def _table() -> str:
    return connection.ops.quote_name(Digest._meta.db_table)


def _when(moment: datetime):
    """A datetime as the ORM would store it (SQLite: naive UTC text, as Django writes it, so
    the ledger's lease comparisons see one format)."""
    return connection.ops.adapt_datetimefield_value(moment)


def take_pending(ids: Sequence[int], *, built_at: datetime) -> set[int]:
    """Of `ids`, the digests still PENDING, stamped `built_at` and so taken by this caller for
    building; run inside the transaction that then stores their papers and status, so a
    concurrent builder waits and then finds them built."""
    if not ids:
        return set()
    marks = ", ".join(["%s"] * len(ids))
    sql = (
        f"UPDATE {_table()} SET {_column('built_at')} = %s"  # noqa: S608 (names from _meta)
        f" WHERE {_column('id')} IN ({marks}) AND {_column('status')} = %s"
        f" RETURNING {_column('id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_when(built_at), *ids, Digest.Status.PENDING.value])
        return {row[0] for row in cursor.fetchall()}


class Sent(NamedTuple):
    """A digest the mail server took, to be recorded SENT."""

    digest_id: int
    sent_at: datetime
    message_id: str


def record_sent(sent: Sent) -> None:
    Digest.objects.filter(pk=sent.digest_id).update(
        status=Digest.Status.SENT, sent_at=sent.sent_at, message_id=sent.message_id, lease_until=None
    )


def claim_for_sending(
    digest_id: int, subscriber_id: int, *, lease_until: datetime, after: Sent | None = None
) -> int | None:
    """BUILT -> SENDING with a sending lease, if the digest is still BUILT and its subscriber
    may still be mailed (policy.mailable_subscriber_sql), in one statement: the claim and the
    may-we-mail check right before the send cost one round trip. Returns the digest's attempts
    counting this one, or None when not claimed (another worker has it, it is no longer BUILT,
    or the address may not be mailed: the caller asks which, on that rare path).

    `after`, the digest sent just before, is recorded SENT in the same transaction: one commit
    per digest instead of two (a durable commit is the costliest step of a send on a disk that
    syncs slowly), with the same window as recording it on its own right after its send, since
    nothing else happens in between."""
    if after is None:
        return _claim(digest_id, subscriber_id, lease_until)
    with transaction.atomic():
        record_sent(after)
        return _claim(digest_id, subscriber_id, lease_until)


def _claim(digest_id: int, subscriber_id: int, lease_until: datetime) -> int | None:
    mailable, mailable_params = mailable_subscriber_sql(subscriber_id)
    sql = (
        f"UPDATE {_table()} SET {_column('status')} = %s,"  # noqa: S608 (names from _meta)
        f" {_column('attempts')} = {_column('attempts')} + 1, {_column('lease_until')} = %s"
        f" WHERE {_column('id')} = %s AND {_column('status')} = %s"
        f" AND {mailable}"
        f" RETURNING {_column('attempts')}"
    )
    params = [
        Digest.Status.SENDING.value,
        _when(lease_until),
        digest_id,
        Digest.Status.BUILT.value,
        *mailable_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else row[0]
