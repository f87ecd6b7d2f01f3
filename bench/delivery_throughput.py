"""How close does the daily digest run come to the speed of the wire? The project's end-to-end
path against a bare SMTP loop sending the same messages, alternating, in one run.

    .venv/bin/python bench/delivery_throughput.py [--subscribers 2000] [--rounds 2]
                                                  [--fit-papers 0] [--day 2026-06-05]
                                                  [--baseline /path/to/other/checkout]
                                                  [--profile DIR]

Setup: a fresh PostgreSQL database holding the shared dump up to --day (ingested with
`manage.py ingest`), the model fitted on it (`manage.py refit_model`; --fit-papers N caps the
fit for a quicker run, 0 = the production default), --subscribers active subscribers with
varied profiles (a paper title as the interest text; a third with keywords, a fifth with arXiv
categories, a tenth with seed papers), all due now. Profiles go to the production cache
(Redis); each round starts from an empty cache, as the morning after the nightly refit, and
if the project builds profiles itself after a refit (a `warm_profiles` task), that runs first,
off the clock, as it would during the night.

Each round runs, in turn:
  * ours: a fresh process as a worker would be (the model loaded before the clock starts),
    `dispatch_due_digests` claiming everyone in chunks of DIGEST_CHUNK_SIZE, each chunk through
    the task code (`build_and_send_digests`, eagerly, in that process): rank, build, render,
    send over SMTP to a sink on loopback, ledger rows;
  * floor: a fresh process sending the messages the sink received in the round before, byte for
    byte, with smtplib over one connection.
With --baseline, each round first runs the worker of another checkout of the project (its own
bench/delivery_throughput.py --worker, same database, model and sink), so the code before and
after a change are measured alternately on one setup. Between runs the digests are deleted and
everyone is due again. Reports digests/s, CPU ms per
digest in the worker (its own process time), in PostgreSQL (every postgres process, from /proc)
and in the sink (its process), and peak RSS of the worker. The last line is one JSON object:
digests_per_s, floor_per_s, cpu_ms_per_digest, pg_cpu_ms_per_digest, sink_cpu_ms_per_digest,
worker_peak_rss_mib (medians over the rounds). With --profile, each worker run is timed under
cProfile (slower) and its stats written to DIR/<run>.prof for `python -m pstats`.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import json
import os
import resource
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import dump
from bench.proc import cpu_seconds
from tests.services import (
    ensure_redis,
    free_port,
    fresh_postgres_database,
    manage,
    production_env,
    wait_for_port,
)


def log(message: str) -> None:
    print(message, flush=True)


# --- Child processes ------------------------------------------------------------------------


def run_sink(port: int, directory: Path) -> None:
    """An SMTP server on loopback that writes every message it accepts to `directory`."""
    import asyncio

    from aiosmtpd.controller import Controller

    class Keep:
        count = 0

        async def handle_DATA(self, server, session, envelope) -> str:
            Keep.count += 1
            (directory / f"{Keep.count:06d}.eml").write_bytes(envelope.content)
            return "250 Message accepted for delivery"

    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        controller.stop()


def run_worker() -> None:
    """One worker's day: claim everyone, each chunk through the task code, in this process."""
    import django

    django.setup()
    from django.core.cache import cache

    from recommender.model import store as model_store
    from recommender.tasks import dispatch_due_digests

    cache.clear()  # the morning after the nightly refit: no profile built yesterday is reused
    try:  # ...except those the project itself builds right after a refit, before the send
        from recommender.tasks import warm_profiles
    except ImportError:
        pass
    else:
        warm_profiles.apply().get()
    model_store.load_current()  # a running worker has its model loaded already
    profiler = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
    wall, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    dispatched = dispatch_due_digests.apply().get()
    if profiler:
        profiler.disable()
        profiler.dump_stats(os.environ["BENCH_PROFILE"])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"dispatched": dispatched, "wall": wall, "cpu": cpu, "peak_mib": peak}))


def run_floor(port: int, directory: Path) -> None:
    """The same messages, already rendered, over one SMTP connection."""
    messages = []
    for path in sorted(directory.glob("*.eml")):
        raw = path.read_bytes()
        headers = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        to = next(line[3:].strip() for line in headers.splitlines() if line.startswith("To:"))
        messages.append((to, raw))
    wall, cpu = time.perf_counter(), time.process_time()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for to, raw in messages:
            smtp.sendmail("digest@localhost", [to], raw)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(json.dumps({"sent": len(messages), "wall": wall, "cpu": cpu}))


# --- Orchestration --------------------------------------------------------------------------


def child(mode: str, env: dict, *args: str, root: Path = ROOT) -> dict:
    result = subprocess.run(
        [sys.executable, str(root / "bench" / Path(__file__).name), f"--{mode}", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def write_dump(records: list[dict], path: Path) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")


def create_subscribers(env: dict, count: int) -> None:
    script = f"""
import random
import django
django.setup()
from django.utils import timezone
from accounts.models import InterestProfile, Subscriber
from recommender.models import Paper
rng = random.Random(0)
papers = list(Paper.objects.order_by("pk").values_list("pk", "title", "categories"))
now = timezone.now()
subscribers = Subscriber.objects.bulk_create(
    Subscriber(email=f"reader-{{i}}@example.org", status="active", confirmed_at=now,
               consent_at=now, consent_source="bench", next_digest_at=now)
    for i in range({count})
)
profiles = []
seeds = []
for i, subscriber in enumerate(subscribers):
    pk, title, categories = rng.choice(papers)
    words = [w for w in title.split() if len(w) > 5][:2]
    profile = InterestProfile(
        subscriber=subscriber, interests_text=title,
        keywords=words if i % 3 == 0 else [],
        categories=categories[:1] if i % 5 == 0 else [],
        send_hour=0,
    )
    profiles.append(profile)
    if i % 10 == 0:
        seeds.append((profile, rng.choice(papers)[0]))
InterestProfile.objects.bulk_create(profiles)
Through = InterestProfile.seed_papers.through
Through.objects.bulk_create(
    Through(interestprofile_id=profile.pk, paper_id=paper_id) for profile, paper_id in seeds
)
"""
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)


RESET_SQL = (
    "DELETE FROM recommender_digestitem; DELETE FROM recommender_deliveryevent; "
    "DELETE FROM recommender_digest; "
    "UPDATE accounts_subscriber SET next_digest_at = now() - interval '1 minute', "
    "last_digest_at = NULL;"
)


def reset(database_url: str) -> None:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        for statement in RESET_SQL.split(";"):
            if statement.strip():
                conn.execute(statement)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--fit-papers", type=int, default=0)
    parser.add_argument("--day", default="2026-06-05")
    parser.add_argument("--data", type=Path, default=dump.DEFAULT_DATA)
    parser.add_argument("--baseline", type=Path, help="another checkout, run alternately")
    parser.add_argument("--profile", type=Path, help="cProfile each worker run into DIR/<run>.prof")
    parser.add_argument("--sink", nargs=2, metavar=("PORT", "DIR"))
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--floor", nargs=2, metavar=("PORT", "DIR"))
    args = parser.parse_args()
    if args.sink:
        return run_sink(int(args.sink[0]), Path(args.sink[1]))
    if args.worker:
        return run_worker()
    if args.floor:
        return run_floor(int(args.floor[0]), Path(args.floor[1]))

    ensure_redis()
    records = [r for r in dump.load(args.data) if r["first_seen"] <= args.day]
    day_count = sum(r["first_seen"] == args.day for r in records)
    tmp = Path(tempfile.mkdtemp(prefix="delivery-bench-"))
    with fresh_postgres_database() as database_url:
        port = free_port()
        env = production_env(
            tmp,
            DATABASE_URL=database_url,
            EMAIL_PROVIDER="smtp",
            EMAIL_URL=f"smtp://127.0.0.1:{port}",
            LOG_LEVEL="WARNING",
        )
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            env["BENCH_PROFILE_DIR"] = str(args.profile.resolve())
        # The task code runs eagerly in the worker process; the cache is Redis, as in
        # production (a database of its own: each run clears the cache, which flushes it).
        env["REDIS_URL"] = "redis://127.0.0.1:6379/5"
        env["CELERY_BROKER_URL"] = ""
        env["CELERY_RESULT_BACKEND"] = ""
        if args.fit_papers:
            env["RECOMMENDER_FIT_MAX_PAPERS"] = str(args.fit_papers)
        log(f"database {database_url.rsplit('/', 1)[1]}; {len(records)} papers up to {args.day}")
        write_dump(records, tmp / "papers.jsonl.gz")
        manage(env, "migrate", "--noinput", timeout=600)
        started = time.perf_counter()
        manage(env, "ingest", str(tmp / "papers.jsonl.gz"), timeout=1800)
        log(f"ingested in {time.perf_counter() - started:.0f} s; {day_count} papers on {args.day}")
        started = time.perf_counter()
        manage(env, "refit_model", timeout=3600)
        log(f"fitted in {time.perf_counter() - started:.0f} s")
        create_subscribers(env, args.subscribers)
        log(f"{args.subscribers} subscribers, all due")

        rows, baseline_rows = [], []
        for round_number in range(1, args.rounds + 1):
            if args.baseline:
                name = f"base-{round_number}"
                row, _ = one_run(database_url, env, port, tmp, name, args.baseline)
                baseline_rows.append(row)
            row, inbox = one_run(database_url, env, port, tmp, f"ours-{round_number}", ROOT)
            floor_inbox = tmp / f"floor-{round_number}"
            floor_inbox.mkdir()
            sink = start_sink(env, port, floor_inbox)
            try:
                floor_sink = _own_cpu(sink.pid)
                floor = child("floor", env, str(port), str(inbox))
                floor_sink = _own_cpu(sink.pid) - floor_sink
            finally:
                sink.terminate()
                sink.wait()
            row["floor_per_s"] = floor["sent"] / floor["wall"]
            row["floor_sink_ms"] = 1000 * floor_sink / max(floor["sent"], 1)
            for done in [*baseline_rows[-1:], row]:
                done.setdefault("floor_per_s", row["floor_per_s"])
                done.setdefault("floor_sink_ms", row["floor_sink_ms"])
            rows.append(row)
            log(
                f"round {round_number}: ours {row['sent']} digests ({row['per_s']:.0f}/s); "
                f"floor {floor['sent']} in {floor['wall']:.2f} s ({row['floor_per_s']:.0f}/s)"
            )
    if baseline_rows:
        log(f"\nbaseline: {args.baseline}")
        report(baseline_rows, summary=False)
        log("\nthis checkout:")
    report(rows)


def start_sink(env: dict, port: int, inbox: Path) -> subprocess.Popen:
    sink = subprocess.Popen(
        [sys.executable, __file__, "--sink", str(port), str(inbox)], cwd=ROOT, env=env
    )
    wait_for_port("127.0.0.1", port, seconds=20, what="the SMTP sink")
    return sink


def one_run(
    database_url: str, env: dict, port: int, tmp: Path, name: str, root: Path
) -> tuple[dict, Path]:
    """Everyone due again, then one worker (of the checkout at `root`) sends them all to a
    fresh sink; its figures and the sink's inbox."""
    reset(database_url)
    if env.get("BENCH_PROFILE_DIR"):
        env = {**env, "BENCH_PROFILE": f"{env['BENCH_PROFILE_DIR']}/{name}.prof"}
    inbox = tmp / f"sink-{name}"
    inbox.mkdir()
    sink = start_sink(env, port, inbox)
    try:
        pg, sink_cpu = cpu_seconds(name="postgres"), _own_cpu(sink.pid)
        ours = child("worker", env, root=root)
        pg = cpu_seconds(name="postgres") - pg
        sink_cpu = _own_cpu(sink.pid) - sink_cpu
    finally:
        sink.terminate()
        sink.wait()
    sent = len(list(inbox.glob("*.eml")))
    log(f"{name}: {sent} digests in {ours['wall']:.1f} s, worker CPU {ours['cpu']:.1f} s")
    row = {
        "sent": sent,
        "per_s": sent / ours["wall"],
        "cpu_ms": 1000 * ours["cpu"] / max(sent, 1),
        "pg_ms": 1000 * pg / max(sent, 1),
        "sink_ms": 1000 * sink_cpu / max(sent, 1),
        "peak_mib": ours["peak_mib"],
    }
    return row, inbox


def _own_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(rows: list[dict], *, summary: bool = True) -> None:
    def med(key: str) -> float:
        return statistics.median(row[key] for row in rows)

    log("")
    log(
        f"{'round':>5} {'digests/s':>10} {'floor/s':>9} {'x floor':>8} {'worker ms':>10} "
        f"{'pg ms':>7} {'sink ms':>8} {'peak MiB':>9}"
    )
    for i, row in enumerate(rows, 1):
        log(
            f"{i:>5} {row['per_s']:>10.1f} {row['floor_per_s']:>9.1f} "
            f"{row['floor_per_s'] / row['per_s']:>7.1f}x {row['cpu_ms']:>10.1f} "
            f"{row['pg_ms']:>7.1f} {row['sink_ms']:>8.1f} {row['peak_mib']:>9.0f}"
        )
    log(
        "(ms are CPU milliseconds per digest; the sink spends "
        f"{med('floor_sink_ms'):.1f} ms per message on the floor's messages)"
    )
    if not summary:
        return
    print(
        json.dumps(
            {
                "digests_per_s": round(med("per_s"), 1),
                "floor_per_s": round(med("floor_per_s"), 1),
                "cpu_ms_per_digest": round(med("cpu_ms"), 2),
                "pg_cpu_ms_per_digest": round(med("pg_ms"), 2),
                "sink_cpu_ms_per_digest": round(med("sink_ms"), 2),
                "worker_peak_rss_mib": round(med("peak_mib")),
                "rounds": len(rows),
            }
        )
    )


if __name__ == "__main__":
    main()
