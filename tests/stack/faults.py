"""The fault-injection harness: an SMTP sink that refuses, defers or stalls on command, a Redis
server of the test's own (to stop and restart), and a Celery worker whose processes can be
killed the way the OOM killer kills them.

Everything listens on loopback only, on ports picked free, and is stopped by the test that
started it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import email
import email.policy
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.services import free_port, port_open, start, stop, wait_for_port
from tests.smtp import SMTPSink

GUARD_SECONDS = 240  # only keeps a broken run from hanging CI; never a speed assertion


def wait_until(condition: Callable[[], bool], *, what: str, seconds: float = GUARD_SECONDS):
    """Poll `condition` until true; fail with `what` when the guard runs out."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {seconds:.0f}s: {what}")
        time.sleep(0.2)


# --- SMTP ---------------------------------------------------------------------------------------
class _FaultyHandler:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.delivered: collections.Counter[str] = collections.Counter()
        self.messages: list[email.message.EmailMessage] = []
        self.replies: dict[str, list[str]] = {}
        self.refused: collections.Counter[str] = collections.Counter()
        self.permanent: set[str] = set()
        self.stall_seconds = 0.0
        self.delay_seconds = 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        address = address.lower()
        if self.stall_seconds:
            await asyncio.sleep(self.stall_seconds)
        with self.lock:
            queued = self.replies.get(address)
            reply = queued.pop(0) if queued else None
            if reply is None and address in self.permanent:
                reply = f"550 5.1.1 <{address}>: mailbox does not exist"
            if reply:
                self.refused[address] += 1
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
            for address in envelope.rcpt_tos:
                self.delivered[address.lower()] += 1
        return "250 Message accepted for delivery"


class FaultySMTPServer(SMTPSink):
    """A loopback SMTP sink that counts what it accepted, per recipient, and on command:
    answers a recipient with queued replies (e.g. "451 ..." once, then accepts), refuses
    recipients for good (550), stalls every RCPT (a slow server: a client that gives up
    mid-conversation leaves no message behind) or slows every accepted message."""

    def __init__(self) -> None:
        super().__init__(_FaultyHandler())

    def reply_first(self, address: str, *replies: str) -> None:
        with self.handler.lock:
            self.handler.replies[address.lower()] = list(replies)

    def refuse_for_good(self, *addresses: str) -> None:
        with self.handler.lock:
            self.handler.permanent.update(a.lower() for a in addresses)

    def stall_recipients(self, seconds: float) -> None:
        self.handler.stall_seconds = seconds

    def slow_down(self, seconds: float) -> None:
        self.handler.delay_seconds = seconds

    def delivered(self) -> collections.Counter[str]:
        with self.handler.lock:
            return collections.Counter(self.handler.delivered)

    def refused(self) -> collections.Counter[str]:
        with self.handler.lock:
            return collections.Counter(self.handler.refused)

    def total(self) -> int:
        return sum(self.delivered().values())


# --- Redis ------------------------------------------------------------------------------------
class OwnRedis:
    """A redis-server of the test's own, on a free port, persisting to an append-only file in
    `directory` (as the compose file's Redis does), so a restart keeps queued messages."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--dir",
            str(self.directory),
        ]
        log = self.directory / "redis.log"
        self.process = subprocess.Popen(
            command, stdout=log.open("a"), stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_for_port("127.0.0.1", self.port, seconds=15, what="the test's own Redis")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        self.process.wait(timeout=20)
        self.process = None
        deadline = time.monotonic() + 10
        while port_open("127.0.0.1", self.port) and time.monotonic() < deadline:
            time.sleep(0.1)

    def __enter__(self) -> OwnRedis:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# --- RabbitMQ -----------------------------------------------------------------------------------
def ensure_rabbitmq() -> None:
    """The machine's RabbitMQ (127.0.0.1:5672), started as this machine kind documents if down."""
    if port_open("127.0.0.1", 5672):
        return
    subprocess.run(["rabbitmq-server", "-detached"], check=True, capture_output=True)
    wait_for_port("127.0.0.1", 5672, seconds=60, what="RabbitMQ")


# --- Celery processes -------------------------------------------------------------------------
def children_of(pid: int) -> list[int]:
    """The direct child processes of `pid` (a prefork worker's pool processes)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


class Worker:
    """A Celery worker started with the compose file's command (see tests/services.py)."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.command, self.env, self.log = command, env, log
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        self.process = start(self.command, self.env, self.log)
        wait_until(lambda: "ready." in self.log_text(), what=f"worker ready ({self.log})")
        return self

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def pool_children(self) -> list[int]:
        assert self.process is not None
        return children_of(self.process.pid)

    def kill_child(self) -> int:
        """SIGKILL one pool process, as the OOM killer does; the worker replaces it."""
        busy = [pid for pid in self.pool_children() if _cpu_ticks(pid) is not None]
        victim = max(busy, key=lambda pid: _cpu_ticks(pid) or 0)
        os.kill(victim, signal.SIGKILL)
        return victim

    def kill_all(self) -> None:
        """SIGKILL the whole worker, main process and pool at once (a lost machine)."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


def _cpu_ticks(pid: int) -> int | None:
    """User + system CPU ticks of `pid`: the busiest pool child is the one mid-chunk."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    return int(fields[11]) + int(fields[12])
