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
from datetime import date
from pathlib import Path

from .arxiv_atom import parse_arxiv_atom
from .detect import detect_format
from .hf_json import parse_hf_json
from .jsonl import parse_jsonl
from .page_text import parse_page_text
from .records import FORMATS, SOURCE_OF_FORMAT, Item, PaperRecord, Rejection, clean_text

__all__ = [
    "FORMATS",
    "SOURCE_OF_FORMAT",
    "Item",
    "PaperRecord",
    "Rejection",
    "clean_text",
    "detect_format",
    "parse_arxiv_atom",
    "parse_hf_json",
    "parse_jsonl",
    "parse_page_text",
    "parse_path",
]


def parse_path(
    path: str | Path,
    format: str | None = None,
    *,
    listing_date: date | None = None,
    reference_date: date | None = None,
) -> Iterator[Item]:
    """Yield a `PaperRecord` or a `Rejection` for every record of the file at `path`.

    `format` is one of `FORMATS`; None detects it from the content (`detect_format`).
    `listing_date` is the day of a fetched listing (the ``date`` of an HF Daily Papers request):
    it becomes the records' ``first_seen``. `reference_date` is the day year-less dates of a
    page-text file are resolved against when its header has no year (default: the file's
    modification day). Never raises on bad content or an unreadable file: those are rejections.
    """
    path = Path(path)
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    try:
        if format is None:
            format = detect_format(path)
            if format is None:
                yield Rejection(str(path), "cannot detect the format (empty or binary file?)")
                return
        if format == "hf-json":
            yield from parse_hf_json(path, listing_date=listing_date)
        elif format == "arxiv-atom":
            yield from parse_arxiv_atom(path)
        elif format == "jsonl":
            yield from parse_jsonl(path)
        else:
            yield from parse_page_text(path, reference_date=reference_date)
    except OSError as error:
        yield Rejection(str(path), f"cannot read the file: {error.strerror or error}")
