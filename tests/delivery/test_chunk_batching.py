"""A chunk of digests is batched: its profile inputs, digests and items cost a constant number
of queries whatever its size, and its emails share one SMTP connection, which a recipient the
server refuses does not cost the others."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Subscriber
from recommender.delivery import scheduling, sending
from recommender.models import Digest, FeedbackEvent, Suppression
from tests.smtp import SMTPSink

NOW = datetime(2026, 7, 1, 7, 5, tzinfo=UTC)


class CountingHandler:
    """An SMTP server's handler that counts connections (one EHLO each), refuses the
    addresses in `refuse` at RCPT with a 550 and keeps who received what."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.refuse = refuse or set()
        self.connections = 0
        self.delivered: list[str] = []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.delivered.extend(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


@pytest.fixture
def papers(make_paper):
    return [
        make_paper(
            title=f"Robot grasping with tactile sensing {n}",
            abstract="Robot hands grasp objects using tactile sensing and learned policies.",
            categories=["cs.RO"],
            first_seen=date(2026, 6, 30),
        )
        for n in range(4)
    ]


@pytest.fixture
def due(make_subscriber, papers):
    """`count` due subscribers named `prefix`-n, each with a seed paper and a feedback event,
    so that every input of a profile is read for each of them."""

    def make(prefix: str, count: int) -> list[str]:
        addresses = []
        for n in range(count):
            email = f"{prefix}-{n}@example.com"
            subscriber = make_subscriber(
                email, send_hour=NOW.hour, interests_text="robot grasping", keywords=["tactile"]
            )
            subscriber.profile.seed_papers.set([papers[n % 2]])
            FeedbackEvent.objects.create(subscriber=subscriber, paper=papers[2], kind="up")
            Subscriber.objects.filter(pk=subscriber.pk).update(
                next_digest_at=NOW - timedelta(minutes=5)
            )
            addresses.append(email)
        return addresses

    return make


def dispatched() -> list[int]:
    handed: list[int] = []
    scheduling.dispatch_due(now=NOW, enqueue=lambda ids, countdown=None: handed.extend(ids))
    return handed


def ledger_step(sql: str) -> str | None:
    """The ledger writes each digest needs for the exactly-once guarantee: its claim (with
    the may-we-mail check) right before the send and its SENT status after it, and the
    transaction that joins one digest's SENT to the next one's claim (a savepoint here, as
    the test runs inside a transaction; BEGIN/COMMIT in production)."""
    if "RETURNING" in sql and "attempts" in sql:
        return "claim"
    if "'sent'" in sql and "UPDATE" in sql and "message_id" in sql:
        return "sent"
    if sql.startswith("SAVEPOINT"):
        return "begin"
    if sql.startswith("RELEASE SAVEPOINT"):
        return "commit"
    return None


def test_a_chunk_costs_the_same_queries_whatever_its_size_and_one_commit_per_digest(
    due, installed_model
):
    due("warm", 1)
    sending.deliver_chunk(dispatched())  # model, candidates and caches loaded once
    counted = {}
    for size in (3, 12):
        due(f"size{size}", size)
        ids = dispatched()
        with CaptureQueriesContext(connection) as queries:
            counts = sending.deliver_chunk(ids)
        assert counts["sent"] == size
        counted[size] = [q["sql"] for q in queries.captured_queries]

    steps = {size: [ledger_step(sql) for sql in sqls] for size, sqls in counted.items()}
    others = {size: steps[size].count(None) for size in steps}
    assert others[3] == others[12]
    for size in (3, 12):
        # Each SENT is written in one transaction with the next claim, the last one alone:
        # a claim is never committed apart from the send before it was recorded.
        ledger = [step for step in steps[size] if step is not None]
        ledger = ledger[ledger.index("claim") :]  # (before it: storing the built digests)
        assert ledger == ["claim"] + ["begin", "sent", "claim", "commit"] * (size - 1) + ["sent"]
    assert Digest.objects.filter(status="sent").count() == 16


@pytest.fixture
def smtp_sink(settings):
    def start(refuse: set[str] | None = None) -> SMTPSink:
        sink = SMTPSink(CountingHandler(refuse))
        settings.EMAIL_BACKEND = "digest_site.mailing.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        return sink

    return start


def test_a_chunk_is_sent_over_one_smtp_connection(due, papers, smtp_sink):
    addresses = due("reader", 5)

    with smtp_sink() as sink:
        counts = sending.deliver_chunk(dispatched())

    assert counts["sent"] == 5
    assert sorted(sink.handler.delivered) == sorted(addresses)
    assert sink.handler.connections == 1


def test_a_refused_recipient_mid_chunk_is_suppressed_and_the_rest_still_go_out(
    due, papers, smtp_sink
):
    addresses = due("reader", 5)
    gone = addresses[2]

    with smtp_sink(refuse={gone}) as sink:
        counts = sending.deliver_chunk(dispatched())

    assert (counts["sent"], counts["failed"]) == (4, 1)
    assert sorted(sink.handler.delivered) == sorted(a for a in addresses if a != gone)
    assert sink.handler.connections == 1  # the refusal did not cost the session
    assert Digest.objects.get(subscriber__email=gone).status == Digest.Status.FAILED
    assert list(Suppression.objects.values_list("email", flat=True)) == [gone]
