"""The sign-up queue: how a subscribe request hands its sign-up to the Celery worker.

A sign-up is the keyword arguments of `accounts.tasks.subscribe` (address, cleaned profile,
consent record) as JSON. With Redis, the request appends it to a Redis list in the round trip
that counts its rate limits, and publishes `accounts.tasks.drain_signups` only when the list was
empty before: otherwise a drain is already on its way and will reach it. A Celery publish cost
the request more CPU than everything else it did; under load one drain now carries many
sign-ups. Beat runs the same drain every minute, so a sign-up whose wake-up could not be
published (or whose drain died) waits at most that long.

The drain takes one sign-up at a time: it moves it to a processing list (LMOVE), subscribes it,
then deletes it from there. A worker that dies mid-sign-up leaves it in the processing list and
the next drain starts with it again (so it can run twice, like a redelivered task: the person
gets a second confirmation email, nothing else). A sign-up that fails goes to
`accounts.tasks.subscribe` as a task of its own, which retries network errors with back-off, and
the drain carries on with the next one. One drain runs at a time (a lock in Redis).

Without Redis (the embedded default), or with eager Celery, the request calls
`accounts.tasks.subscribe` as it always did, which then runs in-process.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections import Counter

from django.conf import settings
from redis.exceptions import LockNotOwnedError

from digest_site.queue import enqueue
from digest_site.redis_client import redis_server

from . import ratelimit, services

log = logging.getLogger(__name__)

# Cache keys (the cache's KEY_PREFIX applies, so deployments sharing a Redis stay apart).
PENDING = "signups:pending"
PROCESSING = "signups:processing"
DRAIN_LOCK = "signups:drain-lock"
# Longer than one sign-up can take (the database and one email, EMAIL_TIMEOUT 20 s per step);
# renewed before each sign-up. A drain that died holds the lock this long at most.
LOCK_SECONDS = 120
# A drain stops after this long and queues a successor, so it never nears the task time limit.
DRAIN_SECONDS = 60
# A failed sign-up is retried as its own task after this delay.
RETRY_COUNTDOWN_SECONDS = 30


def submit(sign_up: dict | None, limits: list[ratelimit.Limit]) -> ratelimit.Limit | None:
    """Count one attempt against each limit in order and, when none is exceeded, hand the
    sign-up (None: nothing to hand over) to the worker. Returns the exceeded limit, if any."""
    if sign_up is None:
        return ratelimit.first_exceeded(*limits)
    if not queue_enabled():
        exceeded = ratelimit.first_exceeded(*limits)
        if exceeded is None:
            enqueue(
                "accounts.tasks.subscribe", sign_up["email"], sign_up["profile"], sign_up["consent"]
            )
        return exceeded
    exceeded, waiting = ratelimit.count_then_append(limits, (PENDING, json.dumps(sign_up)))
    if waiting == 1:
        try:
            enqueue("accounts.tasks.drain_signups")
        except Exception:
            # The sign-up is safe in the list and the periodic drain will take it; failing the
            # request now would only make the person submit it again.
            log.exception("could not publish drain_signups; the periodic drain will run it")
    return exceeded


def queue_enabled() -> bool:
    return redis_server() is not None and not settings.CELERY_TASK_ALWAYS_EAGER


def drain(*, seconds: float = DRAIN_SECONDS) -> dict[str, int]:
    """Subscribe everyone waiting, oldest first, one at a time; counts of what happened."""
    server = redis_server()
    if server is None:
        return {}
    client, cache = server
    pending, processing, lock_key = (
        cache.make_and_validate_key(key) for key in (PENDING, PROCESSING, DRAIN_LOCK)
    )
    counts: Counter[str] = Counter()
    deadline = time.monotonic() + seconds
    lock = client.lock(lock_key, timeout=LOCK_SECONDS)
    # Busy lock: the drain holding it re-checks the list after letting go, so it takes ours.
    while lock.acquire(blocking=False):
        try:
            # Anything still in processing was left by a drain that died: it goes first.
            while client.lmove(processing, pending, "RIGHT", "LEFT") is not None:
                counts["recovered"] += 1
            while time.monotonic() < deadline:
                raw = client.lmove(pending, processing, "LEFT", "RIGHT")
                if raw is None:
                    break
                lock.reacquire()
                counts[_subscribe(raw)] += 1
                client.lrem(processing, 1, raw)
        finally:
            with contextlib.suppress(LockNotOwnedError):  # expired: another drain took over
                lock.release()
        if not client.llen(pending):
            break
        if time.monotonic() >= deadline:
            enqueue("accounts.tasks.drain_signups")
            counts["continued"] += 1
            break
    return dict(counts)


def waiting() -> int:
    """Sign-ups waiting for a drain (0 without Redis)."""
    server = redis_server()
    if server is None:
        return 0
    client, cache = server
    return client.llen(cache.make_and_validate_key(PENDING))


def _subscribe(raw: bytes) -> str:
    try:
        sign_up = json.loads(raw)
        if not isinstance(sign_up, dict):
            raise ValueError("not an object")
    except ValueError:
        # Nothing can ever read it, and retrying would not change that.
        log.error("dropped an unreadable sign-up (%d bytes)", len(raw))
        return "unreadable"
    try:
        return services.subscriber_subscribe_json(**sign_up)
    except Exception:
        # One bad sign-up must not hold up the others: it becomes a task of its own, which
        # retries network errors (mail server away) with back-off and logs anything else.
        log.exception("a sign-up failed in the drain; retrying it as accounts.tasks.subscribe")
        enqueue("accounts.tasks.subscribe", countdown=RETRY_COUNTDOWN_SECONDS, **sign_up)
        return "retried-as-task"
