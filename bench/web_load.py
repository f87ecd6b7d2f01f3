"""Load test of the public pages: the landing page and the subscribe POST, under the web server.

    .venv/bin/python bench/web_load.py [--duration 15] [--connections 100] [--server gunicorn]

Starts docker-compose's web command (granian: Rust HTTP, 2 WSGI worker processes of one thread,
access log on) on a free loopback port, against a fresh PostgreSQL database and the machine's
Redis (cache, rate limits and Celery broker, under a key prefix and queue of its own), then
drives it with wrk (Debian package `wrk`), --connections concurrent connections for --duration
seconds per endpoint. `--server gunicorn` runs the server compose used before instead
(`gunicorn --workers 3 --access-logfile -`, sync workers), for comparison.

1. baseline: GET /healthz (one SELECT 1 and a cache round trip: the floor of any request);
2. GET /  (the landing page with the subscribe form and its CSRF token);
3. POST / (a valid subscription from a new address each time: CSRF check, form validation, and
   one Redis round trip that counts the two rate limits and appends the sign-up to the sign-up
   queue, plus one `accounts.tasks.drain_signups` publish when that queue was empty: all the
   web tier does. The Celery worker that writes the rows and sends the confirmation is not
   started, so this measures the web tier alone; the queue is counted and deleted at the end);
4. the floor under that POST: the same server, settings and middleware serving
   bench/web_floor.py, whose POST only passes the CSRF check (parsing the same form body) and
   redirects (`--no-floor` skips it);
5. the floor plus the subscribe form's validation (bench/web_floor.py's /validated): what the
   POST costs without its Redis round trip (rate limits and the sign-up queue).

The rate limits are raised through the environment for the run (SUBSCRIBE_LIMIT_PER_IP and
SUBSCRIBE_LIMIT_PER_EMAIL): every request comes from 127.0.0.1 and would otherwise be refused
after the tenth. Prints requests/s and p50/p99 latency of each, the ratios against the
baseline, and the CPU time (user + system, from /proc) the server's workers spent per request:
that one moves much less than the rates when other work shares the cores. The database is
dropped and the Redis keys deleted at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import http.cookiejar
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from bench.proc import cpu_seconds, redis_cpu_seconds
from tests.services import (
    compose_command,
    delete_redis_keys,
    ensure_redis,
    free_port,
    fresh_postgres_database,
    production_env,
    stop,
    wait_for_port,
)

POST_SCRIPT = r"""
-- A new address on every request, so each POST creates a subscriber like a real sign-up.
local counter = 0
local thread_id = 0
local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  thread_id = id
end
function request()
  counter = counter + 1
  local body = "csrfmiddlewaretoken=" .. TOKEN ..
    "&email=load-" .. RUN .. "-" .. thread_id .. "-" .. counter .. "%40example.org" ..
    "&interests_text=efficient+inference+for+large+language+models%2C+quantization" ..
    "&keywords=LoRA%2C+speculative+decoding&categories=cs.LG&categories=cs.CL" ..
    "&seed_references=2503.11731&frequency=daily&send_weekday=0" ..
    "&timezone=Europe%2FBerlin&send_hour=7&website="
  return wrk.format("POST", TARGET, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "csrftoken=" .. COOKIE,
  }, body)
end
"""


def csrf_pair(base: str) -> tuple[str, str]:
    """The CSRF cookie and a form token that goes with it, as a browser would get them."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(base + "/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    cookie = next(c.value for c in jar if c.name == "csrftoken")
    return cookie, token


def run_wrk(url: str, *, connections: int, duration: int, script: Path | None = None) -> dict:
    # A long timeout keeps slow requests in the latency figures (wrk drops timed-out ones).
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s", "--latency"]
    command += ["--timeout", "10s"]
    command += ["-s", str(script)] if script else []
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=duration + 60
    ).stdout
    return parse_wrk(output)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(output: str) -> dict:
    percentile = {
        p: _ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)", output, re.M)
    }
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": percentile["50"],
        "p99": percentile["99"],
        "requests": requests,
        "bad": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1).strip() if errors else "none",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument(
        "--server",
        choices=("compose", "gunicorn"),
        default="compose",
        help="compose: docker-compose's web command (granian); gunicorn: the sync-worker "
        "gunicorn it replaced, for comparison",
    )
    parser.add_argument(
        "--no-floor",
        action="store_true",
        help="skip the floor run (bench/web_floor.py: the same stack, a view that only checks "
        "CSRF and redirects)",
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="worker processes (default: compose's 2; gunicorn 3)"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is missing: apt-get install wrk (scripts/install-system-packages.sh)")
        return 1

    ensure_redis()
    run_id = uuid.uuid4().hex[:8]
    with fresh_postgres_database() as database_url, tempfile.TemporaryDirectory() as tmp:
        env = production_env(
            Path(tmp),
            DATABASE_URL=database_url,
            REDIS_URL="redis://127.0.0.1:6379/0",
            CACHE_KEY_PREFIX=f"bench-{run_id}",
            CELERY_QUEUE=f"bench-{run_id}",
            DJANGO_SECRET_KEY=uuid.uuid4().hex * 2,
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            EMAIL_PROVIDER="file",
            LOG_LEVEL="WARNING",
            # Every request comes from 127.0.0.1: lift the limits for this run only.
            SUBSCRIBE_LIMIT_PER_IP="1000000000",
            SUBSCRIBE_LIMIT_PER_EMAIL="1000000000",
        )
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=PROJECT_ROOT,
            env=env,
            check=True,
        )
        command = server_command(args, "PORT")  # each run picks a free port
        print(
            f"{Path(command[0]).name} {' '.join(command[1:])}\n"
            f"wrk -t 2 -c {args.connections} -d {args.duration}s, {os.cpu_count()} CPUs, "
            f"PostgreSQL + Redis on loopback; load average before: {os.getloadavg()[0]:.2f}"
        )
        results = {}
        try:
            with serving(args, env, Path(tmp) / "server.log") as (server, base):
                script = post_script(base, Path(tmp) / "post.lua", run_id)
                for path in ("/healthz", "/"):  # warm every worker's connections and templates
                    run_wrk(base + path, connections=10, duration=2)
                endpoints = {
                    "GET /healthz (baseline)": (base + "/healthz", None),
                    "GET / (landing page)": (base + "/", None),
                    "POST / (subscribe)": (base + "/", script),
                }
                for name, (url, lua) in endpoints.items():
                    results[name] = measure(server, url, lua, args)
                queued = queued_sign_ups(f"bench-{run_id}")
            if not args.no_floor:
                # The same server, settings and middleware serving bench/web_floor.py's one view.
                log = Path(tmp) / "floor.log"
                with serving(args, env, log, app=FLOOR_APP) as (server, base):
                    script = post_script(base, Path(tmp) / "floor.lua", run_id)
                    run_wrk(base + "/", connections=10, duration=2)
                    results["POST / floor (CSRF only)"] = measure(server, base + "/", script, args)
                    script = post_script(base, Path(tmp) / "form.lua", run_id, "/validated")
                    results["floor + form validation"] = measure(server, base + "/", script, args)
            print(f"load average after: {os.getloadavg()[0]:.2f} (other work on the machine)")
        finally:
            delete_redis_keys(f"*bench-{run_id}*")

    baseline = results["GET /healthz (baseline)"]
    print(
        f"{'endpoint':26} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx/3xx':>12}"
        f" {'rps ÷ base':>10} {'p99 ÷ base':>10} {'CPU ms/req':>10}"
    )
    for name, r in results.items():
        print(
            f"{name:26} {r['rps']:8.0f} {r['p50']:8.1f} {r['p99']:8.1f} {r['bad']:12d}"
            f" {r['rps'] / baseline['rps']:10.2f} {r['p99'] / baseline['p99']:10.2f}"
            f" {r['cpu_ms']:10.2f}"
        )
    print("CPU ms/req: user + system CPU of the server's worker processes per request (/proc)")
    for name, r in results.items():
        workers, wrk, redis_server = r["cores"]
        print(
            f"cores busy during {name}: server workers {workers:.2f}, wrk {wrk:.2f},"
            f" Redis {redis_server:.2f}"
        )
    posts = results["POST / (subscribe)"]
    print(
        f"sign-ups queued by the POST run: {queued['sign-ups']}, Celery tasks published:"
        f" {queued['tasks']} (wrk counted {posts['requests']} requests)"
    )
    failed = [name for name, r in results.items() if r["bad"] or r["socket_errors"] != "none"]
    for name in failed:
        print(
            f"warning: {name}: {results[name]['bad']} bad responses, "
            f"socket errors: {results[name]['socket_errors']}"
        )
    pages = [r for name, r in results.items() if "baseline" not in name and "floor" not in name]
    target = all(r["p99"] < 100 for r in pages)
    print(
        f"target p99 < 100 ms at {args.connections} connections: {'met' if target else 'NOT met'}"
    )
    return 1 if failed else 0


APP = "digest_site.wsgi:application"
FLOOR_APP = "bench.web_floor:application"


@contextlib.contextmanager
def serving(args: argparse.Namespace, env: dict, log: Path, *, app: str = APP):
    """The web server on a free loopback port, serving `app`: (its process, its base URL)."""
    port = free_port()
    command = [app if part == APP else part for part in server_command(args, port)]
    with log.open("w") as output:
        # The access log (stdout) is discarded; the server gets a process group of its own so
        # that stop() also ends any worker it leaves behind.
        server = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=output,
            start_new_session=True,
        )
        try:
            wait_for_port("127.0.0.1", port, seconds=30, what=args.server)
            yield server, f"http://127.0.0.1:{port}"
        finally:
            stop(server)


def post_script(base: str, path: Path, run_id: str, target: str = "/") -> Path:
    """wrk's POST script to `target`, with a CSRF cookie and form token fetched from `base`."""
    cookie, token = csrf_pair(base)
    variables = f'TOKEN = "{token}"\nCOOKIE = "{cookie}"\nRUN = "{run_id}"\nTARGET = "{target}"\n'
    path.write_text(variables + POST_SCRIPT)
    return path


def measure(server: subprocess.Popen, url: str, script: Path | None, args) -> dict:
    """One wrk run, plus the server workers' CPU time per request over it, and how many cores
    the workers, wrk and Redis kept busy (wrk and Redis share the machine with the server)."""
    before = cpu_seconds(parent=server.pid), wrk_cpu_seconds(), redis_cpu_seconds()
    started = time.monotonic()
    result = run_wrk(url, connections=args.connections, duration=args.duration, script=script)
    elapsed = time.monotonic() - started
    after = cpu_seconds(parent=server.pid), wrk_cpu_seconds(), redis_cpu_seconds()
    workers, wrk, redis_server = (end - start for start, end in zip(before, after, strict=True))
    return {
        **result,
        "cpu_ms": 1000 * workers / max(result["requests"], 1),
        "cores": (workers / elapsed, wrk / elapsed, redis_server / elapsed),
    }


def wrk_cpu_seconds() -> float:
    """CPU seconds of this script's finished child processes: wrk's, once it has been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def server_command(args: argparse.Namespace, port: int | str) -> list[str]:
    if args.server == "gunicorn":
        return [
            str(Path(sys.executable).parent / "gunicorn"),
            APP,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers or 3),
            "--access-logfile",
            "-",
        ]
    command = compose_command("web", **{"0.0.0.0": "127.0.0.1", "8000": str(port)})
    if args.workers:
        command[command.index("--workers") + 1] = str(args.workers)
    return command


def queued_sign_ups(prefix: str) -> dict[str, int]:
    """Sign-ups waiting in the queue (accounts/signups.py) and tasks in the Celery queue."""
    import redis

    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    return {
        # The cache's key prefix, version 1, then the list's name.
        "sign-ups": client.llen(f"{prefix}:1:signups:pending"),
        "tasks": client.llen(prefix),  # Celery's Redis transport: one list named after the queue
    }


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"done in {time.monotonic() - started:.0f} s")
    sys.exit(code)
