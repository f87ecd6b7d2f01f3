"""The server's final answer to a digest is read after the next digest is rendered (the worker
renders while the server stores the message). Whatever that answer says is sorted as if it had
been read at once, nothing else goes on the connection before it, and a time limit that strikes
in between settles the message in flight by its answer instead of leaving it in doubt."""

from __future__ import annotations

import random
import re
from unittest import mock

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.mail import EmailMultiAlternatives

from digest_site.mailing import smtp, wire
from digest_site.mailing.session import MailSession
from digest_site.mailing.smtp import dot_stuffed
from recommender.delivery import sending
from recommender.models import Digest, Suppression
from tests.delivery.test_chunk_batching import dispatched, due, papers  # noqa: F401
from tests.delivery.test_wire import same_boundary
from tests.smtp import SMTPSink


class AnswersAfterContent:
    """An SMTP server's handler that answers a message's content by its recipient (250 unless
    `answers` says otherwise), counts connections and keeps what it accepted, in order."""

    def __init__(self, answers: dict[str, str] | None = None) -> None:
        self.answers = answers or {}
        self.connections = 0
        self.delivered: list[str] = []
        self.contents: list[bytes] = []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope) -> str:
        (to,) = envelope.rcpt_tos
        if to in self.answers:
            return self.answers[to]
        self.delivered.append(to)
        self.contents.append(envelope.content)
        return "250 2.0.0 stored"


@pytest.fixture
def server(settings):
    def start(answers: dict[str, str] | None = None) -> SMTPSink:
        sink = SMTPSink(AnswersAfterContent(answers))
        settings.EMAIL_BACKEND = "digest_site.mailing.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        return sink

    return start


def test_refusals_in_the_final_answer_are_sorted_as_before(due, papers, server):  # noqa: F811
    addresses = due("reader", 5)
    rejected, deferred = addresses[1], addresses[3]

    with server({rejected: "554 5.7.1 content rejected", deferred: "451 4.3.0 try later"}) as sink:
        counts = sending.deliver_chunk(dispatched())

    assert (counts["sent"], counts["failed"], counts["retry"]) == (3, 1, 1)
    assert sink.handler.delivered == [a for a in addresses if a not in (rejected, deferred)]
    assert sink.handler.connections == 1  # a refused message does not cost the session
    failed = Digest.objects.get(subscriber__email=rejected)
    assert failed.status == Digest.Status.FAILED
    assert failed.last_error == "permanent: SMTPDataError: (554, b'5.7.1 content rejected')"
    retried = Digest.objects.get(subscriber__email=deferred)
    assert (retried.status, retried.attempts) == (Digest.Status.BUILT, 1)
    assert "451" in retried.last_error
    # A refused message, not a refused address: nobody is suppressed for it.
    assert not Suppression.objects.exists()
    sent = Digest.objects.filter(status=Digest.Status.SENT)
    assert sorted(sent.values_list("subscriber__email", flat=True)) == sorted(
        sink.handler.delivered
    )


def test_a_421_in_the_final_answer_reconnects_for_the_next_digest(due, papers, server):  # noqa: F811
    addresses = due("reader", 4)
    closing = addresses[1]

    with server({closing: "421 4.3.2 shutting down"}) as sink:
        counts = sending.deliver_chunk(dispatched())

    assert (counts["sent"], counts["retry"]) == (3, 1)
    assert sink.handler.delivered == [a for a in addresses if a != closing]
    assert sink.handler.connections == 2  # the session closed on the 421 and was reopened
    assert Digest.objects.get(subscriber__email=closing).status == Digest.Status.BUILT


def test_a_time_limit_while_rendering_settles_the_message_in_flight_by_its_answer(
    due,  # noqa: F811
    papers,  # noqa: F811
    server,
):
    addresses = due("reader", 5)
    render = sending.digest_message
    rendered: list[str] = []

    def out_of_time_at_the_third(digest, items, subscriber):
        if len(rendered) == 2:
            raise SoftTimeLimitExceeded()
        rendered.append(subscriber.email)
        return render(digest, items, subscriber)

    handed: list[list[int]] = []
    with server() as sink:
        ids = dispatched()
        with (
            mock.patch.object(sending, "digest_message", out_of_time_at_the_third),
            pytest.raises(SoftTimeLimitExceeded),
        ):
            sending.deliver_chunk(ids, enqueue=lambda pks, countdown=None: handed.append(pks))
        # The second digest's content was out when the limit struck; its answer was read.
        assert sink.handler.delivered == addresses[:2]
        statuses = {
            d.subscriber.email: d.status for d in Digest.objects.select_related("subscriber")
        }
        assert [statuses[a] for a in addresses] == ["sent", "sent", "built", "built", "built"]
        assert not Digest.objects.exclude(last_error="").exists()  # nothing "maybe delivered"
        ((requeued),) = handed
        sent_ids = set(Digest.objects.filter(status="sent").values_list("pk", flat=True))
        assert not set(requeued) & sent_ids  # neither settled digest goes round again

        assert sending.deliver_chunk(requeued)["sent"] == 3
    assert sink.handler.delivered == addresses  # each exactly once


def test_the_session_sends_the_content_as_written_and_reads_each_answer_in_turn(server):
    text = "A line.\n.A line that starts with a dot\n..and two\n.\nlast\n"
    messages = [
        EmailMultiAlternatives(
            subject=f"Message {n}",
            body=text,
            from_email="digest@example.org",
            to=[f"r{n}@example.org"],
            headers={"Date": "Tue, 01 Dec 2026 07:01:28 -0000", "Message-ID": f"<{n}@digest>"},
        )
        for n in range(3)
    ]
    for message in messages:
        message.attach_alternative("<p>.dot</p>\n", "text/html")
    with server({"r1@example.org": "550 5.6.0 no"}) as sink, MailSession() as session:
        session.start(messages[0])
        assert session.connection.reply_pending  # the answer is left for finish()
        session.finish()
        session.start(messages[1])
        with pytest.raises(Exception, match="550"):
            session.finish()
        session.start(messages[2])
        session.finish()
        assert not session.connection.reply_pending
        assert session.opened == 1
    assert sink.handler.delivered == ["r0@example.org", "r2@example.org"]
    # The server un-doubles the dots: what it stored is the message's bytes exactly.
    stored = sink.handler.contents[0]
    assert stored == same_boundary(stored, wire.message_bytes(messages[0]))
    assert b"\r\n.A line that starts" in stored


def test_a_claim_lost_while_the_envelope_is_open_sends_nothing(server):
    asked: list[str] = []
    messages = [
        EmailMultiAlternatives(
            subject=f"Message {n}", body="Hi\n", from_email="d@example.org", to=[f"r{n}@x.org"]
        )
        for n in range(3)
    ]

    def answer(value: bool):
        def ready() -> bool:
            asked.append("asked")
            return value

        return ready

    def broken() -> bool:
        raise RuntimeError("the database went away")

    with server() as sink, MailSession() as session:
        assert session.start(messages[0], ready=answer(False)) is False  # lost: reset, not sent
        with pytest.raises(RuntimeError):
            session.start(messages[1], ready=broken)  # the claim failed: reset as well
        assert session.start(messages[2], ready=answer(True)) is True
        session.finish()
        # A lost claim keeps the session; an error it does not know closes it (reopened).
        assert session.opened == 2
    assert asked == ["asked", "asked"]  # asked after the envelope, once per send
    assert sink.handler.delivered == ["r2@x.org"]


def test_dots_are_doubled_at_line_starts_exactly_as_smtplib_reads_lines():
    line_start_dot = re.compile(rb"(?m)^\.")  # smtplib's own rule
    rng = random.Random(5)
    for _ in range(5000):
        content = bytes(rng.choice(b".\r\nab") for _ in range(rng.randint(0, 40)))
        assert dot_stuffed(content) == line_start_dot.sub(b"..", content), content


def test_each_message_is_made_into_bytes_before_the_answer_to_the_one_before(
    due,  # noqa: F811
    papers,  # noqa: F811
    server,
):
    """The next message's bytes (the costliest step of a send after rendering) are written
    while the server stores the message before, not after its answer."""
    addresses = due("reader", 4)
    events: list[str] = []
    make_bytes, finish = wire.message_bytes, smtp.EmailBackend.finish_pending

    def recorded_bytes(message):
        events.append(f"bytes {message.to[0]}")
        return make_bytes(message)

    def recorded_finish(backend):
        if backend.reply_pending:
            events.append("answer")
        return finish(backend)

    with (
        server() as sink,
        mock.patch.object(wire, "message_bytes", recorded_bytes),
        mock.patch.object(smtp.EmailBackend, "finish_pending", recorded_finish),
    ):
        assert sending.deliver_chunk(dispatched())["sent"] == 4
    assert sink.handler.delivered == addresses
    made = [f"bytes {a}" for a in addresses]
    assert events == [made[0], made[1], "answer", made[2], "answer", made[3], "answer", "answer"]
