"""The ledger's conditional writes that say which rows they changed.

Django's update() returns only a count; a claim must also tell its caller which rows it won
(and their attempt counts), in the same statement that made the claim, or a second statement
could see another worker's change in between. So these run `UPDATE ... WHERE <condition>
RETURNING ...` (PostgreSQL, and SQLite 3.35 and later), with table and column names from the
models' _meta. Under concurrency an UPDATE waits for the rows another transaction changed and
checks its condition again on their new values, so each row is won by exactly one caller.
"""

from __future__ import annotations

import functools
import select
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from django.db import connection, transaction

from accounts.models import Subscriber
from digest_site.mailing.policy import mailable_subscriber_params, mailable_subscriber_sql

from ..models import Digest, DigestItem


def _column(name: str, model=Digest) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _table(model=Digest) -> str:
    return connection.ops.quote_name(model._meta.db_table)


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
    sets = ", ".join(f"{_column(name)} = v.{name}" for name in _BUILT_FIELDS)
    return _update_from_values(
        Built._fields,
        built,
        f"UPDATE {table} SET {sets}, {_column('built_at')} = %s"  # noqa: S608 (names from _meta)
        f" FROM v WHERE {table}.{key} = v.digest_id AND {table}.{_column('status')} = %s"
        f" RETURNING {table}.{key}",
        [_when(built_at), Digest.Status.PENDING.value],
    )


def _update_from_values(
    columns: Sequence[str], rows: Sequence[Sequence], update: str, params: list
) -> set[int]:
    """Run `update` (which reads the rows as the table `v`) after `WITH v (columns) AS (VALUES
    rows)`: the rows, one placeholder per value, then `params`; the first column of each row
    it returns."""
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    sql = f"WITH v ({', '.join(columns)}) AS (VALUES {', '.join([row] * len(rows))}) {update}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for values in rows for value in values] + params)
        return {returned[0] for returned in cursor.fetchall()}


def insert_items(items: Sequence[DigestItem]) -> None:
    """Insert a chunk's digest items and set their ids. On PostgreSQL one `INSERT ... SELECT
    FROM unnest(...)` with five array parameters however many rows: Django's bulk_create binds
    each of the chunk's 25,000 values on its own, client-side, which was most of the cost of
    storing a chunk. The ids come back with each row's (digest, rank), unique per digest, so
    no order of the returned rows is assumed. Elsewhere bulk_create does it."""
    if connection.vendor != "postgresql" or not items:
        DigestItem.objects.bulk_create(items)
        return

    def column(name: str) -> str:
        return _column(name, DigestItem)

    names = ("digest", "paper", "rank", "score", "reason")
    sql = (
        f"INSERT INTO {_table(DigestItem)} ({', '.join(column(n) for n in names)})"  # noqa: S608
        " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::integer[],"
        " %s::double precision[], %s::text[])"
        f" RETURNING {column('id')}, {column('digest')}, {column('rank')}"
    )
    params = [
        [item.digest_id for item in items],
        [item.paper_id for item in items],
        [item.rank for item in items],
        [float(item.score) for item in items],
        [item.reason for item in items],
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = {(digest, rank): pk for pk, digest, rank in cursor.fetchall()}
    for item in items:
        item.pk = ids[(item.digest_id, item.rank)]
        item._state.adding, item._state.db = False, connection.alias


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Move(NamedTuple):
    """A due subscriber's next send time, moved on from the one they were due at."""

    subscriber_id: int
    due_at: datetime | None
    next_at: datetime


def move_due(moves: Sequence[Move]) -> set[int]:
    """Move each subscriber's next_digest_at from `due_at` to `next_at` where it still is
    `due_at` (of two dispatchers, exactly one wins a subscriber), in one statement; the ids
    moved. One `UPDATE ... FROM (VALUES ...)` for a chunk instead of an UPDATE per subscriber.
    (A never-scheduled subscriber, due_at None, is matched with IS NULL; its row carries the
    epoch instead of a NULL, which PostgreSQL could not type in a VALUES list of NULLs only.)"""
    if not moves:
        return set()
    table, key = _table(Subscriber), _column("id", Subscriber)
    due = _column("next_digest_at", Subscriber)
    rows = [
        (
            move.subscriber_id,
            int(move.due_at is None),
            _when(move.due_at if move.due_at is not None else _EPOCH),
            _when(move.next_at),
        )
        for move in moves
    ]
    return _update_from_values(
        ("id", "unscheduled", "due_at", "next_at"),
        rows,
        f"UPDATE {table} SET {due} = v.next_at FROM v WHERE {table}.{key} = v.id"  # noqa: S608 (names from _meta)
        f" AND ((v.unscheduled = 1 AND {table}.{due} IS NULL)"
        f" OR (v.unscheduled = 0 AND {table}.{due} = v.due_at))"
        f" RETURNING {table}.{key}",
        [],
    )


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
    nothing else happens in between. On PostgreSQL both are one statement (the record as a
    data-modifying WITH before the claim), so the pair costs one round trip, not four (BEGIN,
    two UPDATEs, COMMIT); SQLite has no UPDATE inside WITH and runs them in a transaction."""
    if after is None:
        return _claim(digest_id, subscriber_id, lease_until)
    if connection.vendor == "postgresql":
        return _claim(digest_id, subscriber_id, lease_until, after=after)
    with transaction.atomic():
        record_sent(after)
        return _claim(digest_id, subscriber_id, lease_until)


def begin_claim(
    digest_id: int, subscriber_id: int, *, lease_until: datetime, after: Sent | None = None
) -> PendingClaim:
    """claim_for_sending, sent now and answered later: on PostgreSQL the statement goes to
    the server at once and `result()` reads its answer, so the caller can do other waiting
    in between (the SMTP envelope of the message the claim is for). Nothing else may use the
    database connection until `result()` has returned. Elsewhere the claim runs here."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return PendingClaim.done(
            lambda: claim_for_sending(
                digest_id, subscriber_id, lease_until=lease_until, after=after
            )
        )
    sql, params = _claim_statement(digest_id, subscriber_id, lease_until, after=after)
    return PendingClaim.sent(sql, params)


class PendingClaim:
    """A claim whose answer has not been read yet (see begin_claim)."""

    def __init__(self) -> None:
        self._answered = False
        self._attempts: int | None = None
        self._error: BaseException | None = None
        self._pgconn = None

    @classmethod
    def done(cls, run) -> PendingClaim:
        claim = cls()
        try:
            claim._attempts = run()
        except Exception as error:  # raised by result(), where the caller expects it
            claim._error = error
        claim._answered = True
        return claim

    @classmethod
    def sent(cls, sql: str, params: list) -> PendingClaim:
        import psycopg  # the PostgreSQL driver, only needed where this runs

        claim = cls()
        connection.ensure_connection()
        raw = connection.connection
        with connection.wrap_database_errors:
            if connection.queries_logged:  # as Django's cursor logs it (DEBUG, tests)
                text = psycopg.ClientCursor(raw).mogrify(sql, params)
                connection.queries_log.append({"sql": text, "time": "0.000"})
            pgconn = raw.pgconn
            # The values travel beside the statement, as text the server types by where they
            # go: no quoting of them into it on the client (a twentieth of a send's CPU).
            pgconn.send_query_params(_numbered(sql), [_text(value) for value in params])
            while pgconn.flush():  # the connection is non-blocking: wait until it is all out
                select.select([], [pgconn.socket], [])
        claim._pgconn = pgconn
        return claim

    def result(self) -> int | None:
        """The digest's attempts counting this one, or None when not claimed (as
        claim_for_sending); raises what the statement raised. May be called again after an
        interruption (a time limit) while waiting: it goes on waiting."""
        if not self._answered:
            self._read()
        if self._error is not None:
            with connection.wrap_database_errors:  # as Django's cursor would raise it
                raise self._error
        return self._attempts

    def _read(self) -> None:
        from psycopg import errors, pq

        pgconn = self._pgconn
        try:
            pgconn.consume_input()
            while pgconn.is_busy():
                select.select([pgconn.socket], [], [])
                pgconn.consume_input()
            results = []
            while (result := pgconn.get_result()) is not None:
                results.append(result)
        except errors.Error as error:  # the connection broke: it answers nothing more
            self._answered, self._error = True, error
            return
        self._answered = True
        statuses = [r.status for r in results]
        if statuses != [pq.ExecStatus.TUPLES_OK]:
            failed = [r for r in results if r.status != pq.ExecStatus.TUPLES_OK]
            self._error = (
                errors.error_from_result(failed[0])
                if failed
                else errors.InterfaceError(f"unexpected answer to a claim: {statuses}")
            )
        elif results[0].ntuples:
            self._attempts = int(results[0].get_value(0, 0))


@functools.lru_cache(maxsize=8)
def _numbered(sql: str) -> bytes:
    """A statement with %s placeholders (and no other %) numbered for the server: $1, $2..."""
    pieces = sql.split("%s")
    numbered = [piece + f"${n}" for n, piece in enumerate(pieces[:-1], start=1)] + pieces[-1:]
    return "".join(numbered).encode()


def _text(value) -> bytes | None:
    """A claim's parameter in PostgreSQL's text form: numbers and strings as written, an aware
    datetime in ISO 8601 (with its offset, as timestamptz reads it), None as NULL."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a claim's times are aware")
        return value.isoformat().encode()
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"a claim parameter of type {type(value).__name__}")
    return str(value).encode()


def _claim(
    digest_id: int, subscriber_id: int, lease_until: datetime, *, after: Sent | None = None
) -> int | None:
    sql, params = _claim_statement(digest_id, subscriber_id, lease_until, after=after)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else row[0]


def _claim_statement(
    digest_id: int, subscriber_id: int, lease_until: datetime, *, after: Sent | None = None
) -> tuple[str, list]:
    params = [
        Digest.Status.SENDING.value,
        _when(lease_until),
        digest_id,
        Digest.Status.BUILT.value,
        *mailable_subscriber_params(subscriber_id),
    ]
    if after is not None:  # PostgreSQL: the record runs whether or not the claim wins a row
        params = [
            Digest.Status.SENT.value,
            _when(after.sent_at),
            after.message_id,
            after.digest_id,
            *params,
        ]
    return _claim_sql(connection.vendor, after is not None), params


@functools.lru_cache(maxsize=8)
def _claim_sql(vendor: str, record_first: bool) -> str:
    """The claim's statement (with the record of the digest sent before it, first), written
    once per process and database (`vendor` keys the names' quoting): only its values vary."""
    mailable = mailable_subscriber_sql()
    status, table = _column("status"), _table()
    sql = (
        f"UPDATE {table} SET {status} = %s,"  # noqa: S608 (names from _meta)
        f" {_column('attempts')} = {_column('attempts')} + 1, {_column('lease_until')} = %s"
        f" WHERE {_column('id')} = %s AND {status} = %s"
        f" AND {mailable}"
        f" RETURNING {_column('attempts')}"
    )
    if record_first:
        record = (
            f"WITH sent AS (UPDATE {table} SET {status} = %s, {_column('sent_at')} = %s,"  # noqa: S608
            f" {_column('message_id')} = %s, {_column('lease_until')} = NULL"
            f" WHERE {_column('id')} = %s) "
        )
        sql = record + sql
    return sql
