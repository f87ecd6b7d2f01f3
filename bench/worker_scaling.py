"""Does more Celery workers mean proportionally less time? The daily digest run, end to end, with
1 worker process and then with more, on the same data, in one run.

    .venv/bin/python bench/worker_scaling.py [--subscribers 2000] [--papers 10000]
                                             [--concurrency 1 2] [--chunk 250]

Sets up a fresh PostgreSQL database with the newest --papers papers of the shared dump (ingested
and fitted with manage.py, as in production) and --subscribers active subscribers whose digests
are due (interest texts from paper titles, a fifth with an arXiv category as well). Then, for
each --concurrency C: a Celery worker is started with docker-compose's worker command and
`--concurrency C` on Redis, dispatch_due_digests claims everyone and fans them out in chunks of
--chunk, and the clock runs until every digest is sent (emails written as .eml files). Digests
are deleted and everyone made due again between runs; built profiles are not cached
(PROFILE_CACHE_SECONDS=0: the cold case, as after the nightly refit), so every run does the
same work. Prints the wall time of each run and its speed-up over the first, which is the
baseline. The database is dropped and the Redis keys deleted at the end.

On this 2-core machine PostgreSQL, Redis and the bench share the cores with the workers, so the
speed-up from 1 to 2 workers is the most this machine can show; on more machines each worker
brings its own cores.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import dump
from bench.proc import children_memory_mib, cpu_seconds, redis_cpu_seconds
from tests.services import (
    compose_command,
    delete_redis_keys,
    ensure_redis,
    fresh_postgres_database,
    manage,
    production_env,
    start,
    stop,
)


def log(message: str) -> None:
    print(message, flush=True)


def write_papers(records: list[dict], path: Path) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")


def create_subscribers(count: int, records: list[dict], seed: int) -> None:
    """`count` active subscribers, due now; interest texts are titles of stored papers."""
    from django.utils import timezone

    from accounts.models import InterestProfile, Subscriber

    rng = random.Random(seed)
    categories = sorted({c for r in records for c in r["categories"] if "." in c})
    now = timezone.now()
    subscribers = Subscriber.objects.bulk_create(
        Subscriber(
            email=f"reader-{i}@example.org",
            status=Subscriber.Status.ACTIVE,
            confirmed_at=now,
            consent_at=now,
            consent_source="bench",
            next_digest_at=now,
        )
        for i in range(count)
    )
    InterestProfile.objects.bulk_create(
        InterestProfile(
            subscriber=subscriber,
            interests_text=dump.clean(rng.choice(records)["title"]),
            categories=[rng.choice(categories)] if rng.random() < 0.2 else [],
        )
        for subscriber in subscribers
    )


def make_everyone_due(outbox: Path) -> None:
    """Back to the state before the first run: no digests, everyone due, an empty outbox, and
    the deleted rows vacuumed so that later runs do not write into a bloated table."""
    from django.db import connection
    from django.utils import timezone

    from accounts.models import Subscriber
    from recommender.models import DeliveryEvent, Digest

    DeliveryEvent.objects.all().delete()
    Digest.objects.all().delete()
    Subscriber.objects.update(next_digest_at=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    for message in outbox.glob("*.eml"):
        message.unlink()


def mib(children: list[dict[str, float]], key: str) -> str:
    return ", ".join(f"{child[key]:.0f}" for child in children) + " MiB"


def run_once(env: dict, tmp: Path, concurrency: int, subscribers: int) -> float:
    """Seconds from dispatch until every due subscriber's digest is done, with one worker of
    `concurrency` pool processes; logs the cores the pool processes, PostgreSQL and Redis kept
    busy meanwhile."""
    from recommender import tasks
    from recommender.models import Digest

    command = compose_command("worker")
    command[command.index("--concurrency") + 1] = str(concurrency)
    worker_log = tmp / f"worker-{concurrency}.log"
    worker = start(command, env, worker_log)
    try:
        deadline = time.monotonic() + 60
        while "ready." not in worker_log.read_text():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{worker_log.read_text()[-2000:]}")
            time.sleep(0.2)
        started = time.monotonic()
        cpu_before = (
            cpu_seconds(parent=worker.pid),
            cpu_seconds(name="postgres"),
            redis_cpu_seconds(),
        )
        dispatched = tasks.dispatch_due_digests()
        dispatch_seconds = time.monotonic() - started
        assert dispatched == subscribers, f"dispatched {dispatched} of {subscribers}"
        # Done when every digest is sent, or skipped (nothing matched) or failed for good.
        done = [Digest.Status.SENT, Digest.Status.SKIPPED, Digest.Status.FAILED]
        deadline = started + 1800
        while (finished := Digest.objects.filter(status__in=done).count()) < subscribers:
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{finished}/{subscribers} done:\n{worker_log.read_text()[-2000:]}"
                )
            time.sleep(0.25)
        seconds = time.monotonic() - started
        cpu_after = (
            cpu_seconds(parent=worker.pid),
            cpu_seconds(name="postgres"),
            redis_cpu_seconds(),
        )
        workers, postgres, redis = (
            (end - start) / seconds for start, end in zip(cpu_before, cpu_after, strict=True)
        )
        sent = Digest.objects.filter(status=Digest.Status.SENT).count()
        children = children_memory_mib(worker.pid)
        log(
            f"  {concurrency} worker process(es): {seconds:.1f} s, {sent} digests sent (claiming"
            f" and queueing took {dispatch_seconds:.1f} s of it); cores busy: workers"
            f" {workers:.2f}, PostgreSQL {postgres:.2f}, Redis {redis:.2f}; pool children: peak"
            f" RSS {mib(children, 'peak')}, RSS now {mib(children, 'rss')},"
            f" PSS now {mib(children, 'pss')}"
        )
        return seconds
    finally:
        stop(worker)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=dump.DEFAULT_DATA)
    parser.add_argument("--papers", type=int, default=10_000, help="newest papers of the dump")
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 2, 1, 2], help="worker processes, per run"
    )
    parser.add_argument("--chunk", type=int, default=250, help="DIGEST_CHUNK_SIZE")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    ensure_redis()
    records = dump.load(args.data)[-args.papers :]
    run_id = uuid.uuid4().hex[:8]
    with fresh_postgres_database() as database_url, tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        env = production_env(
            tmp,
            DATABASE_URL=database_url,
            REDIS_URL="redis://127.0.0.1:6379/0",
            CACHE_KEY_PREFIX=f"scaling-{run_id}",
            CELERY_QUEUE=f"scaling-{run_id}",
            DJANGO_SECRET_KEY=uuid.uuid4().hex * 2,
            EMAIL_PROVIDER="file",
            EMAIL_OUTBOX_DIR=str(tmp / "outbox"),
            RECOMMENDER_MODEL_DIR=str(tmp / "models"),
            PROFILE_CACHE_SECONDS="0",
            DIGEST_CHUNK_SIZE=str(args.chunk),
            LOG_LEVEL="WARNING",
        )
        try:
            write_papers(records, tmp / "papers.jsonl.gz")
            manage(env, "migrate", "--noinput", "-v0")
            log(manage(env, "ingest", str(tmp / "papers.jsonl.gz")).stdout.strip().splitlines()[-1])
            log(manage(env, "refit_model", timeout=900).stdout.strip().splitlines()[-1])
            # This process dispatches and watches, through the same database and broker.
            os.environ.update(env)
            import django

            django.setup()
            create_subscribers(args.subscribers, records, args.seed)
            log(
                f"{args.subscribers} subscribers, chunks of {args.chunk}, {os.cpu_count()} CPUs; "
                f"load average before: {os.getloadavg()[0]:.2f}"
            )
            results = []
            for concurrency in args.concurrency:
                make_everyone_due(tmp / "outbox")
                results.append((concurrency, run_once(env, tmp, concurrency, args.subscribers)))
        finally:
            delete_redis_keys(f"*scaling-{run_id}*")

    # The baseline is the first run's setting, taken as the best of its runs (repeat a setting,
    # e.g. --concurrency 1 2 1 2, to see how much runs of one setting differ).
    first = args.concurrency[0]
    baseline = min(seconds for concurrency, seconds in results if concurrency == first)
    log(f"{'worker processes':>16} {'seconds':>8} {'digests/s':>10} {'speed-up':>9} {'ideal':>6}")
    for concurrency, seconds in results:
        log(
            f"{concurrency:>16} {seconds:8.1f} {args.subscribers / seconds:10.1f}"
            f" {baseline / seconds:9.2f} {concurrency / first:6.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
