"""Paper sources: parsers that turn a saved file into paper records. Pure functions, no database.

Four formats are understood (see `FORMATS`):

- ``hf-json``: the Hugging Face Daily Papers API (``/api/daily_papers?date=YYYY-MM-DD``), a JSON
  list of items, each with a ``paper`` object (arXiv ``id``, ``title``, ``summary``, ``authors``,
  ``publishedAt``, ``upvotes``, ``githubRepo``, ``projectPage``, ``ai_keywords``) and item-level
  ``numComments``, ``submittedBy``, ``organization``, ``publishedAt``.
- ``arxiv-atom``: an arXiv API Atom feed. Versions are stripped from ids ("2503.11731v2" ->
  "2503.11731", version 2 kept in ``arxiv_version``); when a feed holds several versions of one
  paper the newest is kept.
- ``jsonl``: the JSON-lines dump (one object per line: ``id``, ``title``, ``summary``, ``authors``,
  ``categories``, ``comment``, ``pdf``, ``abs``, ``first_seen``), gzipped or not.
- ``page-text``: a "Daily Papers" web page saved as plain text (see `parse_page_text`).

Every parser is a generator that never raises on bad content: it yields a `PaperRecord` for each
good paper and a `Rejection` (with "file:line N" and a reason) for each record it had to drop, and
goes on with the next record where the format allows it (a bad JSON line, a bad list item, a bad
Atom entry). Gzip is recognised from the content, whatever the file name.

Entry point for other modules: ``parse_path(path, format=None)``; `detect_format` guesses the
format from the first bytes when none is given.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from .api_errors import ApiError, api_error
from .arxiv_atom import parse_arxiv_atom
from .detect import detect_format
from .hf_json import parse_hf_json
from .jsonl import parse_jsonl
from .limits import LimitExceeded, Limits, date_problem, field_problem
from .page_text import parse_page_text
from .records import (
    FORMATS,
    SOURCE_OF_FORMAT,
    Item,
    PaperRecord,
    Rejection,
    clean_text,
    read_head,
)

__all__ = [
    "FORMATS",
    "SOURCE_OF_FORMAT",
    "ApiError",
    "Item",
    "Limits",
    "PaperRecord",
    "Rejection",
    "api_error",
    "clean_text",
    "detect_format",
    "parse_arxiv_atom",
    "parse_hf_json",
    "parse_jsonl",
    "parse_page_text",
    "parse_path",
]

# API error bodies are a few hundred bytes; a listing is never mistaken for one this early.
_ERROR_HEAD_BYTES = 65536


def parse_path(
    path: str | Path,
    format: str | None = None,
    *,
    listing_date: date | None = None,
    reference_date: date | None = None,
    observed_at: datetime | None = None,
    limits: Limits | None = None,
    now: datetime | None = None,
) -> Iterator[Item]:
    """Yield a `PaperRecord` or a `Rejection` for every record of the file at `path`.

    `format` is one of `FORMATS`; None detects it from the content (`detect_format`).
    `listing_date` is the day of a fetched listing (the ``date`` of an HF Daily Papers request):
    it becomes the records' ``first_seen``. `reference_date` is the day year-less dates of a
    page-text file are resolved against when its header has no year (default: the file's
    modification day). `observed_at` is when a live fetch read the file's upvotes and comments
    (None for a saved file). `limits` (default: from the settings) bound what is read and
    stored, and records dated after `now` (default: the clock) plus the allowed skew or before
    arXiv existed are rejected. Never raises on bad content or an unreadable file: those are
    rejections.
    """
    path = Path(path)
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    limits = limits or Limits.from_settings()
    now = now or datetime.now(UTC)
    try:
        error = api_error(read_head(path, _ERROR_HEAD_BYTES))
        if error is not None:
            yield Rejection(str(path), str(error))
            return
        if format is None:
            format = detect_format(path)
            if format is None:
                yield Rejection(str(path), "cannot detect the format (empty or binary file?)")
                return
        items = _parse(path, format, limits, listing_date, reference_date, observed_at)
        yield from _checked(items, path, limits, now)
    except LimitExceeded as error:
        yield Rejection(str(path), str(error))
    except OSError as error:
        yield Rejection(str(path), f"cannot read the file: {error.strerror or error}")


def _parse(
    path: Path,
    format: str,
    limits: Limits,
    listing_date: date | None,
    reference_date: date | None,
    observed_at: datetime | None,
) -> Iterator[Item]:
    if format == "hf-json":
        return parse_hf_json(path, limits, listing_date=listing_date, observed_at=observed_at)
    if format == "arxiv-atom":
        return parse_arxiv_atom(path, limits)
    if format == "jsonl":
        return parse_jsonl(path, limits)
    return parse_page_text(path, limits, reference_date=reference_date)


def _checked(items: Iterator[Item], path: Path, limits: Limits, now: datetime) -> Iterator[Item]:
    """The parser's items with over-long or impossibly dated records turned into rejections,
    and no more than `limits.records` records read."""
    count = 0
    for item in items:
        if isinstance(item, PaperRecord):
            count += 1
            if count > limits.records:
                yield Rejection(
                    str(path),
                    f"more than {limits.records:,} records (INGEST_MAX_RECORDS_PER_FILE); "
                    f"the rest of the file was not read",
                )
                return
            problem = field_problem(item, limits) or date_problem(item, limits, now)
            if problem is not None:
                item = Rejection(item.location, problem)
        yield item
