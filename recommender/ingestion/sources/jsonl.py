"""The JSON-lines dump: one paper object per line, gzipped or not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from .records import (
    SOURCE_OF_FORMAT,
    Item,
    Limits,
    PaperRecord,
    RecordError,
    Rejection,
    arxiv_urls,
    binary_lines,
    clean_text,
    clean_url,
    json_message,
    record_arxiv_id,
    record_or_rejection,
    require_text,
    storable_categories,
    string_list,
)


def parse_jsonl(path: Path, limits: Limits) -> Iterator[Item]:
    """The JSON-lines dump, one paper per line; a bad line is rejected and the next one read."""
    source = SOURCE_OF_FORMAT["jsonl"]
    for entry in binary_lines(path, limits):
        if isinstance(entry, Rejection):
            yield entry
            continue
        number, raw = entry
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        if not raw.strip():
            continue
        location = f"{path}:line {number}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            yield Rejection(location, f"not valid UTF-8 (byte {error.start + 1} of the line)")
            continue
        try:
            obj = json.loads(text)
        except RecursionError:
            yield Rejection(location, "malformed JSON (nested too deeply)")
            continue
        except ValueError as error:
            yield Rejection(location, f"malformed JSON ({json_message(error)})")
            continue
        yield record_or_rejection(_record_from_dump, obj, location, source=source)


def _record_from_dump(obj: object, *, source: str, location: str) -> PaperRecord:
    if not isinstance(obj, dict):
        raise RecordError("a line must hold a JSON object")
    arxiv_id, version = record_arxiv_id(obj.get("id"))
    first_seen = None
    if obj.get("first_seen") is not None:
        try:
            first_seen = date.fromisoformat(str(obj["first_seen"]))
        except ValueError:
            raise RecordError("first_seen is not a YYYY-MM-DD date") from None
    abs_default, pdf_default = arxiv_urls(arxiv_id)
    return PaperRecord(
        source=source,
        location=location,
        arxiv_id=arxiv_id,
        arxiv_version=version,
        title=require_text(obj.get("title"), "title"),
        abstract=require_text(obj.get("summary"), "abstract (summary)"),
        authors=string_list(obj.get("authors"), "authors"),
        categories=storable_categories(string_list(obj.get("categories"), "categories")),
        comment=clean_text(obj.get("comment")),
        abs_url=clean_url(obj.get("abs")) or abs_default,
        pdf_url=clean_url(obj.get("pdf")) or pdf_default,
        first_seen=first_seen,
    )
