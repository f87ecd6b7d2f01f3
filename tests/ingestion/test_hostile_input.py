"""Hostile or odd real input (issue 19): limits, impossible dates, freshness of searches and
backfills, trending signals that never go backwards, the APIs' own error answers, DOI and journal
reference. Each case as an operator or a reader meets it: command output, rows, the digest email.
"""

from __future__ import annotations

import gzip
import json
import re
import tempfile
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from io import StringIO
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from recommender.delivery import sending
from recommender.ingestion import ingest
from recommender.ingestion.sources import Limits, PaperRecord, Rejection, parse_path
from recommender.models import Digest, DigestItem, Paper
from recommender.ranking.candidates import recent_papers
from tests.helpers import DUMP_SLICE, FIXTURES, serving_apis

HF_EVENING = FIXTURES / "hf-daily-papers-2025-03-19-evening.json"  # 74 upvotes, 3 comments
HF_MORNING = FIXTURES / "hf-daily-papers-2025-03-19-morning.json"  # 64 upvotes, 2 comments
HF_ERROR = FIXTURES / "hf-error-not-found.json"
ARXIV_ERROR = FIXTURES / "arxiv-error-id-list-abc.xml"
BACKFILL = FIXTURES / "arxiv-search-backfill.xml"  # 4 papers of 2001-2023, 1 of 2025-03-19
TODAY = date(2025, 3, 20)

pytestmark = pytest.mark.django_db


def run_ingest(*args: str) -> tuple[str, str, int]:
    out, err = StringIO(), StringIO()
    try:
        call_command("ingest", *args, stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue() + str(error), error.returncode
    return out.getvalue(), err.getvalue(), 0


def paper_line(number: int, **fields) -> str:
    obj = {
        "id": f"2501.{number:05d}",
        "title": f"Paper {number}",
        "summary": "An abstract.",
        "authors": ["Ada Lovelace"],
        "first_seen": "2025-03-19",
        **fields,
    }
    return json.dumps(obj) + "\n"


# --- 1. Limits --------------------------------------------------------------------------------


def test_it_rejects_a_huge_title_and_abstract_naming_the_limit_and_stores_the_rest(tmp_path):
    path = tmp_path / "hostile.jsonl"
    path.write_text(
        paper_line(1)
        + paper_line(2, title="T" * 1_000_000)
        + paper_line(3, summary="word " * 4_000_000)  # a 20 MB abstract
        + paper_line(4, summary="a" * 25_000)
        + paper_line(5, authors=[f"Author {n}" for n in range(10_001)])
        + paper_line(6, comment="c" * 6_000)
        + paper_line(7, abs="https://arxiv.org/abs/" + "x" * 600)
        + paper_line(8)
    )
    out, err, code = run_ingest(str(path))

    assert code == 1
    assert out.strip() == "created 2, updated 0, unchanged 0, rejected 6"
    assert (
        f"rejected {path}:line 2: title has 1,000,000 characters, over the limit of 1,000 "
        "(INGEST_MAX_TITLE_CHARS)" in err
    )
    assert (
        f"rejected {path}:line 3: the line is longer than 2,097,152 bytes "
        "(INGEST_MAX_RECORD_BYTES); skipped" in err
    )
    assert "line 4: abstract has 25,000 characters, over the limit of 20,000" in err
    assert "line 5: 10,001 authors, over the limit of 10,000 (INGEST_MAX_AUTHORS)" in err
    assert "line 6: comment has 6,000 characters, over the limit of 5,000" in err
    assert "line 7: abs_url has 622 characters, over the limit of 500 (INGEST_MAX_URL_CHARS)" in err
    assert sorted(Paper.objects.values_list("arxiv_id", flat=True)) == ["2501.00001", "2501.00008"]


def test_it_stops_a_gzip_bomb_at_the_decompressed_limit_keeping_the_papers_before(
    tmp_path, settings
):
    settings.INGEST_MAX_DECOMPRESSED_BYTES = 8 << 20
    path = tmp_path / "bomb.jsonl.gz"
    with gzip.open(path, "wb") as out:
        out.write(paper_line(1).encode())
        for _ in range(64):  # 64 MB of one abstract's worth of spaces, a few KB compressed
            out.write(b" " * (1 << 20))
        out.write(b"\n" + paper_line(2).encode())
    assert path.stat().st_size < 200_000

    out, err, code = run_ingest(str(path))

    assert code == 1
    assert out.strip() == "created 1, updated 0, unchanged 0, rejected 2"
    assert f"rejected {path}:line 2: the line is longer than 2,097,152 bytes" in err
    assert (
        f"rejected {path}:line 2: the file holds more than 8,388,608 bytes once decompressed "
        "(INGEST_MAX_DECOMPRESSED_BYTES); the rest of the file was not read" in err
    )
    assert list(Paper.objects.values_list("arxiv_id", flat=True)) == ["2501.00001"]


def test_it_reads_no_more_records_of_a_file_than_the_limit(settings):
    settings.INGEST_MAX_RECORDS_PER_FILE = 3
    out, err, code = run_ingest(str(DUMP_SLICE))

    assert code == 1
    assert out.strip() == "created 3, updated 0, unchanged 0, rejected 1"
    assert (
        f"rejected {DUMP_SLICE}: more than 3 records (INGEST_MAX_RECORDS_PER_FILE); "
        "the rest of the file was not read" in err
    )


def test_it_refuses_a_file_over_the_size_limit_without_reading_it(settings):
    settings.INGEST_MAX_FILE_BYTES = 1000
    _out, err, code = run_ingest(str(DUMP_SLICE))

    assert code == 1
    size = DUMP_SLICE.stat().st_size
    assert "over the limit of 1,000 (INGEST_MAX_FILE_BYTES); nothing was read" in err
    assert f"the file has {size:,} bytes" in err
    assert not Paper.objects.exists()


def test_it_does_not_read_a_whole_read_document_past_its_limit(tmp_path, settings):
    settings.INGEST_MAX_DOCUMENT_BYTES = 1000
    path = tmp_path / "listing.json.gz"
    path.write_bytes(gzip.compress(HF_EVENING.read_bytes() * 3))

    out, err, code = run_ingest(str(path), "--format", "hf-json")

    assert (code, out.strip()) == (1, "created 0, updated 0, unchanged 0, rejected 1")
    assert (
        f"rejected {path}: the file holds more than 1,000 bytes (once decompressed); over the "
        "limit for formats read whole (INGEST_MAX_DOCUMENT_BYTES); not read" in err
    )


def test_it_skips_an_oversized_atom_entry_as_it_streams_in(tmp_path, settings):
    settings.INGEST_MAX_RECORD_BYTES = 100_000
    text = BACKFILL.read_text()
    head, rest = text.split("<summary>", 1)
    path = tmp_path / "huge-entry.xml"
    path.write_text(head + "<summary>" + "x " * 200_000 + rest)

    items = list(parse_path(path))
    rejected = [item for item in items if isinstance(item, Rejection)]

    assert [r.reason for r in rejected] == [
        "the entry holds more than 100,000 characters of text (INGEST_MAX_RECORD_BYTES); skipped"
    ]
    assert len([item for item in items if isinstance(item, PaperRecord)]) == 4


def record_lengths() -> st.SearchStrategy:
    return st.fixed_dictionaries(
        {
            "title": st.integers(1, 1_200),
            "abstract": st.integers(1, 21_000),
            "authors": st.integers(0, 30),
            "author": st.integers(1, 1_100),
            "comment": st.integers(0, 5_500),
        }
    )


@hypothesis_settings(max_examples=40, deadline=None)
@given(lengths=record_lengths())
def test_a_record_is_kept_exactly_when_every_field_is_within_its_limit(lengths):
    limits = Limits(authors=20)
    line = paper_line(
        1,
        title="t" * lengths["title"],
        summary="a" * lengths["abstract"],
        authors=["n" * lengths["author"] + str(n) for n in range(lengths["authors"])],
        comment="c" * lengths["comment"],
    )
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "one.jsonl"
        path.write_text(line)
        [item] = list(parse_path(path, "jsonl", limits=limits))
    author_chars = lengths["author"] + len(str(max(lengths["authors"] - 1, 0)))
    within = (
        lengths["title"] <= limits.title_chars
        and lengths["abstract"] <= limits.abstract_chars
        and lengths["authors"] <= limits.authors
        and (lengths["authors"] == 0 or author_chars <= limits.author_chars)
        and lengths["comment"] <= limits.comment_chars
    )
    assert isinstance(item, PaperRecord) == within
    if not within:
        assert item.location.endswith("one.jsonl:line 1")
        assert "over the limit of" in item.reason


# --- 2. Dates ---------------------------------------------------------------------------------


def test_it_rejects_listing_days_and_publication_times_that_cannot_be(tmp_path):
    path = tmp_path / "dates.jsonl"
    path.write_text(
        paper_line(1)
        + paper_line(2, first_seen="9999-12-31")
        + paper_line(3, first_seen="1985-06-01")
    )
    hf = tmp_path / "hf.json"
    [item] = json.loads(HF_EVENING.read_text())
    item["paper"]["publishedAt"] = "2099-01-01T00:00:00.000Z"
    hf.write_text(json.dumps([item]))

    out, err, code = run_ingest(str(path), str(hf))

    tomorrow = (timezone.now() + timedelta(hours=24)).date().isoformat()
    assert code == 1
    assert out.strip() == "created 1, updated 0, unchanged 0, rejected 3"
    assert (
        f"rejected {path}:line 2: listing day 9999-12-31 is in the future (after {tomorrow}, "
        "now plus INGEST_CLOCK_SKEW_HOURS)" in err
    )
    assert (
        f"rejected {path}:line 3: listing day 1985-06-01 is before arXiv existed (1991-08)" in err
    )
    assert "(item 1): publication time 2099-01-01 00:00 UTC is in the future" in err


@hypothesis_settings(max_examples=60, deadline=None)
@given(day=st.dates(min_value=date(1900, 1, 1), max_value=date(9999, 12, 31)))
def test_a_listing_day_is_kept_exactly_when_arxiv_existed_and_it_is_not_ahead_of_the_clock(day):
    now = datetime(2025, 3, 20, 12, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "one.jsonl"
        path.write_text(paper_line(1, first_seen=day.isoformat()))
        [item] = list(parse_path(path, "jsonl", limits=Limits(), now=now))
    assert isinstance(item, PaperRecord) == (date(1991, 8, 1) <= day <= date(2025, 3, 21))


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    moment=st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    )
)
def test_a_publication_time_is_kept_exactly_when_it_is_sane(moment):
    now = datetime(2025, 3, 20, 12, tzinfo=UTC)
    [item] = json.loads(HF_EVENING.read_text())
    item["paper"]["publishedAt"] = moment.isoformat()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "hf.json"
        path.write_text(json.dumps([item]))
        [parsed] = list(
            parse_path(path, "hf-json", listing_date=date(2025, 3, 19), limits=Limits(), now=now)
        )
    sane = date(1991, 8, 1) <= moment.date() and moment <= now + timedelta(hours=24)
    assert isinstance(parsed, PaperRecord) == sane


def test_one_row_dated_in_the_future_no_longer_empties_the_recent_papers(make_paper):
    today = timezone.now().date()
    listed = make_paper(first_seen=today)
    make_paper(first_seen=date(9999, 12, 31))  # stored before the date checks existed

    assert list(recent_papers(days=2)) == [listed]


def test_recent_papers_end_at_the_newest_listing_day_held_when_the_clock_is_ahead(make_paper):
    newest = make_paper(first_seen=date(2026, 6, 30))
    make_paper(first_seen=date(2026, 6, 20))

    assert list(recent_papers(days=2, today=date(2026, 12, 1))) == [newest]


# --- 3. Freshness -----------------------------------------------------------------------------


def test_a_search_of_old_papers_enriches_rows_without_becoming_todays_candidates():
    summary = ingest.ingest_path(BACKFILL, today=TODAY)

    assert summary.counts() == {"created": 5, "updated": 0, "unchanged": 0, "rejected": 0}
    assert dict(Paper.objects.values_list("arxiv_id", "first_seen")) == {
        "cs/0112017": date(2001, 12, 13),
        "1207.0580": date(2012, 7, 3),
        "1412.6980": date(2014, 12, 22),
        "2305.18290": date(2023, 5, 29),
        "2503.19999": TODAY,  # submitted yesterday: new to the world, listed today
    }
    recent = recent_papers(days=2, today=TODAY)
    assert list(recent.values_list("arxiv_id", flat=True)) == ["2503.19999"]


# --- 4. Trending signals ----------------------------------------------------------------------


def test_an_older_saved_response_never_lowers_the_upvotes_and_counts_as_unchanged():
    ingest.ingest_path(HF_EVENING, today=TODAY)
    out, _err, code = run_ingest(str(HF_MORNING))

    assert (code, out.strip()) == (0, "created 0, updated 0, unchanged 1, rejected 0")
    paper = Paper.objects.get(arxiv_id="2503.11742")
    assert (paper.upvotes, paper.num_comments) == (74, 3)


def test_a_newer_live_reading_wins_and_an_older_one_never_overwrites_it():
    noon = datetime(2025, 3, 19, 12, tzinfo=UTC)
    ingest.ingest_path(HF_MORNING, today=TODAY, observed_at=noon)
    ingest.ingest_path(HF_EVENING, today=TODAY)  # saved: only raises
    later = ingest.ingest_path(HF_MORNING, today=TODAY, observed_at=noon + timedelta(hours=6))
    paper = Paper.objects.get(arxiv_id="2503.11742")
    assert later.updated == 1  # a newer live reading is the truth, even a lower one
    assert (paper.upvotes, paper.signals_observed_at) == (64, noon + timedelta(hours=6))

    older = ingest.ingest_path(HF_EVENING, today=TODAY, observed_at=noon)
    paper.refresh_from_db()
    assert older.counts()["unchanged"] == 1
    assert paper.upvotes == 64


# --- 5. The APIs' own errors ------------------------------------------------------------------


@pytest.mark.parametrize("format", [None, "hf-json", "jsonl"])
def test_a_saved_hugging_face_error_body_is_reported_with_its_message(format):
    args = [str(HF_ERROR)] + (["--format", format] if format else [])
    out, err, code = run_ingest(*args)

    assert code == 1
    assert out.strip() == "created 0, updated 0, unchanged 0, rejected 1"
    assert (
        f"rejected {HF_ERROR}: the Hugging Face API answered with an error instead of papers: "
        '"Sorry, we can\'t find the page you are looking for." (hint: check the date' in err
    )
    assert "missing title" not in err


@pytest.mark.parametrize("format", [None, "arxiv-atom"])
def test_a_saved_arxiv_error_feed_is_reported_with_its_message(format):
    args = [str(ARXIV_ERROR)] + (["--format", format] if format else [])
    _out, err, code = run_ingest(*args)

    assert code == 1
    assert (
        f"rejected {ARXIV_ERROR}: the arXiv API answered with an error instead of papers: "
        "'incorrect id format for abc' (hint: check the query" in err
    )
    assert "not an arXiv id" not in err


class ErrorHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/api/daily_papers"):
            status, body = 404, HF_ERROR.read_bytes()
        else:  # the arXiv API answers a bad query with 200 and an error feed
            status, body = 200, ARXIV_ERROR.read_bytes()
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        return None


@pytest.fixture
def error_apis(settings, tmp_path):
    with serving_apis(ErrorHandler, settings, tmp_path) as server:
        yield server


def test_the_fetcher_fails_with_the_apis_own_message(error_apis):
    out, err, code = run_ingest("--fetch", "hf", "--date", "2025-03-19")
    assert (code, out) == (3, "")
    assert (
        "HTTP 404 Not Found: the Hugging Face API answered with an error instead of papers: "
        '"Sorry, we can\'t find the page you are looking for."' in err
    )

    out, err, code = run_ingest("--fetch", "arxiv", "--category", "cs.LG")
    assert (code, out) == (3, "")
    assert (
        "the arXiv API answered with an error instead of papers: 'incorrect id format for abc' "
        "(hint: check the query" in err
    )
    assert not Paper.objects.exists()


# --- 6. Journal reference and DOI -------------------------------------------------------------


def test_it_keeps_the_doi_and_journal_reference_and_the_digest_links_the_doi(make_subscriber):
    ingest.ingest_path(BACKFILL, today=TODAY)
    paper = Paper.objects.get(arxiv_id="2305.18290")
    assert paper.doi == "10.52202/075280-2338"
    assert paper.journal_ref == (
        "Advances in Neural Information Processing Systems 36 (NeurIPS 2023)"
    )

    digest = Digest.objects.create(
        subscriber=make_subscriber(), period_start=TODAY, ranker="trending"
    )
    DigestItem.objects.create(digest=digest, paper=paper, rank=1, score=1.0, reason="trending")
    assert sending.send_digest(digest)
    [message] = mail.outbox
    html = message.alternatives[0][0]
    assert "DOI: https://doi.org/10.52202/075280-2338" in message.body
    assert re.search(r'<a href="https://doi.org/10.52202/075280-2338"[^>]*>DOI</a>', html)
