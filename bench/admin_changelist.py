"""The admin's Paper list on the full dump: how long staff wait for each view of it.

    .venv/bin/python bench/admin_changelist.py [--requests 20] [--limit N] [--data PATH]

Creates a fresh PostgreSQL database on postgres@127.0.0.1:5432 (reached through its `test`
database), ingests the shared dump (74,728 papers; --limit N for a slice) with the project's
ingestion, marks a few papers featured, pinned and hidden, then times in one process, through
Django's full request path (middleware, session, staff login, the admin's rendering):

- the floor: the database work the default page cannot avoid, as bare SQL on the same
  connection (the filtered COUNT and one page of 50 rows in the list's order), and the admin's
  index page (the same request path with no paper query at all);
- the Paper list: default order, sorted by trending, and with each filter and a search.

Prints the median and slowest of --requests requests per view (after two warm-up requests),
each against the target (300 ms for the default list) and as a multiple of the floor. The
database is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

import psycopg

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "data" / "arxiv-stream-2025-2026.jsonl.gz"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
TARGET_MS = 300.0
LIST = "/admin/recommender/paper/"
# The list's columns as the admin numbers them for ?o= (0 is the action checkbox).
TRENDING_COLUMN = 3
VIEWS = {
    "default order": "",
    "sorted by trending": f"?o={TRENDING_COLUMN}",
    "filter: featured": "?curation__exact=featured",
    "filter: last 7 listing days": "?listed=7",
    "filter: category cs.CL": "?category=cs.CL",
    "filter: source arxiv-dump": "?source=arxiv-dump",
    "search: an author": "?q=Zhang",
    "search: title words": "?q=diffusion+transformer",
    "search: arXiv id with version": "?q=2503.11731v2",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None, help="ingest only N papers")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per view")
    parser.add_argument("--explain", action="store_true", help="print each view's query plans")
    args = parser.parse_args()

    sys.path.insert(0, str(PROJECT_ROOT))
    from tests.services import ensure_postgres

    ensure_postgres()
    name = f"digest_admin_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        return run(args, name)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def timed(call, requests: int) -> list[float]:
    for _ in range(2):
        call()
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def run(args: argparse.Namespace, name: str) -> int:
    os.environ.update(
        {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{name}",
            "DJANGO_SETTINGS_MODULE": "digest_site.settings",
            "DIGEST_VAR_DIR": f"/tmp/{name}",
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from recommender.curation import papers_set_curation
    from recommender.ingestion import ingest
    from recommender.models import Paper

    call_command("migrate", verbosity=0)
    print(f"database {name}; PostgreSQL {connection.pg_version}; {os.cpu_count()} CPUs")
    started = time.perf_counter()
    items = ingest.parse_path(args.data, "jsonl")
    if args.limit:
        from itertools import islice

        items = islice(items, args.limit)
    summary = ingest.ingest_records(items)
    papers = Paper.objects.count()
    print(f"ingested {papers:,} papers in {time.perf_counter() - started:.1f} s ({summary.line()})")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    newest = list(Paper.objects.order_by("-first_seen")[:30])
    papers_set_curation(papers=newest[:10], state="featured", by=None)
    papers_set_curation(papers=newest[10:12], state="pinned", by=None)
    papers_set_curation(papers=newest[12:20], state="hidden", by=None)

    staff = User.objects.create_superuser("bench", "bench@example.org", "unused-password-9")
    client = Client()
    client.force_login(staff)

    def page_sql() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM recommender_paper")
            cursor.fetchall()
            cursor.execute(
                "SELECT * FROM recommender_paper ORDER BY first_seen DESC, upvotes DESC, id DESC "
                "LIMIT 50"
            )
            cursor.fetchall()

    def get(url: str):
        def call() -> None:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        return call

    # Sanity: every view answers with papers (a filter that matched nothing would be fast).
    for label, query in VIEWS.items():
        page = client.get(LIST + query).content.decode()
        paginator = page[page.index('class="paginator"') :]
        found = re.search(r"(more than )?(\d+) papers?\b", paginator[: paginator.index("</p>")])
        rows = page.count('class="action-select"')
        count = f"{found.group(1) or ''}{int(found.group(2)):,}"
        print(f"  {label:<32} {count:>16} papers match, {rows} shown")

    if args.explain:
        explain_views(client, connection)

    results = {
        "floor: bare SQL of the page": timed(page_sql, args.requests),
        "floor: admin index page": timed(get("/admin/"), args.requests),
    }
    for label, query in VIEWS.items():
        results[f"list, {label}"] = timed(get(LIST + query), args.requests)

    sql_floor = statistics.median(results["floor: bare SQL of the page"])
    floor = statistics.median(results["floor: admin index page"])
    print(f"\n{args.requests} requests per view after 2 warm-ups; median and slowest, in ms")
    print(
        f"{'view':<46}{'median':>8}{'slowest':>9}{'x SQL':>8}{'x index':>9}"
        f"  target {TARGET_MS:.0f} ms"
    )
    failed = False
    for label, times in results.items():
        median, slowest = statistics.median(times), max(times)
        verdict = ""
        if label.startswith("list"):
            verdict = "ok" if median < TARGET_MS else "OVER"
            failed |= label == "list, default order" and median >= TARGET_MS
        print(
            f"{label:<46}{median:>8.1f}{slowest:>9.1f}{median / sql_floor:>7.1f}x"
            f"{median / floor:>8.1f}x  {verdict}"
        )
    return 1 if failed else 0


def explain_views(client, connection) -> None:
    """Each view's slowest query and the plan PostgreSQL chose for it."""
    from django.test.utils import CaptureQueriesContext

    for label, query in VIEWS.items():
        with CaptureQueriesContext(connection) as captured:
            client.get(LIST + query)
        slowest = max(captured.captured_queries, key=lambda q: float(q["time"]))
        print(f"\n{label}: slowest query {float(slowest['time']) * 1000:.1f} ms")
        print(f"  {slowest['sql'][:300]}")
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN ANALYZE " + slowest["sql"])
            for (line,) in cursor.fetchall()[:8]:
                print(f"    {line}")


if __name__ == "__main__":
    sys.exit(main())
