"""The ledger's bulk statements exercised on whatever database Django is connected to: run
in-process on SQLite by tests/delivery/test_ledger_statements.py and in a subprocess on
PostgreSQL by tests/stack/test_ledger_postgres.py (the SQL differs in what each accepts)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Subscriber
from recommender.delivery import ledger
from recommender.models import Digest, DigestItem, Paper

DUE = datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
NEXT = datetime(2026, 7, 2, 7, 0, tzinfo=UTC)


def exercise() -> dict:
    """Each case's outcome, as plain data for the caller to assert on."""
    now = timezone.now()

    def reader(name: str, due: datetime | None) -> Subscriber:
        return Subscriber.objects.create(
            email=f"{name}@example.org",
            status=Subscriber.Status.ACTIVE,
            confirmed_at=now,
            consent_at=now,
            consent_source="test",
            next_digest_at=due,
        )

    due, unscheduled, moved_on = reader("due", DUE), reader("new", None), reader("moved", NEXT)
    lone = reader("lone", None)
    out = {}
    with transaction.atomic():
        moves = [
            ledger.Move(due.pk, DUE, NEXT),
            ledger.Move(unscheduled.pk, None, NEXT),
            ledger.Move(moved_on.pk, DUE, NEXT),  # another dispatcher moved it already
        ]
        out["moved"] = sorted(ledger.move_due(moves)) == sorted([due.pk, unscheduled.pk])
        out["again"] = sorted(ledger.move_due(moves))  # nothing left to win
        # A chunk of never-scheduled readers only (no due time in the whole list).
        out["lone"] = sorted(ledger.move_due([ledger.Move(lone.pk, None, NEXT)])) == [lone.pk]
    out["next"] = sorted({str(s.next_digest_at) for s in Subscriber.objects.all()})

    pending = Digest.objects.create(
        subscriber=due, period_start=date(2026, 7, 1), status=Digest.Status.PENDING
    )
    taken = Digest.objects.create(
        subscriber=unscheduled, period_start=date(2026, 7, 1), status=Digest.Status.BUILT
    )
    with transaction.atomic():
        stored = ledger.store_built(
            [
                ledger.Built(pending.pk, "built", "", "model-v1", "a note & 'quotes'"),
                ledger.Built(taken.pk, "skipped", "empty", "model-v1", "ignored"),
            ],
            built_at=NEXT,
        )
    out["stored"] = sorted(stored) == [pending.pk]
    pending.refresh_from_db()
    taken.refresh_from_db()
    out["pending_row"] = [
        pending.status,
        pending.ranker,
        pending.note,
        str(pending.built_at),
    ]
    out["taken_row"] = [taken.status, taken.skip_reason, taken.note]
    out["empty"] = sorted(ledger.store_built([], built_at=NEXT)) + sorted(ledger.move_due([]))

    # A claim that records the digest sent before it: both happen, in one statement on
    # PostgreSQL; the record stands when the claim wins nothing.
    sending = Digest.objects.create(
        subscriber=moved_on, period_start=date(2026, 7, 1), status=Digest.Status.SENDING
    )
    later = Digest.objects.create(
        subscriber=lone, period_start=date(2026, 7, 1), status=Digest.Status.BUILT
    )
    lease = datetime(2026, 7, 1, 7, 30, tzinfo=UTC)
    with CaptureQueriesContext(connection) as queries:
        won = ledger.claim_for_sending(
            later.pk, lone.pk, lease_until=lease, after=ledger.Sent(sending.pk, NEXT, "<m1@x>")
        )
    out["claim_statements"] = len(queries.captured_queries)
    lost = ledger.claim_for_sending(  # no longer BUILT: the claim wins nothing
        sending.pk, moved_on.pk, lease_until=lease, after=ledger.Sent(later.pk, NEXT, "<m2@x>")
    )
    out["claimed"] = [won, lost]
    out["claim_rows"] = [
        [d.status, d.attempts, d.message_id, str(d.sent_at), str(d.lease_until)]
        for d in Digest.objects.filter(pk__in=[sending.pk, later.pk]).order_by("pk")
    ]

    # A chunk's items inserted at once, their ids set; reasons with what an array quotes.
    papers = [
        Paper.objects.create(
            arxiv_id=f"2607.0000{n}", title=f"P{n}", abstract="A.", first_seen=date(2026, 7, 1)
        )
        for n in range(3)
    ]
    reasons = ['matches your words: "video", {long} clips', "", "NULL, \\ back\\slash; é ✓"]
    items = [
        DigestItem(digest=digest, paper=paper, rank=rank, score=0.25 * rank, reason=reason)
        for digest in (pending, later)
        for rank, (paper, reason) in enumerate(zip(papers, reasons, strict=True), start=1)
    ]
    ledger.insert_items(items)
    stored = {i.pk: i for i in DigestItem.objects.filter(digest__in=[pending, later])}
    out["items_ids_set"] = all(i.pk in stored for i in items) and len(stored) == len(items)
    out["items_match"] = all(
        (stored[i.pk].digest_id, stored[i.pk].paper_id, stored[i.pk].rank, stored[i.pk].reason)
        == (i.digest_id, i.paper_id, i.rank, i.reason)
        and stored[i.pk].score == i.score
        for i in items
    )
    out["items_saved"] = all(not i._state.adding for i in items)
    return out


EXPECTED = {
    "moved": True,
    "again": [],
    "lone": True,
    "next": [str(NEXT)],
    "stored": True,
    "pending_row": ["built", "model-v1", "a note & 'quotes'", str(NEXT)],
    "taken_row": ["built", "", ""],
    "empty": [],
    "claimed": [1, None],
    "claim_rows": [
        ["sent", 0, "<m1@x>", str(NEXT), "None"],
        ["sent", 1, "<m2@x>", str(NEXT), "None"],
    ],
}
EXPECTED.update(items_ids_set=True, items_match=True, items_saved=True)

# Statements a claim with the record before it costs: on SQLite two UPDATEs in a transaction
# (inside the test's own transaction: a savepoint, the two UPDATEs and its release), on
# PostgreSQL one, in autocommit as the worker runs it.
CLAIM_STATEMENTS = {"sqlite": 4, "postgresql": 1}


def exercise_pending() -> dict:
    """begin_claim on PostgreSQL, outside any transaction as the worker runs it: the claim is
    sent at once and answered later, with its record before it; an error in it is raised by
    result() as Django raises database errors, and leaves the connection usable."""
    from django.db import DatabaseError

    now = timezone.now()
    reader = Subscriber.objects.create(
        email="pending@example.org",
        status=Subscriber.Status.ACTIVE,
        confirmed_at=now,
        consent_at=now,
        consent_source="test",
    )
    sent = Digest.objects.create(
        subscriber=reader, period_start=date(2026, 7, 1), status=Digest.Status.SENDING
    )
    built = Digest.objects.create(
        subscriber=reader, period_start=date(2026, 7, 2), status=Digest.Status.BUILT
    )
    lease = datetime(2026, 7, 2, 7, 30, tzinfo=UTC)
    with CaptureQueriesContext(connection) as queries:
        pending = ledger.begin_claim(
            built.pk, reader.pk, lease_until=lease, after=ledger.Sent(sent.pk, NEXT, "<p1@x>")
        )
        answered_before = pending._answered  # sent, not waited for
        attempts = [pending.result(), pending.result()]  # read once, then remembered
    rows = [
        [d.status, d.attempts, d.message_id]
        for d in Digest.objects.filter(pk__in=[sent.pk, built.pk]).order_by("pk")
    ]
    again = ledger.begin_claim(built.pk, reader.pk, lease_until=lease).result()  # lost
    broken = ledger.begin_claim(  # a message id longer than its column: the statement fails
        built.pk, reader.pk, lease_until=lease, after=ledger.Sent(sent.pk, NEXT, "x" * 400)
    )
    try:
        broken.result()
        error = ""
    except DatabaseError as failed:
        error = type(failed).__name__
    return {
        "answered_before": answered_before,
        "attempts": attempts,
        "logged": len(queries.captured_queries),
        "rows": rows,
        "again": again,
        "error": error,
        "usable_after": Digest.objects.filter(pk=built.pk).values_list("status", flat=True)[0],
    }


EXPECTED_PENDING = {
    "answered_before": False,
    "attempts": [1, 1],
    "logged": 1,
    "rows": [["sent", 0, "<p1@x>"], ["sending", 1, ""]],
    "again": None,
    "error": "DataError",
    "usable_after": "sending",
}
