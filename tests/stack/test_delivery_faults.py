"""Delivery under fault, on the real services: PostgreSQL, a Redis of the test's own (or the
machine's RabbitMQ), Celery worker and beat started with the compose file's commands, and an
SMTP sink that misbehaves on command (tests/stack/faults.py).

Every test asserts on two things: what arrived at the sink (each due subscriber exactly once)
and what the ledger says (every digest SENT, or FAILED/suppressed where the fault says so).
The one duplicate allowed is the documented at-least-once window: a digest whose send was cut
off after the server took the message but before the ledger recorded it; the ledger marks such
a digest ("send lease expired"), and a test allows a second copy only for a digest so marked.

Leases and the reconciliation period are seconds here (minutes in production) so the faults
resolve quickly; the guard timeouts only keep a broken run from hanging.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services import (
    compose_command,
    fresh_postgres_database,
    manage,
    port_open,
    production_env,
    run_sql,
    start,
    stop,
)
from tests.stack.faults import (
    FaultySMTPServer,
    OwnRedis,
    Worker,
    ensure_rabbitmq,
    wait_until,
)

pytestmark = pytest.mark.integration

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
FINAL = ("sent", "failed", "skipped")


@dataclass
class Stack:
    env: dict[str, str]
    smtp: FaultySMTPServer
    redis: OwnRedis
    tmp: Path
    database_url: str

    def seed(self, prefix: str, count: int) -> list[str]:
        code = f"from tests.stack import seed; seed.due({prefix!r}, {count})"
        manage(self.env, "shell", "-c", code)
        return [f"{prefix}-{n}@example.com" for n in range(count)]

    def worker(self, name: str, **overrides: str) -> Worker:
        env = {**self.env, **overrides}
        return Worker(compose_command("worker"), env, self.tmp / f"{name}.log").start()

    @contextlib.contextmanager
    def beat(self, name: str, **overrides: str) -> Iterator[subprocess.Popen]:
        schedule = str(self.tmp / f"{name}-schedule")
        command = compose_command("beat", **{"/var/lib/digest/celerybeat-schedule": schedule})
        process = start(command, {**self.env, **overrides}, self.tmp / f"{name}.log")
        try:
            yield process
        finally:
            stop(process)

    def ledger(self, prefix: str) -> dict[str, tuple[str, int, str]]:
        rows = run_sql(
            self.database_url,
            "SELECT s.email, d.status, d.attempts, d.last_error FROM recommender_digest d"
            " JOIN accounts_subscriber s ON s.id = d.subscriber_id"
            f" WHERE s.email LIKE '{prefix}-%'",
        )
        return {email: (status, attempts, error) for email, status, attempts, error in rows}

    def wait_final(self, prefix: str, count: int) -> dict[str, tuple[str, int, str]]:
        def done() -> bool:
            ledger = self.ledger(prefix)
            return len(ledger) == count and all(s in FINAL for s, _, _ in ledger.values())

        wait_until(done, what=f"every digest of {prefix} in a final state")
        return self.ledger(prefix)

    def suppressed(self) -> set[str]:
        rows = run_sql(self.database_url, "SELECT email FROM recommender_suppression")
        return {email for (email,) in rows}

    def sent(self, addresses: list[str]) -> int:
        return sum(self.delivered(addresses).values())

    def delivered(self, addresses: list[str]) -> dict[str, int]:
        counts = self.smtp.delivered()
        return {address: counts[address] for address in addresses}


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("delivery-faults")
    with (
        fresh_postgres_database() as database_url,
        FaultySMTPServer() as smtp,
        OwnRedis(tmp / "redis") as redis,
    ):
        env = production_env(
            tmp,
            DJANGO_SECRET_KEY="fault-injection-secret-key-" + "x" * 40,
            DATABASE_URL=database_url,
            REDIS_URL=redis.url,
            EMAIL_PROVIDER="smtp",
            EMAIL_URL=smtp.url,
            EMAIL_TIMEOUT="10",
            DIGEST_CHUNK_SIZE="10",
            DIGEST_DISPATCH_EVERY_SECONDS="1",
            DIGEST_RECONCILE_EVERY_SECONDS="1",
            DIGEST_LEASE_SECONDS="4",
            DIGEST_SENDING_LEASE_SECONDS="4",
            DIGEST_RETRY_BASE_SECONDS="1",
            DIGEST_RETRY_MAX_SECONDS="2",
            CELERY_PUBLISH_MAX_RETRIES="1",
        )
        manage(env, "migrate", "--noinput")
        manage(env, "shell", "-c", "from tests.stack import seed; seed.papers()")
        yield Stack(env, smtp, redis, tmp, database_url)


@pytest.fixture
def sink(stack):
    """The SMTP sink back to well-behaved after each test."""
    yield stack.smtp
    stack.smtp.stall_recipients(0)
    stack.smtp.slow_down(0)
    with stack.smtp.handler.lock:
        stack.smtp.handler.replies.clear()
        stack.smtp.handler.permanent.clear()


def report(fault: str, stack: Stack, addresses: list[str], ledger: dict) -> None:
    """One line per fault for the record (shown with `pytest -rP`): copies per address at the
    sink, digests per ledger status, and how many sends the ledger took back mid-way."""
    copies = Counter(stack.delivered(addresses).values())
    statuses = Counter(status for status, _, _ in ledger.values())
    reclaimed = sum("lease expired" in error for _, _, error in ledger.values())
    retried = sum(attempts > 1 for _, attempts, _ in ledger.values())
    print(
        f"FAULT {fault}: {len(addresses)} due; sink copies {dict(sorted(copies.items()))}; "
        f"ledger {dict(statuses)}; sends taken back {reclaimed}; retried {retried}"
    )


def assert_once_each(stack: Stack, addresses: list[str], ledger: dict) -> None:
    """Every address got its digest, once; a second copy only where the ledger shows the
    at-least-once window (a send cut off mid-way, taken back when its lease expired)."""
    delivered = stack.delivered(addresses)
    assert all(n >= 1 for n in delivered.values()), delivered
    twice = {a for a, n in delivered.items() if n > 1}
    assert all(n <= 2 for n in delivered.values()), delivered
    window = ("lease expired", "may have been delivered")
    assert all(any(w in ledger[a][2] for w in window) or ledger[a][1] > 1 for a in twice), twice
    assert {status for status, _, _ in ledger.values()} == {"sent"}, ledger


def test_a_pool_process_killed_mid_chunk_loses_and_repeats_nothing(stack, sink):
    addresses = stack.seed("child", 40)
    sink.stall_recipients(0.1)
    worker = stack.worker("child-worker")
    try:
        with stack.beat("child-beat"):
            wait_until(lambda: stack.sent(addresses) >= 4, what="the first chunk under way")
            victim = worker.kill_child()
            ledger = stack.wait_final("child", 40)
    finally:
        worker.stop()

    report("pool process SIGKILL mid-chunk", stack, addresses, ledger)
    assert_once_each(stack, addresses, ledger)
    log = worker.log_text()
    assert f"pid:{victim} exited with 'signal 9 (SIGKILL)'" in log
    # It was running a chunk: the task it held was lost with it and put back.
    assert "WorkerLostError('Worker exited prematurely: signal 9 (SIGKILL)" in log


def test_the_whole_worker_killed_and_restarted_loses_and_repeats_nothing(stack, sink):
    addresses = stack.seed("whole", 30)
    sink.stall_recipients(0.1)
    first = stack.worker("whole-worker-1")
    with stack.beat("whole-beat"):
        wait_until(lambda: stack.sent(addresses) >= 3, what="the first chunk under way")
        first.kill_all()
        before_restart = stack.sent(addresses)
        second = stack.worker("whole-worker-2")
        try:
            ledger = stack.wait_final("whole", 30)
        finally:
            second.stop()

    report("whole worker SIGKILL, then a new worker", stack, addresses, ledger)
    assert before_restart < 30  # the kill really cut the work short
    assert_once_each(stack, addresses, ledger)


def test_the_soft_time_limit_during_slow_smtp_requeues_the_rest(stack, sink):
    addresses = stack.seed("slow", 12)
    sink.stall_recipients(0.6)
    worker = stack.worker("slow-worker", CELERY_TASK_SOFT_TIME_LIMIT="2")
    try:
        with stack.beat("slow-beat"):
            ledger = stack.wait_final("slow", 12)
    finally:
        worker.stop()

    report("soft time limit during slow SMTP", stack, addresses, ledger)
    assert_once_each(stack, addresses, ledger)
    log = worker.log_text()
    assert "Soft time limit (2s) exceeded" in log
    assert "digests of the chunk re-queued" in log
    # A send cut off by the limit went back to BUILT and was sent once afterwards: the cut
    # does not count as an attempt. (On a loaded machine a stalled send can also outlive its
    # lease and be taken back by reconciliation, which does count, once: the ledger says so.)
    attempts = {a: (n, "lease expired" in note) for a, (_, n, note) in ledger.items()}
    assert all(n == 1 or (n == 2 and expired) for n, expired in attempts.values()), ledger
    assert sum(n == 1 for n, _ in attempts.values()) >= len(addresses) // 2, ledger


def test_a_451_is_retried_for_that_digest_alone_then_sent(stack, sink):
    addresses = stack.seed("grey", 10)
    greylisted = addresses[:3]
    for address in greylisted:
        sink.reply_first(address, "451 4.7.1 Greylisted, please try again later")
    worker = stack.worker("grey-worker")
    try:
        with stack.beat("grey-beat"):
            ledger = stack.wait_final("grey", 10)
    finally:
        worker.stop()

    report("SMTP 451 then success (3 of 10)", stack, addresses, ledger)
    assert stack.delivered(addresses) == dict.fromkeys(addresses, 1)
    assert {a: ledger[a][:2] for a in addresses} == {
        a: ("sent", 2 if a in greylisted else 1) for a in addresses
    }
    assert {a: n for a, n in sink.refused().items() if a in addresses} == dict.fromkeys(
        greylisted, 1
    )
    assert not stack.suppressed() & set(addresses)


def test_a_550_fails_and_suppresses_those_recipients_and_no_one_else(stack, sink):
    addresses = stack.seed("gone", 10)
    gone = addresses[::4]
    sink.refuse_for_good(*gone)
    worker = stack.worker("gone-worker")
    try:
        with stack.beat("gone-beat"):
            ledger = stack.wait_final("gone", 10)
    finally:
        worker.stop()

    report("SMTP 550 for 3 of 10 recipients", stack, addresses, ledger)
    assert stack.delivered(addresses) == {a: 0 if a in gone else 1 for a in addresses}
    assert {a: ledger[a][:2] for a in addresses} == {
        a: ("failed", 1) if a in gone else ("sent", 1) for a in addresses
    }
    assert stack.suppressed() & set(addresses) == set(gone)
    statuses = dict(
        run_sql(
            stack.database_url,
            "SELECT email, status FROM accounts_subscriber WHERE email LIKE 'gone-%'",
        )
    )
    assert {a for a, s in statuses.items() if s == "suppressed"} == set(gone)
    # Refused once each: a permanent refusal is never retried.
    assert {a: n for a, n in sink.refused().items() if a in addresses} == dict.fromkeys(gone, 1)


def test_two_dispatchers_and_two_beats_send_each_digest_once(stack, sink):
    addresses = stack.seed("twice", 40)
    sink.stall_recipients(0.02)
    workers = [stack.worker("twice-worker-1"), stack.worker("twice-worker-2")]
    try:
        with stack.beat("twice-beat-1"), stack.beat("twice-beat-2"):
            ledger = stack.wait_final("twice", 40)
    finally:
        for worker in workers:
            worker.stop()

    report("two dispatchers (beats) and two workers", stack, addresses, ledger)
    assert stack.delivered(addresses) == dict.fromkeys(addresses, 1)
    assert {status for status, _, _ in ledger.values()} == {"sent"}
    beats = [(stack.tmp / f"twice-beat-{n}.log").read_text() for n in (1, 2)]
    assert all("dispatch-due-digests" in log for log in beats)


def test_a_redis_restart_mid_chunk_loses_nothing_and_the_worker_keeps_consuming(stack, sink):
    """One chunk in flight when Redis goes away: with celery/kombu 5.7.0 this worker exits
    ("Unrecoverable error: AttributeError 'NoneType' object has no attribute 'hostname'") and
    the batch due after the restart is never sent (seen failing here on 5.7.0); the pinned
    5.6.3/5.6.2 reconnect and keep consuming."""
    addresses = stack.seed("restart", 10)
    sink.stall_recipients(0.1)
    worker = stack.worker("restart-worker")
    try:
        with stack.beat("restart-beat"):
            wait_until(lambda: stack.sent(addresses) >= 3, what="the first chunk under way")
            stack.redis.stop()
            time.sleep(2)  # down for a moment, while the chunk goes on sending
            stack.redis.start()
            ledger = stack.wait_final("restart", 10)
            # Still consuming after the restart: a new batch due now is sent too.
            later = stack.seed("after-restart", 5)
            later_ledger = stack.wait_final("after-restart", 5)
        assert worker.process is not None
        assert worker.process.poll() is None  # the worker never exited
    finally:
        worker.stop()

    report("Redis restart mid-chunk", stack, addresses, ledger)
    assert_once_each(stack, addresses, ledger)
    assert_once_each(stack, later, later_ledger)
    log = worker.log_text()
    assert "Connection to broker lost" in log
    assert "Unrecoverable error" not in log


DISPATCH_THEN_LOSE_REDIS = """
import redis
from django.utils import timezone
from recommender import tasks
from recommender.delivery import scheduling

handed = []

def enqueue(ids, countdown=None):
    if handed:  # Redis goes away after the first chunk was handed out
        redis.Redis(host="127.0.0.1", port={port}).shutdown()
    tasks.enqueue_digests(ids, countdown=countdown)
    handed.append(ids)

print("handed", scheduling.dispatch_due(now=timezone.now(), enqueue=enqueue))
"""


def test_redis_going_down_during_dispatch_moves_no_one_it_could_not_hand_out(stack, sink):
    addresses = stack.seed("down", 30)
    script = DISPATCH_THEN_LOSE_REDIS.replace("{port}", str(stack.redis.port))
    result = manage(stack.env, "shell", "-c", script)
    assert "handed 10" in result.stdout
    wait_until(lambda: not port_open("127.0.0.1", stack.redis.port), what="Redis down")
    stack.redis.process.wait(timeout=20)
    stack.redis.process = None

    # The chunk it could not hand out is in the ledger, unleased; the rest are still due.
    rows = run_sql(
        stack.database_url,
        "SELECT d.status, d.lease_until IS NULL FROM recommender_digest d"
        " JOIN accounts_subscriber s ON s.id = d.subscriber_id WHERE s.email LIKE 'down-%'",
    )
    assert sorted(rows) == [("pending", False)] * 10 + [("pending", True)] * 10
    still_due = run_sql(
        stack.database_url,
        "SELECT count(*) FROM accounts_subscriber WHERE email LIKE 'down-%'"
        " AND next_digest_at < now()",
    )
    assert still_due == [(10,)]

    stack.redis.start()
    worker = stack.worker("down-worker")
    try:
        with stack.beat("down-beat"):
            ledger = stack.wait_final("down", 30)
    finally:
        worker.stop()

    report("Redis down during dispatch", stack, addresses, ledger)
    assert stack.delivered(addresses) == dict.fromkeys(addresses, 1)
    assert {status for status, _, _ in ledger.values()} == {"sent"}


def test_rabbitmq_hands_a_killed_workers_chunk_back_at_once(stack, sink):
    """RabbitMQ requeues a dead consumer's unacknowledged messages as soon as its connection
    drops (Redis waits for the visibility timeout): the queued digests of the killed worker's
    chunks go out through the redelivered messages. Their lease is an hour here, so
    reconciliation cannot be what sent them; it only takes back the one digest that was cut
    off mid-send (its sending lease stays short)."""
    ensure_rabbitmq()
    queue = f"it-rabbit-{uuid.uuid4().hex[:8]}"
    rabbit = {
        "CELERY_BROKER_URL": RABBITMQ_URL,
        "CELERY_QUEUE": queue,
        "DIGEST_LEASE_SECONDS": "3600",
    }
    addresses = stack.seed("rabbit", 20)
    sink.stall_recipients(0.1)
    first = stack.worker("rabbit-worker-1", **rabbit)
    try:
        with stack.beat("rabbit-beat", **rabbit):
            wait_until(lambda: stack.sent(addresses) >= 3, what="the first chunk under way")
            first.kill_all()
            second = stack.worker("rabbit-worker-2", **rabbit)
            try:
                ledger = stack.wait_final("rabbit", 20)
            finally:
                second.stop()
    finally:
        first.stop()
        _delete_rabbitmq_queue(queue)

    report("RabbitMQ broker, whole worker SIGKILL", stack, addresses, ledger)
    assert_once_each(stack, addresses, ledger)
    reclaimed = [a for a, (_, _, error) in ledger.items() if "lease expired" in error]
    assert len(reclaimed) <= 2  # at most the digest each pool process was sending
    log = second.log_text()
    assert "Connected to amqp://guest:**@127.0.0.1:5672//" in log
    assert "recommender.tasks.send_digests" in log


def _delete_rabbitmq_queue(name: str) -> None:
    from kombu import Connection

    with Connection(RABBITMQ_URL) as connection, contextlib.suppress(Exception):
        connection.default_channel.queue_delete(name)
