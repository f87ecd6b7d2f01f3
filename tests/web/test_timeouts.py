"""Time limits on the web tier's calls: the web server has none per request (README "Known
limitations"), so a Redis or PostgreSQL that stops answering must fail the call, not hold the
worker forever."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

import pytest
import redis
from django.core.cache.backends.redis import RedisCache

from digest_site import redis_client
from tests.services import PROJECT_ROOT, fresh_postgres_database, production_env

# Generous: these only guard the test run against hanging when a time limit is missing.
GUARD_SECONDS = 20


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never answers (a hung Redis)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def outcome_within_guard(call) -> BaseException | None:
    """Run `call` in a thread; the exception it raised (None if it returned)."""
    box: dict[str, BaseException | None] = {}

    def run():
        try:
            call()
            box["error"] = None
        except BaseException as error:  # handed back to the test
            box["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(GUARD_SECONDS)
    assert not thread.is_alive(), "the call is still waiting: no time limit applied"
    return box["error"]


QUICK = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}


def test_the_rate_limiter_gives_up_on_a_redis_that_does_not_answer(settings, silent_server):
    settings.REDIS_CLIENT_OPTIONS = QUICK
    redis_client.client_for.cache_clear()
    try:
        client = redis_client.client_for(silent_server)
        error = outcome_within_guard(client.ping)
    finally:
        redis_client.client_for.cache_clear()

    assert isinstance(error, redis.exceptions.TimeoutError)
    # Our limit, not only redis-py's own default (5 s since redis-py 8, none before).
    assert client.connection_pool.connection_kwargs["socket_timeout"] == 0.5


def test_the_cache_gives_up_on_a_redis_that_does_not_answer(silent_server):
    # The production settings give the cache REDIS_CLIENT_OPTIONS (checked below); the same
    # option names, with a shorter time, make Django's Redis cache give up.
    cache = RedisCache(silent_server, {"OPTIONS": QUICK})

    error = outcome_within_guard(lambda: cache.get("anything"))

    assert isinstance(error, redis.exceptions.TimeoutError)


PROBE = """
import django
from django.conf import settings
django.setup()
print(settings.CACHES["default"]["OPTIONS"] is settings.REDIS_CLIENT_OPTIONS)
print(settings.REDIS_CLIENT_OPTIONS, settings.DATABASES["default"]["OPTIONS"])
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT pg_sleep(2)")
print("finished")
"""


@pytest.mark.integration
def test_a_statement_timeout_cancels_a_long_query_on_postgresql(tmp_path):
    with fresh_postgres_database() as database_url:
        runs = {}
        for name, extra in (
            ("limited", {"DATABASE_STATEMENT_TIMEOUT_SECONDS": "0.5"}),
            ("free", {}),
        ):
            env = production_env(
                tmp_path,
                DATABASE_URL=database_url,
                REDIS_URL="redis://127.0.0.1:6379/0",
                **extra,
            )
            runs[name] = subprocess.run(
                [sys.executable, "-c", PROBE],
                cwd=PROJECT_ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )

    limited, free = runs["limited"], runs["free"]
    assert limited.returncode != 0
    assert "canceling statement due to statement timeout" in limited.stderr
    assert limited.stdout.startswith("True\n")
    assert "'socket_timeout': 5.0, 'socket_connect_timeout': 5.0" in limited.stdout
    assert "'connect_timeout': 10" in limited.stdout
    assert "statement_timeout=500" in limited.stdout
    assert free.returncode == 0, free.stderr
    assert "finished" in free.stdout
