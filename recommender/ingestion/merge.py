"""How one record enriches one Paper row ("enrich, don't overwrite with worse"); see the merge
rules in ingest.py's docstring and docs/ingestion.md. Pure: no queries, the caller writes.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from django.conf import settings

from ..models import Paper, normalise_title
from .sources import PaperRecord

# Higher wins. A source missing from a ranking never supplies that kind of field.
BIBLIOGRAPHIC_RANK = {"arxiv-api": 4, "arxiv-dump": 3, "hf-daily": 2, "hf-page": 1}
COMMUNITY_RANK = {"hf-daily": 2, "hf-page": 1}
_ELLIPSIS = ("…", "...")
# A record's title key is needed up to three times per batch (lookup, matching, the new row);
# normalising is the costliest step of an unchanged re-ingest, so it is done once per title.
_title_key = lru_cache(maxsize=4000)(normalise_title)


# --- One record into one row ------------------------------------------------------------------


def new_paper(record: PaperRecord, *, today: date) -> Paper:
    """An unsaved Paper holding the record (bulk_create skips Paper.save, so keys are set here)."""
    return Paper(
        arxiv_id=record.arxiv_id or None,
        arxiv_version=record.arxiv_version,
        title=record.title,
        title_key=_title_key(record.title),
        abstract=record.abstract,
        authors=list(record.authors),
        categories=list(record.categories),
        primary_category=record.categories[0] if record.categories else "",
        comment=record.comment,
        journal_ref=record.journal_ref,
        doi=record.doi,
        keywords=list(record.keywords),
        abs_url=record.abs_url,
        pdf_url=record.pdf_url,
        code_url=record.code_url,
        project_url=record.project_url,
        published_at=record.published_at,
        first_seen=record.first_seen or listing_day_of_unlisted(record, today),
        sources=[record.source],
        upvotes=record.upvotes or 0,
        num_comments=record.num_comments or 0,
        signals_observed_at=record.observed_at if _has_signals(record) else None,
    )


def listing_day_of_unlisted(record: PaperRecord, today: date) -> date:
    """The listing day of a new row whose source names none (the arXiv API).

    A paper published in the last INGEST_FRESH_SUBMISSION_DAYS is new to the world: listed
    today. An older one, found by a search or a backfill, is dated by its publication, so it
    does not become a candidate for today's digests (before, 97 of 126 papers of one search,
    published 2001-2023, were).
    """
    published = record.published_at.date() if record.published_at else None
    fresh = timedelta(days=settings.INGEST_FRESH_SUBMISSION_DAYS)
    if published is None or published >= today - fresh:
        return today
    return published


def merge_record(paper: Paper, record: PaperRecord) -> list[str]:
    """Enrich `paper` in place with what `record` adds; the names of the fields it changed."""
    changes: dict[str, object] = {}
    if record.arxiv_id and not paper.arxiv_id:
        changes["arxiv_id"] = record.arxiv_id
    if not _is_older_version(paper, record):
        changes.update(_bibliographic_changes(paper, record))
    changes.update(_community_changes(paper, record))
    if record.first_seen and record.first_seen < paper.first_seen:
        changes["first_seen"] = record.first_seen
    if record.source not in paper.sources:
        changes["sources"] = [*paper.sources, record.source]

    if "title" in changes:
        changes["title_key"] = _title_key(changes["title"])
    if "categories" in changes:
        changes["primary_category"] = changes["categories"][0]
    changed = []
    for name, value in changes.items():
        if getattr(paper, name) != value:
            setattr(paper, name, value)
            changed.append(name)
    return changed


def _is_older_version(paper: Paper, record: PaperRecord) -> bool:
    """Whether the record describes an older arXiv version than the row's bibliography."""
    return bool(
        paper.arxiv_version and record.arxiv_version and record.arxiv_version < paper.arxiv_version
    )


def _bibliographic_changes(paper: Paper, record: PaperRecord) -> dict[str, object]:
    may_replace = _may_replace(paper.sources, record.source, BIBLIOGRAPHIC_RANK)
    changes: dict[str, object] = {}
    for name, cut in (
        ("title", False),
        ("abstract", record.abstract_truncated),
        ("comment", False),
        ("journal_ref", False),
        ("doi", False),
    ):
        if _better_text(getattr(paper, name), getattr(record, name), may_replace, cut=cut):
            changes[name] = getattr(record, name)
    for name in ("authors", "categories", "abs_url", "pdf_url"):
        if _better_value(getattr(paper, name), getattr(record, name), may_replace):
            changes[name] = _copy(getattr(record, name))
    new_time = record.published_at
    if new_time and new_time != paper.published_at and (paper.published_at is None or may_replace):
        changes["published_at"] = new_time
    # The version names where the text is from, so only a source allowed to replace the text
    # moves it (and never back: a record of the same or no version leaves it).
    if may_replace and record.arxiv_version and record.arxiv_version > (paper.arxiv_version or 0):
        changes["arxiv_version"] = record.arxiv_version
    return changes


def _community_changes(paper: Paper, record: PaperRecord) -> dict[str, object]:
    may_replace = _may_replace(paper.sources, record.source, COMMUNITY_RANK)
    changes: dict[str, object] = {}
    for name in ("keywords", "code_url", "project_url"):
        if _better_value(getattr(paper, name), getattr(record, name), may_replace):
            changes[name] = _copy(getattr(record, name))
    if may_replace and _has_signals(record):
        changes.update(_signal_changes(paper, record))
    return changes


def _has_signals(record: PaperRecord) -> bool:
    return record.upvotes is not None or record.num_comments is not None


def _signal_changes(paper: Paper, record: PaperRecord) -> dict[str, object]:
    """Upvotes and comments that never go backwards on a backfill.

    A live reading replaces the counts unless the row holds a newer live reading; its time is
    stored only with a change, so refetching an unchanged listing writes nothing. A saved file
    (reading time unknown) can only raise them: HF counts rarely fall, so the highest seen is
    the likeliest newest.
    """
    changes: dict[str, object] = {}
    observed, stored = record.observed_at, paper.signals_observed_at
    for name in ("upvotes", "num_comments"):
        new, current = getattr(record, name), getattr(paper, name)
        if new is None or new == current:
            continue
        if observed is not None:
            if stored is None or observed >= stored:
                changes[name] = new
        elif new > current:
            changes[name] = new
    if changes and observed is not None:
        changes["signals_observed_at"] = observed
    return changes


def _better_value(current: object, new: object, may_replace: bool) -> bool:
    """A list or a URL: a new value fills an empty one, or replaces it if the source may."""
    return bool(new) and new != current and (not current or may_replace)


def _copy(value: object) -> object:
    # As in new_paper: the row gets its own list, not one shared with the record.
    return list(value) if isinstance(value, list) else value


def _may_replace(paper_sources: list[str], source: str, ranking: dict[str, int]) -> bool:
    """Whether `source` ranks at least as high as every source the row already has."""
    if source not in ranking:
        return False
    best = max((ranking.get(name, 0) for name in paper_sources), default=0)
    return ranking[source] >= best


def _better_text(current: str, new: str, may_replace: bool, *, cut: bool) -> bool:
    if not new or new == current:
        return False
    if not current:
        return True
    if _is_cut_version(new, current):
        return False
    if cut:
        return False
    if _is_cut_version(current, new) or (current.endswith(_ELLIPSIS) and len(new) > len(current)):
        return True
    return may_replace


def _is_cut_version(short: str, full: str) -> bool:
    """Whether `short` is `full` cut short (with or without a trailing "...")."""
    stem = short.removesuffix("…").removesuffix("...").rstrip()
    return bool(stem) and len(stem) < len(full) and full.startswith(stem)
