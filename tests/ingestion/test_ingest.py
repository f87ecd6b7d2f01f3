"""Storing records: identity, dedup, enrichment, zero writes on re-ingest, and bad input."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recommender.ingestion import ingest
from recommender.ingestion.sources import PaperRecord, Rejection, parse_path
from recommender.models import Paper
from tests.helpers import ATOM_FEED, DUMP_SLICE, FIXTURES, HF_LISTING

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 22)
PAGE_BARE = FIXTURES / "page-bare.txt"


def snapshot() -> list[dict]:
    return list(Paper.objects.order_by("pk").values())


def record(**fields) -> PaperRecord:
    defaults = {"source": "arxiv-dump", "location": "test:line 1", "title": "T", "abstract": "A"}
    return PaperRecord(**{**defaults, **fields})


def writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE"))]


def test_it_stores_every_record_once_and_writes_nothing_when_reingesting():
    first = ingest.ingest_path(DUMP_SLICE, today=TODAY)
    stored = snapshot()

    with CaptureQueriesContext(connection) as queries:
        second = ingest.ingest_path(DUMP_SLICE, today=TODAY)

    assert first.counts() == {"created": 40, "updated": 0, "unchanged": 0, "rejected": 0}
    assert second.counts() == {"created": 0, "updated": 0, "unchanged": 40, "rejected": 0}
    assert writes(queries.captured_queries) == []
    assert snapshot() == stored
    paper = Paper.objects.get(arxiv_id="2503.11731")
    assert (
        paper.title_key
        == "industrial grade sensor simulation via gaussian splatting a modular "
        + ("framework for scalable editing and full stack validation")
    )
    assert paper.primary_category == "cs.CV"
    assert paper.sources == ["arxiv-dump"]
    assert paper.first_seen == date(2025, 3, 18)


def test_it_stores_in_bulk_a_few_queries_per_batch():
    with CaptureQueriesContext(connection) as queries:
        summary = ingest.ingest_path(DUMP_SLICE, today=TODAY, batch_size=20)
    assert summary.created == 40
    # Per batch: one SELECT of existing rows, one INSERT (plus savepoint statements).
    assert len(writes(queries.captured_queries)) == 2


def test_it_enriches_a_dump_paper_with_hf_signals_and_keeps_the_better_bibliography():
    ingest.ingest_path(DUMP_SLICE, today=TODAY)
    before = Paper.objects.get(arxiv_id="2503.11742")

    summary = ingest.ingest_path(HF_LISTING, today=TODAY)

    assert summary.counts() == {"created": 2, "updated": 1, "unchanged": 0, "rejected": 1}
    paper = Paper.objects.get(arxiv_id="2503.11742")
    assert Paper.objects.filter(title_key=before.title_key).count() == 1
    assert paper.upvotes == 12
    assert paper.num_comments == 3
    assert paper.code_url == "https://github.com/example-lab/unsafe-weights-manipulation"
    assert paper.project_url == "https://example-lab.github.io/uwm/"
    assert paper.keywords == ["vision-language models", "safety evaluation", "weight manipulation"]
    assert paper.sources == ["arxiv-dump", "hf-daily"]
    # The dump's categories, abstract and listing day stay: HF has none / a worse one / later.
    assert paper.categories == before.categories == ["cs.CV", "cs.AI"]
    assert paper.abstract == before.abstract
    assert paper.first_seen == date(2025, 3, 18)
    assert paper.published_at == datetime(2025, 3, 14, 17, 59, 59, tzinfo=UTC)


def test_it_refreshes_trending_signals_when_a_listing_is_ingested_again(tmp_path):
    ingest.ingest_path(HF_LISTING, today=TODAY)
    listing = json.loads(HF_LISTING.read_text())
    listing[0]["paper"]["upvotes"] = 30
    listing[0]["numComments"] = 4
    later = tmp_path / "later.json"
    later.write_text(json.dumps(listing))

    summary = ingest.ingest_path(later, today=TODAY)

    assert summary.counts() == {"created": 0, "updated": 1, "unchanged": 2, "rejected": 1}
    paper = Paper.objects.get(arxiv_id="2503.11742")
    assert (paper.upvotes, paper.num_comments) == (30, 4)
    assert Paper.objects.count() == 3


def test_it_lets_the_arxiv_api_update_the_dump_text_but_not_the_other_way_round():
    ingest.ingest_path(DUMP_SLICE, today=TODAY)
    ingest.ingest_path(ATOM_FEED, today=TODAY)
    paper = Paper.objects.get(arxiv_id="2503.11731")
    assert paper.abstract.endswith("This second version of the abstract is the newest one.")
    assert paper.comment == "v2: new experiments"
    assert paper.sources == ["arxiv-dump", "arxiv-api"]
    # No listing day, and published long before TODAY: dated by its publication, not TODAY.
    assert Paper.objects.get(arxiv_id="2503.30001").first_seen == date(2025, 3, 19)

    again = ingest.ingest_path(DUMP_SLICE, today=TODAY)

    assert again.unchanged == 40
    assert Paper.objects.get(arxiv_id="2503.11731").abstract == paper.abstract


def test_it_never_replaces_a_full_abstract_with_a_cut_one_from_a_page():
    ingest.ingest_path(DUMP_SLICE, today=TODAY)
    full = Paper.objects.get(arxiv_id="2503.11742").abstract

    summary = ingest.ingest_path(PAGE_BARE, today=TODAY, reference_date=TODAY)

    paper = Paper.objects.get(arxiv_id="2503.11742")  # matched on its title: the page has no id
    assert paper.abstract == full
    assert paper.sources == ["arxiv-dump", "hf-page"]
    assert summary.counts() == {"created": 2, "updated": 1, "unchanged": 0, "rejected": 0}


def test_it_completes_a_cut_abstract_and_adopts_the_id_when_the_dump_arrives_later():
    ingest.ingest_path(PAGE_BARE, today=TODAY, reference_date=TODAY)
    cut = Paper.objects.get(title="Safe Vision-Language Models via Unsafe Weights Manipulation")
    assert cut.arxiv_id is None
    assert cut.abstract.endswith("…")
    assert cut.first_seen == TODAY

    ingest.ingest_path(DUMP_SLICE, today=TODAY)

    paper = Paper.objects.get(pk=cut.pk)
    assert paper.arxiv_id == "2503.11742"
    assert paper.abstract.endswith("methods on safe ones.")
    assert paper.first_seen == date(2025, 3, 18)  # the earlier listing day wins
    assert Paper.objects.filter(title_key=cut.title_key).count() == 1


def test_it_matches_records_without_an_id_on_the_normalised_title():
    ingest.ingest_records([record(arxiv_id="2501.00001", title="Déjà Vu: {LaTeX} Titles")])
    summary = ingest.ingest_records(
        [record(source="hf-page", title="deja vu -- latex titles", abstract="A", upvotes=5)]
    )
    assert summary.updated == 1
    paper = Paper.objects.get()
    assert paper.upvotes == 5
    assert paper.title == "Déjà Vu: {LaTeX} Titles"


def test_it_keeps_two_arxiv_papers_with_the_same_title_apart():
    ingest.ingest_records([record(arxiv_id="2501.00001", title="Attention")])
    summary = ingest.ingest_records([record(arxiv_id="2501.00002", title="Attention")])
    assert summary.created == 1
    assert Paper.objects.count() == 2


def test_it_merges_duplicates_within_one_batch():
    summary = ingest.ingest_records(
        [
            record(arxiv_id="2501.00001", first_seen=date(2025, 1, 3)),
            record(
                arxiv_id="2501.00001", first_seen=date(2025, 1, 2), source="hf-daily", upvotes=4
            ),
            record(title="Only A Title", source="hf-page"),
            record(title="only a title!", source="hf-page", upvotes=2),
        ]
    )
    assert summary.counts() == {"created": 2, "updated": 2, "unchanged": 0, "rejected": 0}
    paper = Paper.objects.get(arxiv_id="2501.00001")
    assert (paper.first_seen, paper.upvotes) == (date(2025, 1, 2), 4)
    assert Paper.objects.get(arxiv_id=None).upvotes == 2


def test_it_does_not_let_a_page_override_trending_signals_from_the_api():
    ingest.ingest_records([record(arxiv_id="2501.00001", source="hf-daily", upvotes=40)])
    ingest.ingest_records([record(title="T", source="hf-page", upvotes=3)])
    assert Paper.objects.get().upvotes == 40


def test_it_stores_the_good_records_of_a_bad_file_and_changes_nothing_stored(tmp_path):
    ingest.ingest_path(DUMP_SLICE, today=TODAY)
    stored = snapshot()
    existing = json.loads(gzip.decompress(DUMP_SLICE.read_bytes()).splitlines()[0])
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(
        b"\n".join(
            [
                json.dumps({**existing, "title": None, "summary": "Replaced?"}).encode(),
                b'{"id": "2501.00002", "title": "Cut sh',
                json.dumps({"id": "2501.00003", "title": "New", "summary": "Good."}).encode(),
                '{"id": "2503.11742", "title": "Caf\u00e9", "summary": "x"}'.encode("cp1252"),
            ]
        )
    )
    rejected = []

    summary = ingest.ingest_path(bad, today=TODAY, on_rejection=rejected.append)

    assert summary.counts() == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 3}
    assert [r.location for r in rejected] == [f"{bad}:line {n}" for n in (1, 2, 4)]
    assert summary.problems == [str(r) for r in rejected]
    assert Paper.objects.get(arxiv_id="2501.00003").title == "New"
    assert snapshot()[: len(stored)] == stored


def test_it_retries_a_failing_batch_record_by_record_and_rejects_only_the_bad_one():
    # A negative count passes no parser, but callers may build records themselves; the
    # database's CHECK constraint refuses it, which fails the whole batch first.
    items = [
        record(arxiv_id="2501.00001"),
        record(arxiv_id="2501.00002", location="mine:record 2", upvotes=-1, source="hf-daily"),
        record(arxiv_id="2501.00003"),
    ]
    rejected = []

    summary = ingest.ingest_records(items, on_rejection=rejected.append)

    assert summary.counts() == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 1}
    assert [r.location for r in rejected] == ["mine:record 2"]
    assert "database refused" in rejected[0].reason
    assert set(Paper.objects.values_list("arxiv_id", flat=True)) == {"2501.00001", "2501.00003"}


def test_it_rejects_a_record_without_an_id_or_a_title_to_match_on():
    summary = ingest.ingest_records([record(title="深度学习", source="hf-page")])
    assert summary.rejected == 1
    assert "title" in summary.problems[0]
    assert not Paper.objects.exists()


def test_it_counts_rejections_from_the_parser_and_reports_progress():
    seen = []
    items = [record(arxiv_id=f"2501.{n:05d}", title=f"Paper {n}") for n in range(1, 13)]
    items.insert(3, Rejection("feed:line 9", "missing title"))

    summary = ingest.ingest_records(
        items, batch_size=4, progress_every=5, on_progress=lambda s: seen.append(s.seen)
    )

    assert summary.counts() == {"created": 12, "updated": 0, "unchanged": 0, "rejected": 1}
    assert summary.problems == ["feed:line 9: missing title"]
    assert seen == [5, 13]


def test_it_keeps_the_old_jsonl_entry_point_working():
    assert ingest.ingest_jsonl(DUMP_SLICE).created == 40


def test_it_merges_in_place_and_names_the_changed_fields():
    paper = ingest.new_paper(record(arxiv_id="2501.00001", categories=["cs.LG"]), today=TODAY)
    changed = ingest.merge_record(
        paper,
        record(
            arxiv_id="2501.00001",
            source="hf-daily",
            title="Another title",
            upvotes=0,
            code_url="https://github.com/x/y",
        ),
    )
    assert sorted(changed) == ["code_url", "sources"]  # upvotes 0 equals the default
    assert paper.title == "T"
    assert ingest.merge_record(paper, record(arxiv_id="2501.00001", source="hf-daily")) == []


def test_it_composes_parse_path_and_ingest_records_for_background_loads():
    items = parse_path(DUMP_SLICE)
    assert ingest.ingest_records(items).created == 40


def test_it_never_lets_a_cut_abstract_replace_a_full_one_even_from_the_same_source():
    full = "We show that graph transformers need no positional encodings at all."
    ingest.ingest_records([record(title="Graphs", abstract=full, source="hf-page")])
    cut_marked = record(title="Graphs", abstract="We show that graph…", source="hf-page")
    cut_marked.abstract_truncated = True
    cut_silently = record(
        title="Graphs", abstract="We show that graph transformers", source="hf-page"
    )

    summary = ingest.ingest_records([cut_marked, cut_silently])

    assert summary.unchanged == 2
    assert Paper.objects.get().abstract == full
    # A different full abstract from the same source does replace it (a corrected page).
    ingest.ingest_records(
        [record(title="Graphs", abstract="A corrected abstract.", source="hf-page")]
    )
    assert Paper.objects.get().abstract == "A corrected abstract."


# --- arXiv versions ---------------------------------------------------------------------------

V1, V2 = "2503.11731v1", "2503.11731v2"  # the two versions of one paper in ATOM_FEED


def atom_feed(tmp_path, *versioned_ids: str) -> Path:
    """ATOM_FEED holding only the entries of the given versioned ids."""
    head, *entries = ATOM_FEED.read_text().removesuffix("</feed>\n").split("  <entry>")
    kept = [e for e in entries if any(f"/abs/{v}</id>" in e for v in versioned_ids)]
    path = tmp_path / f"feed-{'-'.join(versioned_ids)}.xml"
    path.write_text("  <entry>".join([head, *kept]) + "</feed>\n")
    return path


def hf_listing_of(tmp_path, versioned_id: str) -> Path:
    """HF_LISTING's first item (12 upvotes, 3 comments, links, keywords) under another id."""
    [item, *_] = json.loads(HF_LISTING.read_text())
    item["paper"]["id"] = versioned_id
    path = tmp_path / f"hf-{versioned_id}.json"
    path.write_text(json.dumps([item]))
    return path


def test_it_keeps_the_newer_versions_text_when_an_older_version_is_ingested_later(tmp_path):
    ingest.ingest_path(atom_feed(tmp_path, V2), today=TODAY)
    stored = snapshot()

    with CaptureQueriesContext(connection) as queries:
        summary = ingest.ingest_path(atom_feed(tmp_path, V1), today=TODAY)

    assert summary.counts() == {"created": 0, "updated": 0, "unchanged": 1, "rejected": 0}
    assert writes(queries.captured_queries) == []
    assert snapshot() == stored
    paper = Paper.objects.get(arxiv_id="2503.11731")
    assert paper.arxiv_version == 2
    assert paper.title.endswith(
        "A Modular Framework for Scalable Editing and Full-Stack Validation"
    )
    assert paper.abstract.endswith("This second version of the abstract is the newest one.")
    assert paper.comment == "v2: new experiments"
    assert paper.authors == ["Xianming Zeng", "Sicong Du"]


def test_it_lets_an_older_version_fill_no_field_the_newer_one_left_empty():
    newer = record(source="arxiv-api", arxiv_id="2501.00001", arxiv_version=3, title="Third")
    older = record(
        source="arxiv-api",
        arxiv_id="2501.00001",
        arxiv_version=1,
        title="First",
        abstract="The first abstract.",
        comment="v1: figures missing",
        authors=["Early Author"],
        categories=["cs.AI"],
        published_at=datetime(2025, 1, 2, tzinfo=UTC),
        first_seen=date(2025, 1, 2),
    )

    summary = ingest.ingest_records([newer, older], today=TODAY)  # one batch: merged in memory

    assert summary.counts() == {"created": 1, "updated": 1, "unchanged": 0, "rejected": 0}
    paper = Paper.objects.get()
    assert (paper.arxiv_version, paper.title, paper.abstract) == (3, "Third", "A")
    assert (paper.comment, paper.authors, paper.categories) == ("", [], [])
    assert paper.published_at is None
    assert paper.first_seen == date(2025, 1, 2)  # the listing day is not the text's


def test_it_moves_to_the_newer_version_when_it_is_ingested_later(tmp_path):
    ingest.ingest_path(atom_feed(tmp_path, V1), today=TODAY)
    first = Paper.objects.get(arxiv_id="2503.11731")
    assert (first.arxiv_version, first.abstract) == (1, "An earlier version of the abstract.")

    summary = ingest.ingest_path(atom_feed(tmp_path, V2), today=TODAY)

    assert summary.counts() == {"created": 0, "updated": 1, "unchanged": 0, "rejected": 0}
    paper = Paper.objects.get(arxiv_id="2503.11731")
    assert paper.arxiv_version == 2
    assert paper.abstract.endswith("This second version of the abstract is the newest one.")
    assert paper.comment == "v2: new experiments"
    assert paper.categories == ["cs.CV", "cs.RO"]
    assert paper.authors == ["Xianming Zeng", "Sicong Du"]


def test_it_keeps_the_version_when_a_source_without_versions_updates_the_text(tmp_path):
    ingest.ingest_path(atom_feed(tmp_path, V2), today=TODAY)
    title = Paper.objects.get(arxiv_id="2503.11731").title
    corrected = record(
        source="arxiv-api", arxiv_id="2503.11731", title=title, abstract="A corrected abstract."
    )

    assert ingest.ingest_path(DUMP_SLICE, today=TODAY).updated == 1  # its first_seen only
    assert ingest.ingest_records([corrected], today=TODAY).updated == 1
    ingest.ingest_path(atom_feed(tmp_path, V1), today=TODAY)

    paper = Paper.objects.get(arxiv_id="2503.11731")
    assert (paper.arxiv_version, paper.abstract) == (2, "A corrected abstract.")
    assert paper.sources == ["arxiv-api", "arxiv-dump"]


def test_it_merges_hugging_face_signals_of_an_older_version_but_not_its_text(tmp_path):
    ingest.ingest_path(atom_feed(tmp_path, V2), today=TODAY)
    before = Paper.objects.get(arxiv_id="2503.11731")

    summary = ingest.ingest_path(hf_listing_of(tmp_path, V1), today=TODAY)

    assert summary.counts() == {"created": 0, "updated": 1, "unchanged": 0, "rejected": 0}
    paper = Paper.objects.get(arxiv_id="2503.11731")
    assert (paper.upvotes, paper.num_comments) == (12, 3)
    assert paper.code_url == "https://github.com/example-lab/unsafe-weights-manipulation"
    assert paper.project_url == "https://example-lab.github.io/uwm/"
    assert paper.keywords == ["vision-language models", "safety evaluation", "weight manipulation"]
    # Its publication day (from the arXiv API, long before TODAY) is earlier than the HF listing.
    assert paper.first_seen == date(2025, 3, 14)
    assert paper.sources == ["arxiv-api", "hf-daily"]
    bibliography = ("arxiv_version", "title", "abstract", "authors", "published_at", "abs_url")
    assert [getattr(paper, name) for name in bibliography] == [
        getattr(before, name) for name in bibliography
    ]


def test_it_writes_nothing_when_reingesting_several_versions_and_sources(tmp_path):
    paths = [
        atom_feed(tmp_path, V2),
        atom_feed(tmp_path, V1),
        hf_listing_of(tmp_path, V1),
        DUMP_SLICE,
        ATOM_FEED,
    ]
    ingest.ingest_paths(paths, today=TODAY)
    stored = snapshot()

    with CaptureQueriesContext(connection) as queries:
        again = ingest.ingest_paths(paths, today=TODAY)

    assert again.counts() == {"created": 0, "updated": 0, "unchanged": 45, "rejected": 0}
    assert writes(queries.captured_queries) == []
    assert snapshot() == stored
    assert Paper.objects.get(arxiv_id="2503.11731").arxiv_version == 2
