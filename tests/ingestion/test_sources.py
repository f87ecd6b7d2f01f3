"""Parsers of every source: saved fixtures, their variants, bad input, and fuzzing."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest_site import arxiv_ids
from recommender.ingestion.sources import (
    FORMATS,
    PaperRecord,
    Rejection,
    detect_format,
    parse_path,
)
from tests.helpers import ATOM_FEED, DUMP_SLICE, FIXTURES, HF_LISTING, PAGE_EXAMPLE

# FUZZ_EXAMPLES=2000 for a longer hunt; the default keeps the suite fast.
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)


def records(items) -> list[PaperRecord]:
    return [item for item in items if isinstance(item, PaperRecord)]


def rejections(items) -> list[Rejection]:
    return [item for item in items if isinstance(item, Rejection)]


def parse_bytes(data: bytes, format: str | None, name: str = "input", **options) -> list:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / name
        path.write_bytes(data)
        return list(parse_path(path, format, **options))


# --- JSON-lines dump --------------------------------------------------------------------------


def test_it_reads_the_dump_gzipped_or_plain_whatever_the_file_name(tmp_path):
    plain = tmp_path / "dump.jsonl"
    plain.write_bytes(gzip.decompress(DUMP_SLICE.read_bytes()))
    misnamed = tmp_path / "dump.json"  # gzipped content without .gz
    shutil.copy(DUMP_SLICE, misnamed)

    for path in (DUMP_SLICE, plain, misnamed):
        items = list(parse_path(path))
        assert len(items) == 40
        assert rejections(items) == []
    first = records(parse_path(DUMP_SLICE))[0]
    assert first.arxiv_id == "2503.11731"
    assert first.title.startswith("Industrial-Grade Sensor Simulation via Gaussian Splatting")
    assert "\n" not in first.abstract
    assert "  " not in first.abstract
    assert first.categories == ["cs.CV", "cs.RO"]
    assert first.first_seen == date(2025, 3, 18)
    assert first.abs_url == "https://arxiv.org/abs/2503.11731"
    assert first.source == "arxiv-dump"
    assert first.location == f"{DUMP_SLICE}:line 1"


def test_it_rejects_bad_dump_lines_by_line_number_and_keeps_the_good_ones(tmp_path):
    good = json.dumps({"id": "2501.00001", "title": "Good", "summary": "Fine.", "authors": []})
    lines = [
        good.encode(),
        b'{"id": "2501.00002", "title": "Cut',  # truncated JSON
        json.dumps({"id": "2501.00003", "summary": "No title here."}).encode(),
        json.dumps({"id": "2501.00004", "title": "No abstract", "summary": "  "}).encode(),
        '{"id": "2501.00005", "title": "Caf\u00e9", "summary": "Latin-1."}'.encode("latin-1"),
        json.dumps({"id": "not-an-id!", "title": "Bad id", "summary": "x"}).encode(),
        json.dumps(
            {"id": "2501.00007", "title": "T", "summary": "S", "first_seen": "May"}
        ).encode(),
        b"[1, 2]",
        b"",
        json.dumps({"id": "2501.00010v3", "title": "Also good", "summary": "Yes."}).encode(),
    ]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    items = list(parse_path(path, "jsonl"))

    assert [r.arxiv_id for r in records(items)] == ["2501.00001", "2501.00010"]
    reasons = {r.location: r.reason for r in rejections(items)}
    assert set(reasons) == {f"{path}:line {n}" for n in (2, 3, 4, 5, 6, 7, 8)}
    assert "malformed JSON" in reasons[f"{path}:line 2"]
    assert reasons[f"{path}:line 3"] == "missing title"
    assert "missing abstract" in reasons[f"{path}:line 4"]
    assert "not valid UTF-8" in reasons[f"{path}:line 5"]
    assert "not an arXiv id" in reasons[f"{path}:line 6"]
    assert "first_seen" in reasons[f"{path}:line 7"]
    assert "JSON object" in reasons[f"{path}:line 8"]


def test_it_keeps_the_records_before_a_truncated_gzip_stream(tmp_path):
    data = DUMP_SLICE.read_bytes()
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])

    items = list(parse_path(path))

    assert 0 < len(records(items)) < 40
    [failure] = rejections(items)
    assert "gzip" in failure.reason
    assert failure.location.startswith(f"{path}:line ")


# --- Hugging Face Daily Papers API ------------------------------------------------------------


def test_it_reads_the_daily_papers_api_with_its_trending_signals():
    items = list(parse_path(HF_LISTING))

    assert [r.arxiv_id for r in records(items)] == ["2503.11742", "2503.14478", "2503.14511"]
    safe = records(items)[0]
    assert safe.upvotes == 12
    assert safe.num_comments == 3
    assert safe.code_url == "https://github.com/example-lab/unsafe-weights-manipulation"
    assert safe.project_url == "https://example-lab.github.io/uwm/"
    assert safe.keywords == ["vision-language models", "safety evaluation", "weight manipulation"]
    assert safe.authors[0] == "Moreno D'Incà"
    assert safe.first_seen == date(2025, 3, 19)  # the listing day, not the arXiv date
    assert safe.published_at == datetime(2025, 3, 14, 17, 59, 59, tzinfo=UTC)
    assert safe.categories == []  # the API has none: stored categories are left alone
    assert records(items)[1].num_comments == 0
    [missing] = rejections(items)
    assert missing.location == f"{HF_LISTING}:line 61 (item 3)"
    assert "missing abstract" in missing.reason


def test_it_uses_the_listing_date_of_a_fetch_as_first_seen():
    items = records(parse_path(HF_LISTING, "hf-json", listing_date=date(2025, 3, 20)))
    assert {r.first_seen for r in items} == {date(2025, 3, 20)}


def test_it_keeps_every_complete_item_of_a_truncated_listing(tmp_path):
    text = HF_LISTING.read_text()
    path = tmp_path / "cut.json"
    cut_at = text.index('"id": "2503.14502"')  # inside item 3
    path.write_text(text[:cut_at])

    items = list(parse_path(path))

    assert [r.arxiv_id for r in records(items)] == ["2503.11742", "2503.14478"]
    [failure] = rejections(items)
    assert "truncated" in failure.reason
    assert "item 3" in failure.reason
    assert failure.location == f"{path}:line {text[:cut_at].count(chr(10)) + 1}"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"paper": {}}', "expected a JSON list"),
        ("[", "not closed"),
        ('[{"paper": {"id": "2501.00001", "title": "T", "summary": "S"}} x', "expected ','"),
        ('[{"paper": {"id": "2501.00001", "title": "T", "summary": "S"}}] trailing', "after"),
    ],
)
def test_it_rejects_a_malformed_listing_with_a_reason(tmp_path, content, reason):
    path = tmp_path / "listing.json"
    path.write_text(content)
    assert any(reason in r.reason for r in rejections(parse_path(path, "hf-json")))


def test_it_reads_an_empty_listing_as_no_papers(tmp_path):
    path = tmp_path / "weekend.json"
    path.write_text("[]\n")
    assert list(parse_path(path)) == []


# --- arXiv Atom feed --------------------------------------------------------------------------


def test_it_reads_the_atom_feed_keeping_the_newest_version_without_its_suffix():
    items = list(parse_path(ATOM_FEED))

    assert rejections(items) == []
    by_id = {r.arxiv_id: r for r in records(items)}
    assert set(by_id) == {"2503.11731", "2503.30001"}
    newest = by_id["2503.11731"]
    assert newest.title == (
        "Industrial-Grade Sensor Simulation via Gaussian Splatting: A Modular Framework for "
        "Scalable Editing and Full-Stack Validation"
    )
    assert newest.abstract.endswith("This second version of the abstract is the newest one.")
    assert newest.comment == "v2: new experiments"
    assert newest.categories == ["cs.CV", "cs.RO"]
    assert newest.abs_url == "https://arxiv.org/abs/2503.11731"
    assert newest.pdf_url == "https://arxiv.org/pdf/2503.11731"
    moe = by_id["2503.30001"]
    assert moe.categories == ["cs.LG", "cs.CL", "stat.ML"]
    assert moe.authors == ["Ana Testcase", "Bo Fixture"]
    assert moe.published_at == datetime(2025, 3, 19, 17, 59, 58, tzinfo=UTC)
    assert moe.first_seen is None  # ingestion gives it the ingestion day
    assert moe.source == "arxiv-api"


def test_it_keeps_the_entries_before_a_break_in_the_feed_and_names_the_line(tmp_path):
    text = ATOM_FEED.read_text()
    cut = text.index("<entry>", text.index("2503.30001")) + len("<entry>")
    path = tmp_path / "broken.xml"
    path.write_text(text[:cut] + "\n<id>http://arxiv.org/abs/2503.99999v1</id>\n<<<oops\n")

    items = list(parse_path(path))

    assert {r.arxiv_id for r in records(items)} == {"2503.11731", "2503.30001"}
    [failure] = rejections(items)
    assert "malformed XML" in failure.reason
    assert failure.location == f"{path}:line {text[:cut].count(chr(10)) + 3}"


def test_it_rejects_an_atom_entry_without_a_title(tmp_path):
    # The API's error feeds are reported as errors (tests/ingestion/test_hostile_input.py).
    path = tmp_path / "feed.xml"
    path.write_text(
        '<feed xmlns="http://www.w3.org/2005/Atom">\n'
        "<entry><id>http://arxiv.org/abs/2501.00001v1</id><summary>S</summary></entry>\n"
        "</feed>\n"
    )
    reasons = [r.reason for r in rejections(parse_path(path))]
    assert reasons == ["missing title"]


def test_it_refuses_entity_expansion_in_a_feed(tmp_path):
    path = tmp_path / "bomb.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&b;</title></entry></feed>\n'
    )
    items = list(parse_path(path, "arxiv-atom"))
    assert records(items) == []
    assert len(rejections(items)) == 1


def test_it_keeps_the_version_an_id_names_and_none_for_a_bare_id(tmp_path):
    atom = {r.arxiv_id: r.arxiv_version for r in records(parse_path(ATOM_FEED))}
    dump = tmp_path / "dump.jsonl"
    dump.write_text(
        "\n".join(
            json.dumps({"id": arxiv_id, "title": "T", "summary": "S"})
            for arxiv_id in ("2501.00001v3", "2501.00002", "2501.00003v0", "2501.00004v40000")
        )
    )
    listing = json.loads(HF_LISTING.read_text())
    listing[0]["paper"]["id"] = "2503.11742v2"
    versioned_listing = tmp_path / "listing.json"
    versioned_listing.write_text(json.dumps(listing))

    dump_items = list(parse_path(dump))

    assert atom == {"2503.11731": 2, "2503.30001": 1}
    assert [(r.arxiv_id, r.arxiv_version) for r in records(dump_items)] == [
        ("2501.00001", 3),
        ("2501.00002", None),
        ("2501.00003", None),
    ]
    assert [r.reason for r in rejections(dump_items)] == ["not an arXiv version: v40000"]
    # The real dump and Hugging Face listings name no version.
    assert {r.arxiv_version for r in records(parse_path(DUMP_SLICE))} == {None}
    assert {r.arxiv_version for r in records(parse_path(HF_LISTING))} == {None}
    assert records(parse_path(versioned_listing))[0].arxiv_version == 2
    assert {r.arxiv_version for r in records(parse_path(PAGE_EXAMPLE))} == {None}


# --- Saved Daily Papers pages -----------------------------------------------------------------


def test_it_splits_the_real_page_into_exactly_its_papers():
    lines = PAGE_EXAMPLE.read_text().splitlines()
    # The real page always has a submitter line, so each title is five lines above a "·".
    expected_titles = [
        lines[index - 5]  # title, blank, abstract, blank, submitter, "·"
        for index, line in enumerate(lines)
        if line == "·"
    ]

    items = list(parse_path(PAGE_EXAMPLE, reference_date=date(2025, 11, 22)))

    assert rejections(items) == []
    assert [r.title for r in records(items)] == expected_titles
    assert len(expected_titles) == 37
    by_title = {r.title: r for r in records(items)}
    freeze = by_title[expected_titles[0]]
    assert freeze.first_seen == date(2024, 5, 23)
    assert freeze.upvotes is None
    assert freeze.abstract.endswith("https://github.com/pittisl/FreezeAsGuard/")
    assert freeze.arxiv_id is None
    assert freeze.source == "hf-page"
    met = by_title[expected_titles[3]]
    assert met.title.startswith("Met^2Net")
    assert (met.first_seen, met.upvotes) == (date(2025, 7, 23), 1)  # "Jul 23 1"
    tpi = next(r for r in records(items) if r.title.startswith("TPI-LLM"))
    assert (tpi.first_seen, tpi.upvotes) == (date(2024, 10, 1), 8)  # "Oct 1, 2024 8"
    # An organisation line ("ReactiveAI Reactive AI") stands where an author count would.
    tensor_bleu = next(r for r in records(items) if r.title.startswith("TensorBLEU"))
    assert "ReactiveAI" not in tensor_bleu.abstract
    assert (tensor_bleu.first_seen, tensor_bleu.upvotes) == (date(2025, 10, 6), 2)


def test_it_resolves_year_less_dates_against_the_page_date():
    # Page date "Nov 20" seen on 2026-01-10 is 2025-11-20; "Jan 26" on that page is then
    # 2025-01-26, not a date after the page.
    items = records(parse_path(PAGE_EXAMPLE, reference_date=date(2026, 1, 10)))
    lightweight = next(r for r in items if r.title == "Building Efficient Lightweight CNN Models")
    assert lightweight.first_seen == date(2025, 1, 26)


def test_it_resolves_year_less_dates_against_the_file_day_by_default(tmp_path):
    path = tmp_path / "page.txt"
    shutil.copy(PAGE_EXAMPLE, path)
    saved = datetime(2024, 12, 1, 12, tzinfo=UTC).timestamp()
    os.utime(path, (saved, saved))

    items = records(parse_path(path))

    assert next(r for r in items if r.title.startswith("Met^2Net")).first_seen == date(2024, 7, 23)


def test_it_reads_pages_with_organisations_instead_of_author_counts():
    items = list(parse_path(FIXTURES / "page-organisations.txt", reference_date=date(2025, 12, 1)))

    assert rejections(items) == []
    assert [(r.title, r.first_seen, r.upvotes) for r in records(items)] == [
        ("Latent Action Pretraining for Household Robots", date(2025, 11, 19), 14),
        (
            "Sketch-to-Scene: Controllable 3D Scene Generation from Floor Plans",
            date(2025, 10, 6),
            2,
        ),
        ("Spectral Tokenizers for Audio Language Models", date(2024, 3, 3), None),
    ]
    assert all("Meta Llama" not in r.abstract and "Google" not in r.abstract for r in items)


def test_it_reads_pages_without_submitter_lines_and_dates_with_or_without_a_year():
    items = list(parse_path(FIXTURES / "page-no-submitter.txt", reference_date=date(2026, 6, 1)))

    assert rejections(items) == []
    assert [(r.first_seen, r.upvotes) for r in records(items)] == [
        (date(2025, 11, 18), 5),
        (date(2024, 10, 1), 8),
        (date(2024, 12, 30), None),  # after the page date "Nov 20, 2025": the year before
    ]
    assert records(items)[2].title == "Do Vision Transformers Need Registers After All?"


def test_it_reads_pages_without_any_submitter_or_date_lines_and_marks_cut_abstracts():
    items = list(parse_path(FIXTURES / "page-bare.txt", reference_date=date(2026, 6, 1)))

    assert rejections(items) == []
    assert [(r.title, r.abstract_truncated) for r in records(items)] == [
        ("Safe Vision-Language Models via Unsafe Weights Manipulation", True),
        ("Streaming Speculative Decoding for Speech Recognition", True),
        ("Graph Transformers Without Positional Encodings", False),
    ]
    assert {r.first_seen for r in records(items)} == {None}  # no date anywhere on the page


def test_it_uses_the_page_date_when_a_paper_has_no_date_line(tmp_path):
    path = tmp_path / "page.txt"
    path.write_text("Daily Papers\n\nMar 3, 2025\n\nA Title\n\nAn abstract.\n\nB Title\n\nB.\n")
    items = records(parse_path(path))
    assert [(r.title, r.first_seen) for r in items] == [
        ("A Title", date(2025, 3, 3)),
        ("B Title", date(2025, 3, 3)),
    ]


def test_it_rejects_what_it_cannot_split_instead_of_merging_papers(tmp_path):
    path = tmp_path / "page.txt"
    path.write_text(
        "Daily Papers\n\n"
        "Lonely Title\n\n  • 2 authors\n·\nMay 1, 2024\n\n"
        "Good Title\n\nGood abstract.\n\n·\nMay 2, 2024\n\n"
        "One\n\nTwo\n\nThree\n\n·\nMay 3, 2024\n"
    )
    items = list(parse_path(path, "page-text"))

    assert [r.title for r in records(items)] == ["Good Title"]
    assert [r.location for r in rejections(items)] == [f"{path}:line 3", f"{path}:line 16"]


def test_it_rejects_a_page_paper_with_bytes_that_are_not_utf8(tmp_path):
    path = tmp_path / "page.txt"
    path.write_bytes(
        b"Caf\xe9 Title\n\nAbstract in Latin-1 caf\xe9.\n\n\xc2\xb7\nMay 1, 2024\n\n"
        b"Fine Title\n\nFine abstract.\n\n\xc2\xb7\nMay 2, 2024\n"
    )
    items = list(parse_path(path))
    assert [r.title for r in records(items)] == ["Fine Title"]
    assert [(r.location, r.reason) for r in rejections(items)] == [
        (f"{path}:line 1", "not valid UTF-8")
    ]


# --- Format detection and paths ---------------------------------------------------------------


def test_it_detects_each_format_from_the_content(tmp_path):
    assert detect_format(DUMP_SLICE) == "jsonl"
    assert detect_format(HF_LISTING) == "hf-json"
    assert detect_format(ATOM_FEED) == "arxiv-atom"
    assert detect_format(PAGE_EXAMPLE) == "page-text"
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"  \n")
    assert detect_format(empty) is None
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert detect_format(binary) is None
    assert [r.reason for r in parse_path(binary)] == [
        "cannot detect the format (empty or binary file?)"
    ]


def test_it_reports_an_unreadable_path_as_a_rejection(tmp_path):
    [rejection] = list(parse_path(tmp_path / "missing.jsonl", "jsonl"))
    assert rejection.location == str(tmp_path / "missing.jsonl")
    assert "cannot read" in rejection.reason


def test_it_refuses_an_unknown_format_name():
    with pytest.raises(ValueError, match="unknown format"):
        list(parse_path(DUMP_SLICE, "csv"))


# --- Fuzzing: parsers never raise, records are always storable --------------------------------


def assert_well_formed(items: list) -> None:
    for item in items:
        assert isinstance(item, PaperRecord | Rejection)
        if isinstance(item, PaperRecord):
            assert item.title
            assert item.abstract
            for text in (item.title, item.abstract, item.comment, *item.authors):
                assert "\x00" not in text
                text.encode("utf-8")  # no lone surrogates: PostgreSQL must accept it
            assert item.arxiv_id is None or arxiv_ids.normalise(item.arxiv_id) == item.arxiv_id
            assert item.upvotes is None or 0 <= item.upvotes < 2**31
        else:
            assert item.location
            assert item.reason


@FUZZ
@given(data=st.binary(max_size=2000), format=st.sampled_from([None, *FORMATS]))
def test_it_never_raises_on_arbitrary_bytes(data, format):
    assert_well_formed(parse_bytes(data, format, reference_date=date(2025, 1, 1)))


@FUZZ
@given(text=st.text(max_size=1500), format=st.sampled_from([None, *FORMATS]))
def test_it_never_raises_on_arbitrary_text(text, format):
    data = text.encode("utf-8", errors="surrogatepass")
    assert_well_formed(parse_bytes(data, format, reference_date=date(2025, 1, 1)))


@FUZZ
@given(data=st.binary(max_size=500), compress=st.booleans())
def test_it_never_raises_on_arbitrary_gzip_content(data, compress):
    blob = gzip.compress(data)
    blob = blob if compress else blob[: len(blob) // 2]
    for format in (None, "jsonl", "hf-json", "arxiv-atom", "page-text"):
        assert_well_formed(parse_bytes(blob, format, reference_date=date(2025, 1, 1)))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=15,
)
paper_like = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.text(max_size=20), st.from_regex(r"\d{4}\.\d{5}(v\d)?", fullmatch=True)),
        "title": json_values | st.text(),
        "summary": json_values | st.text(),
        "authors": st.lists(st.one_of(st.text(), st.fixed_dictionaries({"name": json_values}))),
        "categories": json_values,
        "publishedAt": st.one_of(st.text(max_size=30), json_values),
        "upvotes": st.integers() | json_values,
        "githubRepo": st.text(max_size=30) | json_values,
        "ai_keywords": json_values,
        "first_seen": st.text(max_size=12) | json_values,
    },
)


@FUZZ
@given(lines=st.lists(paper_like | json_values, max_size=8))
def test_it_never_raises_on_json_lines_of_any_shape(lines):
    data = "\n".join(json.dumps(line) for line in lines).encode()
    items = parse_bytes(data, "jsonl")
    assert_well_formed(items)
    assert len(items) == sum(1 for line in lines)  # one record or rejection per line


@FUZZ
@given(
    items=st.lists(
        st.fixed_dictionaries({"paper": paper_like}, optional={"numComments": json_values})
        | json_values,
        max_size=6,
    ),
    cut=st.integers(min_value=0, max_value=400),
)
def test_it_never_raises_on_listings_of_any_shape_or_length(items, cut):
    document = json.dumps(items, indent=1)
    assert_well_formed(parse_bytes(document.encode(), "hf-json"))
    assert_well_formed(parse_bytes(document[: len(document) - cut].encode(), "hf-json"))


words = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=9
)
titles = st.lists(words, min_size=2, max_size=12).map(" ".join)
sentences = st.lists(words, min_size=1, max_size=25).map(lambda ws: " ".join(ws) + ".")
abstracts = st.lists(sentences, min_size=1, max_size=6).map(" ".join)
submitters = st.one_of(
    st.none(),
    st.integers(min_value=1, max_value=40).map(lambda n: f"  • {n} authors"),
    st.tuples(words, words).map(lambda pair: f"{pair[0].lower()} {pair[1]}"),  # an organisation
)
dates = st.one_of(
    st.none(),
    st.tuples(
        st.sampled_from(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Oct", "Dec"]),
        st.integers(min_value=1, max_value=28),
        st.one_of(st.none(), st.integers(min_value=2015, max_value=2025)),
        st.one_of(st.none(), st.integers(min_value=1, max_value=500)),
    ),
)
page_papers = st.lists(
    st.tuples(titles, abstracts, st.booleans(), submitters, st.booleans(), dates),
    min_size=1,
    max_size=8,
)


def render_page(papers, header: bool) -> str:
    lines = ["new", "", "Daily Papers", "", "byAK and the research community", "", "Nov 20", ""]
    lines = lines if header else []
    for title, abstract, cut, submitter, dot, when in papers:
        lines += [title, "", abstract[: max(1, len(abstract) // 2)] + "…" if cut else abstract, ""]
        meta = []
        if submitter:
            meta.append(submitter)
        if dot or (submitter and not submitter.startswith("  •")):
            meta.append("·")  # an organisation line is always followed by "·"
        if when:
            month, day, year, count = when
            meta.append(
                f"{month} {day}" + (f", {year}" if year else "") + (f" {count}" if count else "")
            )
        lines += [*meta, ""] if meta else []
    return "\n".join(lines)


@FUZZ
@given(papers=page_papers, header=st.booleans())
def test_it_never_merges_or_splits_papers_of_generated_pages(papers, header):
    items = parse_bytes(
        render_page(papers, header).encode(), "page-text", reference_date=date(2025, 12, 1)
    )

    assert rejections(items) == []
    assert [r.title for r in items] == [paper[0] for paper in papers]
    for record, (_title, abstract, cut, _s, _d, when) in zip(items, papers, strict=True):
        assert record.abstract_truncated == cut
        if not cut:
            assert record.abstract == abstract
        if when and when[3]:
            assert record.upvotes == when[3]
        if when and when[2]:
            assert record.first_seen == date(when[2], *_month_day(when))


def _month_day(when) -> tuple[int, int]:
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return months.index(when[0]) + 1, when[1]


@FUZZ
@given(
    entries=st.lists(
        st.tuples(
            st.from_regex(r"\d{4}\.\d{5}", fullmatch=True),
            st.integers(min_value=1, max_value=9),
            st.text(max_size=40),
            st.text(max_size=80),
        ),
        max_size=6,
    ),
    cut=st.integers(min_value=0, max_value=300),
)
def test_it_never_raises_on_generated_atom_feeds_whole_or_cut(entries, cut):
    body = "".join(
        f"<entry><id>http://arxiv.org/abs/{arxiv_id}v{version}</id>"
        f"<title>{escape(_xml_safe(title))}</title><summary>{escape(_xml_safe(summary))}</summary>"
        "</entry>\n"
        for arxiv_id, version, title, summary in entries
    )
    feed = f'<feed xmlns="http://www.w3.org/2005/Atom">\n{body}</feed>\n'
    whole = parse_bytes(feed.encode("utf-8", errors="surrogatepass"), "arxiv-atom")
    assert_well_formed(whole)
    expected = {
        arxiv_id
        for arxiv_id, _v, title, summary in entries
        if " ".join(_xml_safe(title).split()) and " ".join(_xml_safe(summary).split())
    }
    # Several versions of one id: the newest is kept, and only it may be rejected.
    assert {r.arxiv_id for r in records(whole)} <= expected
    assert len(records(whole)) + len(rejections(whole)) >= len(expected)
    cut_feed = feed[: max(0, len(feed) - cut)].encode("utf-8", errors="surrogatepass")
    assert_well_formed(parse_bytes(cut_feed, "arxiv-atom"))


def _xml_safe(text: str) -> str:
    return "".join(
        ch
        for ch in text
        if ch in "\t\n\r" or ("\x20" <= ch <= "\ud7ff") or ("\ue000" <= ch <= "\ufffd")
    )
