"""Ingestion benchmark on a fresh PostgreSQL database.

    .venv/bin/python bench/ingest_bench.py [--limit N] [--naive N] [--data PATH]

1. Baseline: a naive one-row-at-a-time `update_or_create` loop (what the first version of
   ingest did) over the first --naive papers (default 2,000), into an empty table, then again
   over the same papers unchanged. The table is emptied afterwards.
2. Bulk: `recommender.ingest.ingest_path` over the whole shared dump (74,728 papers; --limit N
   for a slice), then the same file again unchanged, which must write nothing: checked with
   PostgreSQL's own counters (rows inserted/updated/deleted in the paper table) and by
   `updated_at`.

Prints papers/s of each phase, the ratios bulk ÷ naive, and the process's peak RSS. The
database is created on postgres@127.0.0.1:5432 (reached through its `test` database) and dropped
at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import uuid
from itertools import islice
from pathlib import Path

import psycopg

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "data" / "arxiv-stream-2025-2026.jsonl.gz"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
TABLE = "recommender_paper"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def table_writes(connection) -> tuple[int, int, int]:
    """Rows inserted, updated, deleted in the paper table, as PostgreSQL counts them."""
    with connection.cursor() as cursor:
        # Statistics are flushed asynchronously; force ours out and read fresh values.
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT pg_stat_clear_snapshot()")
    time.sleep(1.2)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables WHERE relname = %s",
            [TABLE],
        )
        return tuple(cursor.fetchone())


def naive_ingest(records) -> int:
    from recommender.models import Paper

    count = 0
    for record in records:
        Paper.objects.update_or_create(
            arxiv_id=record.arxiv_id,
            defaults={
                "title": record.title,
                "abstract": record.abstract,
                "authors": record.authors,
                "categories": record.categories,
                "comment": record.comment,
                "abs_url": record.abs_url,
                "pdf_url": record.pdf_url,
                "first_seen": record.first_seen,
                "sources": [record.source],
            },
        )
        count += 1
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None, help="bulk-ingest only N papers")
    parser.add_argument("--naive", type=int, default=2000, help="papers for the naive baseline")
    args = parser.parse_args()

    sys.path.insert(0, str(PROJECT_ROOT))
    from tests.services import ensure_postgres

    ensure_postgres()  # starts the machine's PostgreSQL if it is down
    name = f"digest_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        return run(args, name)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(args: argparse.Namespace, name: str) -> int:
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest_site.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from recommender.ingestion import ingest
    from recommender.ingestion.sources import PaperRecord, parse_path
    from recommender.models import Paper

    call_command("migrate", verbosity=0)
    print(f"database {name}; data {args.data}")
    print(f"machine: {os.cpu_count()} CPUs, PostgreSQL {connection.pg_version}")

    # 1. Naive baseline on a slice, into an empty table, then the same slice again.
    slice_records = [
        item
        for item in islice(parse_path(args.data, "jsonl"), args.naive)
        if isinstance(item, PaperRecord)
    ]
    started = time.perf_counter()
    naive_ingest(slice_records)
    naive_seconds = time.perf_counter() - started
    started = time.perf_counter()
    naive_ingest(slice_records)
    naive_again_seconds = time.perf_counter() - started
    naive_rate = len(slice_records) / naive_seconds
    naive_again_rate = len(slice_records) / naive_again_seconds
    print(
        f"naive update_or_create, {len(slice_records)} papers: "
        f"{naive_seconds:.2f} s ({naive_rate:,.0f} papers/s) into an empty table, "
        f"{naive_again_seconds:.2f} s ({naive_again_rate:,.0f} papers/s) unchanged"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLE} RESTART IDENTITY CASCADE")
    slice_records.clear()

    # 2. Bulk ingestion of the whole dump (or --limit papers of it).
    items = parse_path(args.data, "jsonl")
    if args.limit:
        items = islice(items, args.limit)
    rss_before = peak_rss_mib()
    started = time.perf_counter()
    first = ingest.ingest_records(items, on_progress=lambda s: print(f"  ... {s.line()}"))
    bulk_seconds = time.perf_counter() - started
    stored = Paper.objects.count()
    bulk_rate = first.seen / bulk_seconds
    print(
        f"bulk ingest: {first.line()} in {bulk_seconds:.2f} s ({bulk_rate:,.0f} papers/s); "
        f"{stored} rows; peak RSS {peak_rss_mib():.0f} MiB (before: {rss_before:.0f} MiB)"
    )

    # 3. The same input again: nothing may be written.
    newest_update = Paper.objects.order_by("-updated_at").values_list("updated_at", flat=True)[0]
    writes_before = table_writes(connection)
    items = parse_path(args.data, "jsonl")
    if args.limit:
        items = islice(items, args.limit)
    started = time.perf_counter()
    second = ingest.ingest_records(items)
    again_seconds = time.perf_counter() - started
    writes_after = table_writes(connection)
    again_rate = second.seen / again_seconds
    written = [after - before for before, after in zip(writes_before, writes_after, strict=True)]
    touched = Paper.objects.filter(updated_at__gt=newest_update).count()
    print(
        f"unchanged re-ingest: {second.line()} in {again_seconds:.2f} s "
        f"({again_rate:,.0f} papers/s); rows inserted/updated/deleted meanwhile: "
        f"{written[0]}/{written[1]}/{written[2]} (counters before: {writes_before[0]} inserted "
        f"so far); rows with a newer updated_at: {touched}"
    )
    print(
        f"ratio bulk ÷ naive: {bulk_rate / naive_rate:.1f}x ingesting new papers, "
        f"{again_rate / naive_again_rate:.1f}x re-ingesting unchanged ones; "
        f"peak RSS {peak_rss_mib():.0f} MiB"
    )
    ok = second.unchanged == second.seen and not any(written) and touched == 0
    ok = ok and first.rejected == 0 and stored == first.created
    if not ok:
        print("FAILED: the unchanged re-ingestion wrote something, or rows are missing")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
