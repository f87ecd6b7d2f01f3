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


class Built(NamedTuple):
    """What building a digest decided, to be stored on its row."""

    digest_id: int
    status: str
    skip_reason: str
    ranker: str
    note: str


_BUILT_FIELDS = ("status", "skip_reason", "ranker", "note")


def store_built(built: Sequence[Built], *, built_at: datetime) -> set[int]:
    """Store each digest's build on its row if it is still PENDING, in one statement; the ids
    stored. Run inside the transaction that then inserts their papers: a concurrent builder
    waits on the rows and then finds them built (its UPDATE re-checks the status). One
    `UPDATE ... FROM (VALUES ...)` where Django's bulk_update builds a CASE per field and row:
    for a chunk of 500 that cost more than the rest of storing it."""
    if not built:
        return set()
    table, key = _table(), _column("id")
    row = "(" + ", ".join(["%s"] * len(Built._fields)) + ")"
    values, names = ", ".join([row] * len(built)), ", ".join(Built._fields)
    sets = ", ".join(f"{_column(name)} = v.{name}" for name in _BUILT_FIELDS)
    sql = (
        f"WITH v ({names}) AS (VALUES {values})"  # noqa: S608 (names from _meta)
        f" UPDATE {table} SET {sets}, {_column('built_at')} = %s"
        f" FROM v WHERE {table}.{key} = v.digest_id AND {table}.{_column('status')} = %s"
        f" RETURNING {table}.{key}"
    )
    params = [value for digest in built for value in digest]
    params += [_when(built_at), Digest.Status.PENDING.value]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


class Sent(NamedTuple):
    """A digest the mail server took, to be recorded SENT."""

    digest_id: int
    sent_at: datetime
    message_id: str


def record_sent(sent: Sent) -> None:
    Digest.objects.filter(pk=sent.digest_id).update(
        status=Digest.Status.SENT,
        sent_at=sent.sent_at,
        message_id=sent.message_id,
        lease_until=None,
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
