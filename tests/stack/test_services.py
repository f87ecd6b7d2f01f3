"""The test harness's own process handling: a stopped service leaves nothing running behind."""

from __future__ import annotations

import os
import time

from tests import services
from tests.services import start, stop


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that was killed but not yet reaped by its (new) parent is a zombie: gone for us.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:  # reaped between the two looks
        return False


def test_stop_also_ends_what_the_service_spawned(tmp_path):
    # The shell exits on SIGTERM and leaves its background child behind, as a server can leave
    # a worker that was still starting.
    pid_file = tmp_path / "child.pid"
    command = ["bash", "-c", f"sleep 300 & echo $! > {pid_file}; wait"]
    service = start(command, dict(os.environ), tmp_path / "service.log")
    deadline = time.monotonic() + 10
    while not (pid_file.exists() and pid_file.read_text().strip()):
        assert time.monotonic() < deadline, "the service never started its child"
        time.sleep(0.05)
    child = int(pid_file.read_text())
    assert _alive(child)

    stop(service)

    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the service's child outlived stop()"


def test_a_stack_run_leaves_no_redis_keys(tmp_path):
    import redis

    services.ensure_redis()
    env = services.production_env(tmp_path)
    run_id = env["CACHE_KEY_PREFIX"].removeprefix("it-")
    assert run_id in services.ISSUED_RUN_IDS
    client = redis.Redis(host=services.REDIS_HOST, port=services.REDIS_PORT)
    left = [
        f"it-{run_id}:1:profile:x",
        f"_kombu.binding.it-{run_id}",
        f"_kombu.binding_permanent.it-{run_id}",
    ]
    kept = f"it-{run_id}x:1:someone-else"  # another run whose id starts the same way
    for key in [*left, kept]:
        client.set(key, "1")
    try:
        services.delete_run_keys(run_id)
        assert [key for key in left if client.exists(key)] == []
        assert client.exists(kept)
    finally:
        client.delete(*left, kept)
