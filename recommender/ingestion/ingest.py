"""Ingestion: store parsed paper records as Paper rows, in bulk, without duplicates or losses.

Entry points:

- ``ingest_path(path, format=None)`` / ``ingest_paths(paths, format=None)``: parse files with
  `recommender.ingestion.sources.parse_path` and store what they hold.
- ``ingest_records(items)``: store any iterable of `PaperRecord` / `Rejection` items (what
  `parse_path` yields); use it to load "background" papers from your own parsing.
- ``fetch_and_ingest(source)``: download today's listing of a live source and store it.

Each returns an `IngestSummary` (created / updated / unchanged / rejected counts).

Identity: a record is the row with its arXiv id; a record without one is the row with the same
normalised title (`models.normalise_title`), and a record with an id may adopt a row stored from a
source without ids. Records are stored in batches: one query loads the batch's existing rows,
changes are worked out in Python (`merge_record`), then one bulk insert and one bulk update per
batch run in a transaction. Values equal to the stored ones are not written, so re-ingesting a
file performs no writes. If a batch fails in the database, it is retried one record at a time,
so only the records the database refuses are rejected.

Merging ("enrich, don't overwrite with worse"; `merge.py`): each field is taken from the best
source that supplied it. arXiv sources rank above Hugging Face ones for bibliographic fields
(title, abstract, authors, categories, comment, journal reference, DOI, links to arXiv,
publication time); Hugging Face sources are the only ones with community fields (upvotes,
comments, code/project links, keywords). Upvotes and comments never go backwards on a backfill:
a live reading replaces an older one, a saved file (reading time unknown) can only raise them.
An empty value never replaces a value; a value cut short ("...", or a prefix of the stored one)
never replaces the complete one, and a complete value always replaces a cut one. ``first_seen``
keeps the earliest listing day (a new row from the arXiv API, which names none, gets the
ingestion day if it was published in the last INGEST_FRESH_SUBMISSION_DAYS, else its publication
day), and ``sources`` lists every source that supplied the paper.

Versions: ``arxiv_version`` is the arXiv version the bibliographic fields were taken from. A
record of an older version than that (an old feed or dump ingested late) supplies none of them,
not even a missing one, only the community fields and its listing day; a newer one is merged as
above and, when its source may replace the bibliography, moves the row to its version. A record
that names no version merges as above and leaves the row's version as it is.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from ..models import Paper
from . import fetch, runs
from .merge import _title_key, merge_record, new_paper
from .sources import SOURCE_OF_FORMAT, PaperRecord, Rejection, parse_path

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
PROGRESS_EVERY = 5000
MAX_PROBLEMS_KEPT = 1000


@dataclass
class IngestSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    # "file:line N: reason" of the first MAX_PROBLEMS_KEPT rejections.
    problems: list[str] = field(default_factory=list)

    @property
    def seen(self) -> int:
        return self.created + self.updated + self.unchanged + self.rejected

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }

    def line(self) -> str:
        return ", ".join(f"{key} {value}" for key, value in self.counts().items())

    def reject(self, rejection: Rejection) -> None:
        self.rejected += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(str(rejection))


RejectionHook = Callable[[Rejection], None]
ProgressHook = Callable[[IngestSummary], None]


# --- Public entry points ----------------------------------------------------------------------


def ingest_path(
    path: str | Path,
    format: str | None = None,
    *,
    listing_date: date | None = None,
    reference_date: date | None = None,
    observed_at: datetime | None = None,
    **options,
) -> IngestSummary:
    """Parse one file (`sources.parse_path`) and store its papers; see `ingest_records`.

    `observed_at`: when a live fetch read the file (its upvotes and comments then win over
    older readings); None for a saved file."""
    items = parse_path(
        path,
        format,
        listing_date=listing_date,
        reference_date=reference_date,
        observed_at=observed_at,
    )
    return ingest_records(items, **options)


def ingest_paths(
    paths: Iterable[str | Path],
    format: str | None = None,
    *,
    reference_date: date | None = None,
    **options,
) -> IngestSummary:
    """Several files as one run (batches span files); see `ingest_records`."""

    def items():
        for path in paths:
            yield from parse_path(path, format, reference_date=reference_date)

    return ingest_records(items(), **options)


def ingest_records(
    items: Iterable[PaperRecord | Rejection],
    *,
    today: date | None = None,
    batch_size: int = BATCH_SIZE,
    on_rejection: RejectionHook | None = None,
    on_progress: ProgressHook | None = None,
    progress_every: int = PROGRESS_EVERY,
) -> IngestSummary:
    """Store records in batches of `batch_size`; count and report each rejection.

    `today` is the first_seen of records that carry none (default: the ingestion day).
    `on_rejection` is called with each Rejection as it happens; `on_progress` with the running
    summary about every `progress_every` records. Memory holds one batch at a time.
    """
    today = today or timezone.now().date()
    summary = IngestSummary()
    batch: list[PaperRecord] = []
    reported = 0

    def reject(rejection: Rejection) -> None:
        summary.reject(rejection)
        if on_rejection is not None:
            on_rejection(rejection)

    for item in items:
        if isinstance(item, Rejection):
            reject(item)
        elif not item.arxiv_id and not _title_key(item.title):
            reject(Rejection(item.location, "no arXiv id and no title letters to match on"))
        else:
            batch.append(item)
            if len(batch) >= batch_size:
                _store_batch(batch, summary, today=today, reject=reject)
                batch = []
                if on_progress is not None and summary.seen >= reported + progress_every:
                    reported = summary.seen
                    on_progress(summary)
    if batch:
        _store_batch(batch, summary, today=today, reject=reject)
    return summary


def fetch_and_ingest(
    source: str,
    *,
    day: date | None = None,
    categories: Sequence[str] = (),
    trigger: str = "api",
    **options,
) -> IngestSummary:
    """Download a live listing (`fetch.fetch_listing`) and store it, recorded as one
    IngestionRun (`runs.recorded`; `trigger` says what started it).

    `source` is "hf" (Hugging Face Daily Papers of `day`, default today) or "arxiv" (the newest
    submissions in `categories`, of `day` if given). Raises `fetch.FetchError` when the source
    cannot be reached; the downloaded file is kept under var/ingest/ for inspection.
    """
    format = fetch.FORMAT_OF_SOURCE[source]
    listing_date = (day or timezone.now().date()) if source == "hf" else None

    def work() -> IngestSummary:
        observed_at = timezone.now()
        path = fetch.fetch_listing(source, day=day, categories=categories)
        return ingest_path(
            path, format, listing_date=listing_date, observed_at=observed_at, **options
        )

    label = f"{source} {listing_date or day or 'latest'}"
    return runs.recorded(work, source=SOURCE_OF_FORMAT[format], trigger=trigger, label=label)


def fetch_daily(*, today: date | None = None) -> dict[str, dict[str, int]]:
    """The daily job: yesterday's and today's Hugging Face listings (yesterday's has its final
    upvotes, today's is refreshed by the next run) and the newest arXiv submissions.

    Every source is tried; if any could not be fetched, `fetch.FetchError` is raised after the
    others are stored, so a retry re-runs the job (idempotent: unchanged papers are not written).
    """
    today = today or timezone.now().date()
    jobs = {
        f"hf {today - timedelta(days=1)}": ("hf", today - timedelta(days=1)),
        f"hf {today}": ("hf", today),
        "arxiv latest": ("arxiv", None),
    }
    results: dict[str, dict[str, int]] = {}
    failures = []
    for label, (source, day) in jobs.items():
        try:
            summary = fetch_and_ingest(source, day=day, trigger="beat")
        except fetch.FetchError as error:
            log.error("fetching %s failed: %s", label, error)
            failures.append(str(error))
            continue
        log.info("ingested %s: %s", label, summary.line())
        results[label] = summary.counts()
    if failures:
        raise fetch.FetchError("; ".join(failures))
    return results


def ingest_jsonl(path: str | Path) -> IngestSummary:
    """The JSON-lines dump; kept for callers of the first version of this module."""
    return ingest_path(path, "jsonl")


# --- Storing a batch --------------------------------------------------------------------------


def _store_batch(
    records: list[PaperRecord], summary: IngestSummary, *, today: date, reject: RejectionHook
) -> None:
    try:
        with transaction.atomic():
            outcomes = _apply(records, today)
    except DatabaseError as error:
        # One bad record must not cost the others: redo this batch record by record.
        log.warning("batch of %d failed (%s); storing it record by record", len(records), error)
        outcomes = []
        for record in records:
            try:
                with transaction.atomic():
                    outcomes.extend(_apply([record], today))
            except DatabaseError as record_error:
                reject(Rejection(record.location, f"the database refused it: {record_error}"))
    for outcome in outcomes:
        setattr(summary, outcome, getattr(summary, outcome) + 1)


def _apply(records: list[PaperRecord], today: date) -> list[str]:
    """Merge the records into their rows and write the changes; the outcome of each record."""
    rows = _RowIndex(_existing_rows(records))
    to_create: list[Paper] = []
    to_update: dict[int, Paper] = {}
    changed_fields: set[str] = set()
    outcomes = []
    for record in records:
        paper = rows.find(record)
        if paper is None:
            paper = new_paper(record, today=today)
            to_create.append(paper)
            rows.add(paper)
            outcomes.append("created")
            continue
        before = (paper.arxiv_id, paper.title_key)
        changed = merge_record(paper, record)
        if not changed:
            outcomes.append("unchanged")
            continue
        outcomes.append("updated")
        rows.moved(paper, *before)
        if paper.pk is not None:
            to_update[paper.pk] = paper
            changed_fields.update(changed)
    if to_create:
        Paper.objects.bulk_create(to_create, batch_size=len(to_create))
    if to_update:
        now = timezone.now()
        for paper in to_update.values():
            paper.updated_at = now
        Paper.objects.bulk_update(
            list(to_update.values()), sorted(changed_fields | {"updated_at"}), batch_size=500
        )
    return outcomes


def _existing_rows(records: list[PaperRecord]) -> list[Paper]:
    ids = {record.arxiv_id for record in records if record.arxiv_id}
    keys = {_title_key(record.title) for record in records}
    keyless = {_title_key(record.title) for record in records if not record.arxiv_id}
    # Rows with the batch's ids, id-less rows a record may adopt, and any row an id-less record
    # may match by title.
    query = Q(arxiv_id__in=ids) | Q(arxiv_id__isnull=True, title_key__in=keys)
    if keyless:
        query |= Q(title_key__in=keyless)
    return list(Paper.objects.filter(query).order_by("pk"))


class _RowIndex:
    """The batch's rows by arXiv id and title key, including rows created in this batch."""

    def __init__(self, papers: list[Paper]) -> None:
        self.by_id: dict[str, Paper] = {}
        self.by_key: dict[str, list[Paper]] = defaultdict(list)
        for paper in papers:
            self.add(paper)

    def add(self, paper: Paper) -> None:
        if paper.arxiv_id:
            self.by_id[paper.arxiv_id] = paper
        self.by_key[paper.title_key].append(paper)

    def moved(self, paper: Paper, old_id: str | None, old_key: str) -> None:
        if paper.arxiv_id and paper.arxiv_id != old_id:
            self.by_id[paper.arxiv_id] = paper
        if paper.title_key != old_key:
            self.by_key[old_key] = [p for p in self.by_key[old_key] if p is not paper]
            self.by_key[paper.title_key].append(paper)

    def find(self, record: PaperRecord) -> Paper | None:
        if record.arxiv_id and record.arxiv_id in self.by_id:
            return self.by_id[record.arxiv_id]
        candidates = self.by_key.get(_title_key(record.title), [])
        if record.arxiv_id:
            # An id-bearing record only adopts a row that has no id yet: two arXiv papers
            # may share a title.
            candidates = [paper for paper in candidates if not paper.arxiv_id]
        if not candidates:
            return None
        # Several papers with one title and no id to tell them apart: the latest listed one
        # (pages list recent papers).
        return max(candidates, key=lambda paper: paper.first_seen)
