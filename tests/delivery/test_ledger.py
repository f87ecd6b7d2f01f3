"""The digest ledger: claims come with their row, every open state has an owner and a
timeout, failures are sorted into retry-this-one and give-up-now, and what a chunk could not
finish goes back to the queue. The real-service versions of these faults are in
tests/stack/test_delivery_faults.py."""

from __future__ import annotations

import smtplib
from datetime import UTC, date, datetime, timedelta
from typing import ClassVar
from unittest import mock

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core import mail
from django.utils import timezone

from accounts.models import Subscriber
from recommender.delivery import ledger, outcomes, scheduling, sending
from recommender.models import DeliveryEvent, Digest, Paper, Suppression
from tests.mail_backends import FlakyProvider, Scripted

NOW = datetime(2026, 7, 1, 7, 5, tzinfo=UTC)


class Queue:
    """A stand-in for the task publisher that records what it was handed."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.handed: list[tuple[list[int], float | None]] = []
        self.refuse = refuse

    def __call__(self, ids: list[int], *, countdown: float | None = None) -> None:
        if self.refuse:
            raise ConnectionError("broker unreachable")
        self.handed.append((list(ids), countdown))

    @property
    def ids(self) -> list[int]:
        return sorted(pk for ids, _ in self.handed for pk in ids)


@pytest.fixture(autouse=True)
def _scripts_reset():
    yield
    Scripted.plan.clear()
    FlakyProvider.plan.clear()


@pytest.fixture
def papers(make_paper):
    return [
        make_paper(
            title=f"Robot grasping with tactile sensing {n}",
            abstract="Robot hands grasp objects using tactile sensing.",
            categories=["cs.RO"],
            first_seen=date(2026, 6, 30),
        )
        for n in range(3)
    ]


@pytest.fixture
def due(make_subscriber):
    def make(email: str, *, at: datetime = NOW - timedelta(minutes=5), **profile) -> Subscriber:
        profile = {"send_hour": at.hour, "interests_text": "robot grasping", **profile}
        subscriber = make_subscriber(email, **profile)
        Subscriber.objects.filter(pk=subscriber.pk).update(next_digest_at=at)
        return subscriber

    return make


def dispatched(now: datetime = NOW) -> list[int]:
    queue = Queue()
    scheduling.dispatch_due(now=now, enqueue=queue)
    return queue.ids


def status_of(email: str) -> tuple[str, int]:
    digest = Digest.objects.get(subscriber__email=email)
    return digest.status, digest.attempts


# --- Claims and periods -----------------------------------------------------------------------


def test_it_files_a_digest_under_the_period_it_was_due_for(due, papers):
    # 23:00 in New York on 30 June is 03:00 UTC on 1 July; the worker gets to it at 07:05 UTC.
    due("late@example.com", at=datetime(2026, 7, 1, 3, 0, tzinfo=UTC), timezone="America/New_York")

    counts = sending.deliver_chunk(dispatched())

    assert counts["sent"] == 1
    digest = Digest.objects.get()
    assert (digest.status, digest.period_start) == (Digest.Status.SENT, date(2026, 6, 30))
    assert len(mail.outbox) == 1


def test_a_chunk_the_broker_refuses_stays_in_the_ledger_and_the_rest_stay_due(
    due, papers, settings
):
    settings.DIGEST_CHUNK_SIZE = 2
    readers = [due(f"r{n}@example.com") for n in range(5)]

    assert scheduling.dispatch_due(now=NOW, enqueue=Queue(refuse=True)) == 0

    # The claimed chunk has its rows, with no lease: the next reconciliation re-queues them.
    claimed = Digest.objects.all()
    assert claimed.count() == 2
    assert {(d.status, d.lease_until) for d in claimed} == {(Digest.Status.PENDING, None)}
    # Nobody else was moved on to tomorrow with no one to send to them.
    still_due = Subscriber.objects.filter(next_digest_at=NOW - timedelta(minutes=5))
    assert still_due.count() == 3

    queue = Queue()
    assert scheduling.reconcile(now=NOW, enqueue=queue)["requeued"] == 2
    assert queue.ids == sorted(claimed.values_list("pk", flat=True))
    assert len(dispatched()) == 3
    sending.deliver_chunk(list(Digest.objects.values_list("pk", flat=True)))
    assert sorted(m.to[0] for m in mail.outbox) == sorted(r.email for r in readers)


def test_reconciliation_takes_back_only_what_nobody_holds(make_subscriber, papers):
    def row(email: str, status: str, lease: timedelta | None) -> int:
        subscriber = make_subscriber(email)
        return Digest.objects.create(
            subscriber=subscriber,
            period_start=date(2026, 7, 1),
            status=status,
            due_at=NOW - timedelta(hours=1),
            lease_until=NOW + lease if lease is not None else None,
        ).pk

    held = [
        row("queued@example.com", "pending", timedelta(minutes=3)),
        row("sending@example.com", "sending", timedelta(minutes=3)),
        row("retry-later@example.com", "built", timedelta(minutes=3)),
    ]
    silent = [
        row("lost-message@example.com", "pending", timedelta(minutes=-1)),
        row("unleased@example.com", "built", None),
        row("died-sending@example.com", "sending", timedelta(seconds=-1)),
    ]
    row("done@example.com", "sent", None)
    queue = Queue()

    counts = scheduling.reconcile(now=NOW, enqueue=queue)

    assert (counts["reclaimed"], counts["requeued"]) == (1, 3)
    assert queue.ids == sorted(silent)
    assert Digest.objects.get(pk=silent[2]).status == Digest.Status.BUILT
    assert "lease expired" in Digest.objects.get(pk=silent[2]).last_error
    assert {Digest.objects.get(pk=pk).lease_until for pk in held} == {NOW + timedelta(minutes=3)}
    # Re-queued ones are leased again, so the next run leaves them to the queue.
    assert scheduling.reconcile(now=NOW, enqueue=queue)["requeued"] == 0


def test_an_empty_period_is_built_again_when_papers_arrive_within_the_send_window(
    due, make_paper, settings
):
    now = timezone.now()
    due("early@example.com", at=now - timedelta(minutes=5))
    sending.deliver_chunk(dispatched(now))
    assert Digest.objects.get().skip_reason == Digest.SkipReason.EMPTY
    assert mail.outbox == []

    make_paper(title="Robot grasping at last", abstract="Robot grasping.", categories=["cs.RO"])
    queue = Queue()
    assert scheduling.reconcile(now=timezone.now(), enqueue=queue)["empty_retried"] == 1
    sending.deliver_chunk(queue.ids)

    digest = Digest.objects.get()
    assert (digest.status, digest.skip_reason) == (Digest.Status.SENT, "")
    assert "Robot grasping at last" in mail.outbox[0].body


def test_an_empty_period_is_final_once_its_send_window_closed(due, make_paper, settings):
    now = timezone.now()
    due("early@example.com", at=now - timedelta(hours=settings.DIGEST_SEND_WINDOW_HOURS + 1))
    sending.deliver_chunk(dispatched(now))
    make_paper(title="Too late", abstract="Robot grasping.", categories=["cs.RO"])

    assert scheduling.reconcile(now=timezone.now(), enqueue=Queue())["empty_retried"] == 0
    assert Digest.objects.get().status == Digest.Status.SKIPPED


def test_it_gives_up_on_open_digests_long_past_their_send_time(make_subscriber, settings):
    digest = Digest.objects.create(
        subscriber=make_subscriber(),
        period_start=date(2026, 6, 28),
        status=Digest.Status.BUILT,
        due_at=NOW - timedelta(hours=settings.DIGEST_GIVE_UP_AFTER_HOURS + 1),
    )
    queue = Queue()

    assert scheduling.reconcile(now=NOW, enqueue=queue)["given_up"] == 1

    digest.refresh_from_db()
    assert digest.status == Digest.Status.FAILED
    assert "given up" in digest.last_error
    assert queue.handed == []


# --- Transient and permanent failures -----------------------------------------------------------


def test_a_550_fails_that_digest_at_once_and_suppresses_the_address(due, papers, settings):
    settings.EMAIL_BACKEND = "tests.mail_backends.Scripted"
    Scripted.plan["gone@example.com"] = [
        smtplib.SMTPRecipientsRefused({"gone@example.com": (550, b"5.1.1 no such mailbox")})
    ]
    due("gone@example.com")
    due("fine@example.com")
    queue = Queue()

    counts = sending.deliver_chunk(dispatched(), enqueue=queue)

    assert (counts["sent"], counts["failed"], counts["retry"]) == (1, 1, 0)
    assert status_of("gone@example.com") == (Digest.Status.FAILED, 1)
    assert Suppression.objects.get().email == "gone@example.com"
    assert Subscriber.objects.get(email="gone@example.com").status == "suppressed"
    assert queue.handed == []  # nothing to retry
    assert [m.to[0] for m in mail.outbox] == ["fine@example.com"]


def test_a_451_is_retried_alone_after_a_back_off_and_then_sent(due, papers, settings):
    settings.EMAIL_BACKEND = "tests.mail_backends.Scripted"
    Scripted.plan["grey@example.com"] = [
        smtplib.SMTPRecipientsRefused({"grey@example.com": (451, b"4.7.1 greylisted")})
    ]
    due("grey@example.com")
    due("fine@example.com")
    queue = Queue()

    counts = sending.deliver_chunk(dispatched(), enqueue=queue)

    assert (counts["sent"], counts["retry"]) == (1, 1)
    grey = Digest.objects.get(subscriber__email="grey@example.com")
    ((ids, countdown),) = queue.handed
    assert ids == [grey.pk]
    base = settings.DIGEST_RETRY_BASE_SECONDS
    assert base / 2 - 1 <= countdown <= base
    assert not Suppression.objects.exists()

    assert sending.deliver_chunk(ids, enqueue=queue)["sent"] == 1
    assert status_of("grey@example.com") == (Digest.Status.SENT, 2)
    assert sorted(m.to[0] for m in mail.outbox) == ["fine@example.com", "grey@example.com"]


def test_provider_rate_limits_and_outages_are_retried_and_a_refusal_suppresses(
    due, papers, settings
):
    settings.EMAIL_BACKEND = "tests.mail_backends.FlakyProvider"
    FlakyProvider.plan.update(
        {
            "limited@example.com": ["429"],
            "outage@example.com": ["503", "500"],
            "refused@example.com": ["rejected"],
        }
    )
    for name in ("limited", "outage", "refused", "fine"):
        due(f"{name}@example.com")
    queue = Queue()

    first = sending.deliver_chunk(dispatched(), enqueue=queue)
    assert (first["sent"], first["retry"], first["failed"]) == (1, 2, 1)
    second = sending.deliver_chunk(queue.ids, enqueue=queue)
    queue.handed = queue.handed[2:]
    third = sending.deliver_chunk(queue.ids, enqueue=queue)

    assert (second["sent"], second["retry"], third["sent"]) == (1, 1, 1)
    assert status_of("limited@example.com") == (Digest.Status.SENT, 2)
    assert status_of("outage@example.com") == (Digest.Status.SENT, 3)
    assert status_of("refused@example.com") == (Digest.Status.FAILED, 1)
    assert list(Suppression.objects.values_list("email", flat=True)) == ["refused@example.com"]
    delivered = sorted(m.to[0] for m in mail.outbox)
    assert delivered == ["fine@example.com", "limited@example.com", "outage@example.com"]
    failures = DeliveryEvent.objects.filter(kind="failed")
    assert sorted(failures.values_list("permanent", flat=True)) == [False, False, False, True]


def test_a_provider_error_about_our_request_fails_without_suppressing(due, papers, settings):
    settings.EMAIL_BACKEND = "tests.mail_backends.FlakyProvider"
    FlakyProvider.plan["reader@example.com"] = ["401"]
    due("reader@example.com")

    assert sending.deliver_chunk(dispatched())["failed"] == 1

    assert status_of("reader@example.com") == (Digest.Status.FAILED, 1)
    assert not Suppression.objects.exists()


def test_it_gives_up_after_the_last_attempt(due, papers, settings):
    settings.EMAIL_BACKEND = "tests.mail_backends.Scripted"
    settings.DIGEST_MAX_ATTEMPTS = 3
    Scripted.plan["down@example.com"] = [ConnectionRefusedError("refused")] * 3
    due("down@example.com")
    queue = Queue()

    outcomes = [sending.deliver_chunk(dispatched(), enqueue=queue)]
    for _ in range(2):
        outcomes.append(sending.deliver_chunk(queue.handed.pop()[0], enqueue=queue))

    assert [(o["retry"], o["failed"]) for o in outcomes] == [(1, 0), (1, 0), (0, 1)]
    digest = Digest.objects.get()
    assert (digest.status, digest.attempts) == (Digest.Status.FAILED, 3)
    assert digest.last_error.startswith("gave up after 3 attempts")
    assert queue.handed == []


def test_backoff_doubles_from_the_base_with_jitter_and_is_capped(settings):
    settings.DIGEST_RETRY_BASE_SECONDS = 10
    settings.DIGEST_RETRY_MAX_SECONDS = 100
    for attempts, full in ((1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (9, 100)):
        delays = {outcomes.backoff_seconds(attempts) for _ in range(50)}
        assert all(full / 2 <= d <= full for d in delays)
        assert len(delays) > 1  # jittered


# --- While a chunk runs -----------------------------------------------------------------------


def test_a_suppression_that_lands_mid_chunk_stops_that_email(due, papers, settings):
    settings.EMAIL_BACKEND = "tests.mail_backends.Scripted"

    def complaint_arrives():  # as the provider's webhook would, between two sends
        Suppression.objects.create(email="second@example.com", reason="complaint")

    Scripted.plan["first@example.com"] = [complaint_arrives]
    due("first@example.com")
    due("second@example.com")

    counts = sending.deliver_chunk(dispatched())

    assert (counts["sent"], counts["skipped"]) == (1, 1)
    assert [m.to[0] for m in mail.outbox] == ["first@example.com"]
    second = Digest.objects.get(subscriber__email="second@example.com")
    assert (second.status, second.skip_reason) == ("skipped", "suppressed")


def test_the_soft_time_limit_stops_the_chunk_and_requeues_the_rest(due, papers, settings):
    settings.EMAIL_BACKEND = "tests.mail_backends.Scripted"
    Scripted.plan["r1@example.com"] = [SoftTimeLimitExceeded()]
    for n in range(4):
        due(f"r{n}@example.com")
    queue = Queue()
    ids = dispatched()

    with pytest.raises(SoftTimeLimitExceeded):  # propagated, never swallowed
        sending.deliver_chunk(ids, enqueue=queue)

    assert [m.to[0] for m in mail.outbox] == ["r0@example.com"]
    assert status_of("r1@example.com") == (Digest.Status.BUILT, 0)
    # Cut off before the server had it (Scripted raises before sending): no note.
    assert Digest.objects.get(subscriber__email="r1@example.com").last_error == ""
    rest = Digest.objects.exclude(subscriber__email="r0@example.com")
    ((requeued, countdown),) = queue.handed
    assert (sorted(requeued), countdown) == (sorted(rest.values_list("pk", flat=True)), None)

    assert sending.deliver_chunk(requeued, enqueue=queue)["sent"] == 3
    assert sorted(m.to[0] for m in mail.outbox) == [f"r{n}@example.com" for n in range(4)]


def test_the_soft_time_limit_leaves_the_rest_to_reconciliation_if_the_broker_is_down(
    due, papers, settings
):
    settings.EMAIL_BACKEND = "tests.mail_backends.Scripted"
    Scripted.plan["r0@example.com"] = [SoftTimeLimitExceeded()]
    for n in range(3):
        due(f"r{n}@example.com")

    with pytest.raises(SoftTimeLimitExceeded):
        sending.deliver_chunk(dispatched(), enqueue=Queue(refuse=True))

    assert set(Digest.objects.values_list("lease_until", flat=True)) == {None}
    queue = Queue()
    assert scheduling.reconcile(now=NOW, enqueue=queue)["requeued"] == 3


def test_papers_arriving_later_do_not_change_a_sent_period(due, papers, make_paper):
    due("reader@example.com")
    sending.deliver_chunk(dispatched())
    make_paper(title="Robot grasping, later", abstract="Robot grasping.", categories=["cs.RO"])

    assert scheduling.reconcile(now=timezone.now(), enqueue=Queue())["empty_retried"] == 0
    assert Paper.objects.count() == 4
    assert len(mail.outbox) == 1


class ProcessKilled(BaseException):
    """Stands in for a SIGKILL: nothing in the sender catches it."""


def test_the_at_least_once_window_is_a_send_the_server_took_but_the_ledger_never_recorded(
    due, papers, settings
):
    settings.EMAIL_BACKEND = "tests.mail_backends.Scripted"
    due("reader@example.com")
    ids = dispatched()
    real_send = Scripted.send_messages

    def accepted_then_killed(self, messages):
        real_send(self, messages)  # the server has it...
        raise ProcessKilled  # ...and the process dies before the ledger says so

    with (
        mock.patch.object(Scripted, "send_messages", accepted_then_killed),
        pytest.raises(ProcessKilled),
    ):
        sending.deliver_chunk(ids)
    assert status_of("reader@example.com") == (Digest.Status.SENDING, 1)

    # Nothing happens while the sending lease lasts; after it, the send is taken back.
    assert scheduling.reconcile(now=timezone.now(), enqueue=Queue())["reclaimed"] == 0
    later = timezone.now() + timedelta(seconds=settings.DIGEST_SENDING_LEASE_SECONDS + 1)
    queue = Queue()
    assert scheduling.reconcile(now=later, enqueue=queue)["reclaimed"] == 1
    sending.deliver_chunk(queue.ids)

    digest = Digest.objects.get()
    assert (digest.status, digest.attempts) == (Digest.Status.SENT, 2)
    assert "send lease expired" in digest.last_error  # the ledger marks the window
    assert [m.to[0] for m in mail.outbox] == ["reader@example.com"] * 2  # the documented copy


class CutOffWhileReceiving(Scripted):
    """The time limit strikes r1's send after its DATA command went out, as the SMTP backend
    reports it (content_sent)."""

    cut: ClassVar[set[str]] = set()

    def send_messages(self, messages):
        self.content_sent = False
        to = messages[0].to[0]
        if to == "r1@example.com" and to not in self.cut:
            self.cut.add(to)
            self.content_sent = True
            raise SoftTimeLimitExceeded()
        return super().send_messages(messages)


def test_a_send_cut_off_while_the_server_was_receiving_it_is_noted_as_maybe_delivered(
    due, papers, settings
):
    settings.EMAIL_BACKEND = "tests.delivery.test_ledger.CutOffWhileReceiving"
    CutOffWhileReceiving.cut = set()
    for n in range(3):
        due(f"r{n}@example.com")
    queue = Queue()

    with pytest.raises(SoftTimeLimitExceeded):
        sending.deliver_chunk(dispatched(), enqueue=queue)

    cut = Digest.objects.get(subscriber__email="r1@example.com")
    assert (cut.status, cut.attempts) == (Digest.Status.BUILT, 0)
    assert cut.last_error == sending.MAYBE_DELIVERED
    ((requeued, _countdown),) = queue.handed
    assert sending.deliver_chunk(requeued, enqueue=queue)["sent"] == 2
    # Sent again (at least once), and the ledger still shows it may have gone twice.
    cut.refresh_from_db()
    assert (cut.status, cut.last_error) == (Digest.Status.SENT, sending.MAYBE_DELIVERED)


def test_a_claim_sent_beside_its_values_numbers_its_placeholders_and_writes_them_as_text():
    """PendingClaim.sent hands the server the statement and its values apart (no quoting on
    the client): placeholders become $1, $2...; values their text form, None a NULL."""
    assert ledger._numbered("UPDATE t SET a = %s WHERE b = %s AND c") == (
        b"UPDATE t SET a = $1 WHERE b = $2 AND c"
    )
    moment = datetime(2026, 7, 2, 7, 30, 5, 120, tzinfo=UTC)
    assert [ledger._text(v) for v in (12, "sending", moment, None)] == [
        b"12",
        b"sending",
        b"2026-07-02T07:30:05.000120+00:00",
        None,
    ]
    with pytest.raises(ValueError, match="aware"):
        ledger._text(datetime(2026, 7, 2))
    with pytest.raises(TypeError):
        ledger._text(1.5)
