"""The machine's real services for integration tests: started when down, never silently skipped.

The start commands are the ones this machine kind documents; CI runs on the same kind.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PG_HOST, PG_PORT, PG_USER, PG_ADMIN_DB = "127.0.0.1", 5432, "postgres", "test"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379

START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect {version} main start"
START_REDIS = (
    "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' "
    "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(host: str, port: int, *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        time.sleep(0.2)
    pytest.fail(f"{what} did not start listening on {host}:{port} within {seconds:.0f}s")


def _start(command: str, what: str) -> None:
    result = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(f"{what} was down and `{command}` failed: {result.stderr or result.stdout}")


def ensure_postgres() -> None:
    if port_open(PG_HOST, PG_PORT):
        return
    versions = sorted(Path(p).name for p in glob.glob("/etc/postgresql/*"))
    if not versions:
        pytest.fail("PostgreSQL is down and no cluster is configured under /etc/postgresql")
    _start(START_POSTGRES.format(version=versions[-1]), "PostgreSQL")
    wait_for_port(PG_HOST, PG_PORT, seconds=30, what="PostgreSQL")


def ensure_redis() -> None:
    if port_open(REDIS_HOST, REDIS_PORT):
        return
    os.makedirs("/var/lib/redis", exist_ok=True)
    os.makedirs("/var/log/redis", exist_ok=True)
    _start(START_REDIS, "Redis")
    wait_for_port(REDIS_HOST, REDIS_PORT, seconds=15, what="Redis")


# The run ids production_env handed out in this test session: their keys are deleted when the
# session ends (tests/conftest.py), since kombu keeps a queue's binding set with no expiry.
ISSUED_RUN_IDS: list[str] = []


def delete_run_keys(run_id: str) -> None:
    """Everything a stack run leaves in Redis: its cache keys (they would expire) and its
    queue's binding sets (they would not)."""
    for pattern in (
        f"it-{run_id}:*",
        f"it-{run_id}",
        f"_kombu.binding.it-{run_id}",
        f"_kombu.binding_permanent.it-{run_id}",
    ):
        delete_redis_keys(pattern)


def delete_redis_keys(pattern: str) -> None:
    """Delete the machine's Redis keys matching `pattern` (what a run left under its prefix)."""
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT)
    keys = list(client.scan_iter(pattern))
    if keys:
        client.delete(*keys)


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create an empty database for one test module and drop it afterwards; yields its URL."""
    import psycopg

    ensure_postgres()
    name = f"digest_it_{uuid.uuid4().hex[:12]}"
    admin_url = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_ADMIN_DB}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """Environment for a subprocess running the service as production would, on loopback."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_", "CELERY_", "EMAIL_", "ANYMAIL_"))
    }
    run_id = uuid.uuid4().hex[:8]
    ISSUED_RUN_IDS.append(run_id)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "digest_site.settings",
            "DIGEST_VAR_DIR": str(tmp_path / "var"),
            "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
            # A queue and cache prefix of its own, so parallel test runs never share work.
            "CELERY_QUEUE": f"it-{run_id}",
            "CACHE_KEY_PREFIX": f"it-{run_id}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(overrides)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stderr}"
    return result


BIN = Path(sys.executable).parent


def compose_command(service: str, **replace: str) -> list[str]:
    """The service's command from docker-compose.yml, its executable taken from this venv;
    `${NAME:-default}` takes the default, as compose does when NAME is unset."""
    spec = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    command = [
        replace.get(part, part)
        for part in (
            re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(part))
            for part in spec["services"][service]["command"]
        )
    ]
    command[0] = str(BIN / command[0]) if (BIN / command[0]).exists() else command[0]
    if command[0] == "python":
        command[0] = sys.executable
    return command


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    """Start a service in a process group of its own, so stop() can reach its children."""
    handle = log.open("w")
    return subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    """Stop a service started by start(), and whatever it spawned.

    A server told to stop while one of its worker processes is still starting can exit without
    that worker (seen with granian: an orphaned worker kept serving after the test), so after the
    main process ends, anything left in its process group is killed too."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def run_sql(database_url: str, query: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return conn.execute(query).fetchall()
