"""Rendering the next digest while the current one is on the wire.

A worker sends a chunk's digests one after the other, and each send spends part of its time
waiting: for PostgreSQL to commit the claim, for the mail server's replies. Python releases
the interpreter while a thread waits on a socket, so one helper thread renders the next
digest's email in that time. Everything that decides what happens to a digest stays in the
sending thread and in the same order: the claim, the send, the record. So the ledger's
guarantees do not change (one digest at most in SENDING per process, claimed right before its
send), and the only thing done early is building bytes that may not be used (a digest whose
claim is refused).

The helper thread never touches the database: the chunk's digests, items and subscribers are
read before sending starts, and a query from the helper is refused. A render that fails there
for any reason is done again in the sending thread, where it would have happened before, so
its outcome (and any error) is the one it always was.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from django.db import connection

log = logging.getLogger(__name__)


class QueryOffThread(RuntimeError):
    """A render in the helper thread tried to query the database."""


def _refuse_queries(execute, sql, params, many, context):
    raise QueryOffThread(f"the render-ahead thread may not query the database: {sql[:200]}")


class RenderAhead:
    """One helper thread rendering emails ahead of the sending thread; a context manager.

    `render(*args)` makes one email; `start(key, *args)` begins it in the helper,
    `message(key, *args)` returns it (waiting for the helper, or rendering here when it was
    never started or failed there). Renders never run at once: the renderer's caches are
    shared."""

    def __init__(self, render: Callable[..., object]) -> None:
        self._render = render
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="render-ahead")
        self._started: dict[object, Future] = {}
        self.ahead = 0  # emails rendered by the helper and used
        self.here = 0  # emails rendered in the sending thread

    def __enter__(self) -> RenderAhead:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self, key, *args) -> None:
        if key not in self._started:
            self._started[key] = self._pool.submit(self._off_thread, *args)

    def message(self, key, *args):
        started = self._started.pop(key, None)
        if started is not None:
            try:
                made = started.result()
            except Exception:
                log.debug("render-ahead of %s failed; rendering it here", key, exc_info=True)
            else:
                self.ahead += 1
                return made
        self.here += 1
        with self._lock:
            return self._render(*args)

    def close(self) -> None:
        for future in self._started.values():
            future.cancel()
        self._started.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _off_thread(self, *args):
        with self._lock, connection.execute_wrapper(_refuse_queries):
            return self._render(*args)
