"""`manage.py ingest` as an operator runs it: summary, --json, exit codes, messages, live fetch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler
from io import StringIO
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from recommender.ingestion import fetch
from recommender.models import Paper
from recommender.tasks import fetch_daily_papers
from tests.helpers import ATOM_FEED, DUMP_SLICE, FIXTURES, HF_LISTING, LoopbackAPIs, serving_apis
from tests.services import PROJECT_ROOT, fresh_postgres_database, manage, production_env

PAGE_EXAMPLE = FIXTURES / "daily-papers-page-example.txt"


def run_ingest(*args: str) -> tuple[str, str, int]:
    out, err = StringIO(), StringIO()
    try:
        call_command("ingest", *args, stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue() + str(error), error.returncode
    return out.getvalue(), err.getvalue(), 0


# --- Files ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_prints_one_summary_line_and_exits_zero_when_nothing_is_rejected():
    out, _err, code = run_ingest(str(DUMP_SLICE), str(ATOM_FEED))
    assert code == 0
    assert out.strip().splitlines() == ["created 41, updated 1, unchanged 0, rejected 0"]

    out, _err, code = run_ingest(str(DUMP_SLICE), str(ATOM_FEED))
    assert out.strip() == "created 0, updated 0, unchanged 42, rejected 0"
    assert Paper.objects.count() == 41


@pytest.mark.django_db
def test_it_prints_exactly_the_four_counts_as_json():
    out, err, code = run_ingest(str(HF_LISTING), "--json")

    assert json.loads(out) == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 1}
    assert code == 1
    assert f"rejected {HF_LISTING}:line 61 (item 3): missing abstract (summary)" in err


@pytest.mark.django_db
def test_it_names_file_and_line_of_each_rejection_and_stores_the_rest(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"id": "2501.00001", "title": "Good", "summary": "Fine."})
        + "\n{broken\n"
        + json.dumps({"id": "2501.00002", "summary": "No title."})
        + "\n"
    )
    out, err, code = run_ingest(str(bad))

    assert code == 1
    assert out.strip() == "created 1, updated 0, unchanged 0, rejected 2"
    assert f"rejected {bad}:line 2: malformed JSON" in err
    assert f"rejected {bad}:line 3: missing title" in err
    assert "2 record(s) rejected" in err
    assert list(Paper.objects.values_list("arxiv_id", flat=True)) == ["2501.00001"]


@pytest.mark.django_db
def test_it_reads_the_format_given_instead_of_guessing(tmp_path):
    listing = tmp_path / "listing.txt"
    shutil.copy(HF_LISTING, listing)
    _out, err, code = run_ingest(str(listing), "--format", "page-text")
    assert code == 1  # a JSON document read as a page cannot be split into papers
    assert "rejected" in err

    out, _err, _code = run_ingest(str(listing), "--format", "hf-json", "--json")
    assert json.loads(out)["created"] == 3


@pytest.mark.django_db
def test_it_resolves_page_dates_against_the_reference_date_given():
    out, _err, code = run_ingest(str(PAGE_EXAMPLE), "--reference-date", "2026-01-10")
    assert code == 0
    assert out.strip() == "created 37, updated 0, unchanged 0, rejected 0"
    lightweight = Paper.objects.get(title="Building Efficient Lightweight CNN Models")
    assert lightweight.first_seen == date(2025, 1, 26)


@pytest.mark.django_db
def test_it_prints_progress_on_long_runs(tmp_path):
    many = tmp_path / "many.jsonl"
    many.write_text(
        "\n".join(
            json.dumps({"id": f"2502.{n:05d}", "title": f"Paper {n}", "summary": "An abstract."})
            for n in range(1, 5602)
        )
    )
    out, err, code = run_ingest(str(many), "--batch-size", "700")
    assert code == 0
    assert "... 5600 records: created 5600, updated 0, unchanged 0, rejected 0" in err
    assert out.strip() == "created 5601, updated 0, unchanged 0, rejected 0"


@pytest.mark.parametrize(
    "args",
    [
        [],
        [str(DUMP_SLICE), "--fetch", "hf"],
        ["/no/such/file.jsonl"],
        [str(DUMP_SLICE), "--date", "2025-03-18"],
        ["--fetch", "hf", "--category", "cs.LG"],
        ["--fetch", "hf", "--date", "yesterday"],
        ["--fetch", "arxiv", "--format", "jsonl"],
    ],
)
def test_it_exits_with_2_on_usage_errors(args):
    out, err, code = run_ingest(*args)
    assert code == 2
    assert out == ""
    assert err


# --- Live sources, served by a local HTTP server with the saved fixtures ----------------------


class FixtureHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        if self.server.fail:
            self.send_error(503, "Service Unavailable")
            return
        path = urlparse(self.path).path
        body = {"/api/daily_papers": HF_LISTING, "/api/query": ATOM_FEED}.get(path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body.read_bytes())

    def log_message(self, *args) -> None:
        return None


@pytest.fixture
def live_sources(settings, tmp_path):
    with serving_apis(FixtureHandler, settings, tmp_path) as server:
        yield server


@pytest.mark.django_db
def test_it_fetches_a_daily_listing_keeps_the_file_and_stores_it(live_sources, tmp_path):
    out, err, code = run_ingest("--fetch", "hf", "--date", "2025-03-21", "--json")

    assert json.loads(out) == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 1}
    assert code == 1
    saved = tmp_path / "ingest" / "hf-daily-papers-2025-03-21.json"
    # The saved listing holds the response's items, one per line: item 3 is on line 4.
    assert f"rejected {saved}:line 4 (item 3)" in err
    assert json.loads(saved.read_bytes()) == json.loads(HF_LISTING.read_bytes())
    # Four items are fewer than a page: one request.
    assert [parse_qs(urlparse(path).query) for path in live_sources.requests] == [
        {"date": ["2025-03-21"], "limit": ["100"], "p": ["0"]}
    ]
    # The listing day of the request is the papers' first_seen.
    assert set(Paper.objects.values_list("first_seen", flat=True)) == {date(2025, 3, 21)}


@pytest.mark.django_db
def test_it_fetches_arxiv_categories_of_a_day(live_sources):
    out, _err, code = run_ingest(
        "--fetch", "arxiv", "--category", "cs.LG,cs.CL", "--date", "2025-03-19"
    )

    assert code == 0
    assert out.strip() == "created 2, updated 0, unchanged 0, rejected 0"
    query = parse_qs(urlparse(live_sources.requests[0]).query)
    assert query["search_query"] == [
        "(cat:cs.LG OR cat:cs.CL) AND submittedDate:[202503190000 TO 202503192359]"
    ]
    assert query["sortBy"] == ["submittedDate"]


@pytest.mark.django_db
def test_it_exits_with_3_and_a_clear_message_when_a_source_is_down(live_sources):
    live_sources.fail = True
    out, err, code = run_ingest("--fetch", "hf", "--date", "2025-03-21")
    assert code == 3
    assert out == ""
    assert "fetch failed" in err
    assert "HTTP 503" in err
    assert "/api/daily_papers?date=2025-03-21" in err
    assert not Paper.objects.exists()


# --- The Hugging Face API's pages --------------------------------------------------------------


def hf_item(number: int, *, upvotes: int = 1) -> dict:
    return {
        "paper": {
            "id": f"2504.{number:05d}",
            "title": f"Paged paper {number}",
            "summary": "An abstract.",
            "authors": [{"name": "A. Author"}],
            "upvotes": upvotes,
        },
        "publishedAt": "2025-04-02T08:00:00.000Z",
        "numComments": 0,
    }


class PagedHandler(BaseHTTPRequestHandler):
    """Answers with `server.page(p)`: a list of items, or an HTTP status code to fail with."""

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        query = parse_qs(urlparse(self.path).query)
        answer = self.server.page(int(query.get("p", ["0"])[0]))
        if isinstance(answer, int):
            self.send_error(answer)
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(answer if isinstance(answer, bytes) else json.dumps(answer).encode())

    def log_message(self, *args) -> None:
        return None


@pytest.fixture
def hf_pages(settings, tmp_path):
    with serving_apis(PagedHandler, settings, tmp_path) as server:
        server.page = lambda number: []
        yield server


def saved_ids(tmp_path, day: str = "2025-04-02") -> list[str]:
    saved = tmp_path / "ingest" / f"hf-daily-papers-{day}.json"
    return [item["paper"]["id"] for item in json.loads(saved.read_bytes())]


@pytest.mark.django_db
def test_it_fetches_every_page_of_a_busy_day(hf_pages, tmp_path):
    pages = {0: range(100), 1: range(100, 200), 2: range(200, 237)}
    hf_pages.page = lambda number: [hf_item(n) for n in pages.get(number, ())]

    out, _err, code = run_ingest("--fetch", "hf", "--date", "2025-04-02")

    assert code == 0
    assert out.strip() == "created 237, updated 0, unchanged 0, rejected 0"
    assert Paper.objects.count() == 237
    assert saved_ids(tmp_path) == [f"2504.{n:05d}" for n in range(237)]
    assert [parse_qs(urlparse(path).query) for path in hf_pages.requests] == [
        {"date": ["2025-04-02"], "limit": ["100"], "p": [str(number)]} for number in range(3)
    ]


@pytest.mark.django_db
def test_it_keeps_the_first_copy_of_a_paper_the_listing_moved_to_the_next_page(hf_pages, tmp_path):
    # Between the two requests a new paper pushed number 99 from page 0 onto page 1.
    pages = {
        0: [hf_item(n) for n in range(100)],
        1: [hf_item(99, upvotes=50)] + [hf_item(n) for n in range(100, 130)],
    }
    hf_pages.page = lambda number: pages.get(number, [])

    out, _err, code = run_ingest("--fetch", "hf", "--date", "2025-04-02")

    assert code == 0
    assert out.strip() == "created 130, updated 0, unchanged 0, rejected 0"
    assert saved_ids(tmp_path) == [f"2504.{n:05d}" for n in range(130)]
    assert Paper.objects.get(arxiv_id="2504.00099").upvotes == 1


@pytest.mark.django_db
def test_it_stops_at_the_page_cap_when_the_server_ignores_the_page(hf_pages, tmp_path, caplog):
    hf_pages.page = lambda number: [hf_item(n) for n in range(100)]

    out, _err, code = run_ingest("--fetch", "hf", "--date", "2025-04-02")

    assert len(hf_pages.requests) == fetch.HF_MAX_PAGES
    assert code == 0
    assert out.strip() == "created 100, updated 0, unchanged 0, rejected 0"
    assert saved_ids(tmp_path) == [f"2504.{n:05d}" for n in range(100)]
    assert f"stopped after {fetch.HF_MAX_PAGES} full pages (100 papers)" in caplog.text
    assert [
        record.levelname
        for record in caplog.records
        if record.name == "recommender.ingestion.fetch"
    ] == ["WARNING"]


@pytest.mark.django_db
def test_it_fails_the_whole_fetch_and_stores_nothing_when_a_later_page_fails(hf_pages, tmp_path):
    hf_pages.page = lambda number: [hf_item(n) for n in range(100)] if number == 0 else 503

    out, err, code = run_ingest("--fetch", "hf", "--date", "2025-04-02")

    assert code == 3
    assert out == ""
    assert "fetch failed" in err
    assert "HTTP 503" in err
    assert "/api/daily_papers?date=2025-04-02&limit=100&p=1" in err
    assert not Paper.objects.exists()
    assert list(tmp_path.glob("ingest/*")) == []  # no listing, no leftover part file


@pytest.mark.django_db
def test_it_keeps_the_last_complete_listing_when_a_refetch_fails(hf_pages, tmp_path):
    hf_pages.page = lambda number: [hf_item(n) for n in range(3)]
    assert run_ingest("--fetch", "hf", "--date", "2025-04-02")[2] == 0

    hf_pages.page = lambda number: [hf_item(n) for n in range(100)] if number == 0 else 503
    assert run_ingest("--fetch", "hf", "--date", "2025-04-02")[2] == 3

    assert saved_ids(tmp_path) == ["2504.00000", "2504.00001", "2504.00002"]
    assert Paper.objects.count() == 3


@pytest.mark.django_db
def test_it_fails_the_fetch_on_a_page_that_is_not_a_json_list(hf_pages, tmp_path):
    hf_pages.page = lambda number: b"<html>Rate limited</html>"

    out, err, code = run_ingest("--fetch", "hf", "--date", "2025-04-02")

    assert code == 3
    assert out == ""
    assert "p=0: not a Daily Papers page" in err
    assert not Paper.objects.exists()


@pytest.mark.django_db
def test_it_rejects_only_the_item_of_a_page_that_is_not_utf8(hf_pages, tmp_path):
    good, bad = json.dumps(hf_item(1)).encode(), json.dumps(hf_item(2)).encode()
    bad = bad.replace(b"Paged paper 2", b"Paged paper \xff2")
    hf_pages.page = lambda number: b"[" + good + b", " + bad + b"]"

    out, err, code = run_ingest("--fetch", "hf", "--date", "2025-04-02")

    assert code == 1
    assert out.strip() == "created 1, updated 0, unchanged 0, rejected 1"
    assert "line 3 (item 2): not valid UTF-8" in err


def test_it_reports_an_unreachable_host_as_a_fetch_error(settings, tmp_path):
    # Bound, then closed: nothing listens on that port any more.
    server = LoopbackAPIs(FixtureHandler)
    base = server.base
    server.server_close()
    settings.INGEST_HF_API_URL = f"{base}/api/daily_papers"
    with pytest.raises(fetch.FetchError, match="cannot connect"):
        fetch.fetch_listing("hf", day=date(2025, 3, 21), directory=tmp_path)
    assert not (tmp_path / "hf-daily-papers-2025-03-21.json").exists()


@pytest.mark.django_db
def test_it_runs_the_daily_fetch_as_a_celery_task(live_sources):
    result = fetch_daily_papers.apply().get()

    today = timezone.now().date()
    assert result == {
        f"hf {today - timedelta(days=1)}": {
            "created": 3,
            "updated": 0,
            "unchanged": 0,
            "rejected": 1,
        },
        f"hf {today}": {"created": 0, "updated": 0, "unchanged": 3, "rejected": 1},
        "arxiv latest": {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0},
    }
    assert Paper.objects.get(arxiv_id="2503.11742").first_seen == today - timedelta(days=1)
    assert len(live_sources.requests) == 3


def test_it_schedules_the_daily_fetch_with_beat_at_the_configured_hour():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["fetch-daily-papers"]
    assert entry["task"] == "recommender.tasks.fetch_daily_papers"
    assert entry["schedule"].hour == {6}
    assert entry["schedule"].minute == {0}
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(sorted(settings.CELERY_BEAT_SCHEDULE['fetch-daily-papers']['schedule'].hour))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "digest_site.settings",
            "INGEST_FETCH_HOUR_UTC": "9",
        },
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip() == "[9]"


# --- The real command against real PostgreSQL -------------------------------------------------


@pytest.mark.integration
def test_it_ingests_every_source_into_postgresql_and_rereads_them_without_writes(tmp_path):
    with fresh_postgres_database() as database_url:
        env = production_env(tmp_path, DATABASE_URL=database_url)
        manage(env, "migrate", "--noinput")
        files = [str(DUMP_SLICE), str(ATOM_FEED), str(HF_LISTING), str(FIXTURES / "page-bare.txt")]

        def ingest(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                [sys.executable, "manage.py", "ingest", *args],
                cwd=PROJECT_ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )

        first = ingest(*files, "--json")
        assert first.returncode == 1, first.stderr  # the listing's item without an abstract
        assert json.loads(first.stdout) == {
            "created": 45,
            "updated": 3,
            "unchanged": 0,
            "rejected": 1,
        }
        assert f"rejected {HF_LISTING}:line 61 (item 3)" in first.stderr

        def last_write() -> str:
            return manage(
                env,
                "shell",
                "-v0",
                "-c",
                "from django.db.models import Max; from recommender.models import Paper; "
                "print(Paper.objects.aggregate(m=Max('updated_at'))['m'].isoformat())",
            ).stdout.strip()

        written = last_write()
        again = ingest(*files)
        assert again.stdout.strip() == "created 0, updated 0, unchanged 48, rejected 1"
        assert last_write() == written

        pages = manage(env, "ingest", str(PAGE_EXAMPLE), "--reference-date", "2025-11-22")
        assert pages.stdout.strip() == "created 37, updated 0, unchanged 0, rejected 0"

        count = manage(
            env,
            "shell",
            "-v0",
            "-c",
            "from recommender.models import Paper; "
            "p = Paper.objects.get(arxiv_id='2503.11742'); "
            "print(Paper.objects.count(), p.upvotes, p.sources, p.categories)",
        )
        assert count.stdout.strip() == (
            "82 12 ['arxiv-dump', 'hf-daily', 'hf-page'] ['cs.CV', 'cs.AI']"
        )
