"""The Hugging Face Daily Papers API response."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from .records import (
    BAD_BYTES,
    SOURCE_OF_FORMAT,
    Item,
    Limits,
    PaperRecord,
    RecordError,
    Rejection,
    arxiv_urls,
    clean_count,
    clean_url,
    json_message,
    parse_datetime,
    read_text,
    record_arxiv_id,
    record_or_rejection,
    require_text,
    string_list,
)


class _LineCounter:
    """Line numbers of positions in a text, for positions visited in increasing order."""

    def __init__(self, text: str) -> None:
        self.text, self.pos, self.line = text, 0, 1

    def at(self, pos: int) -> int:
        if pos < self.pos:
            self.pos, self.line = 0, 1
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


def parse_hf_json(
    path: Path,
    limits: Limits,
    *,
    listing_date: date | None = None,
    observed_at: datetime | None = None,
) -> Iterator[Item]:
    """The Daily Papers API response: a JSON list of items.

    Items are decoded one at a time so a file cut off mid-way (a truncated download) still yields
    every complete item before the cut, then one rejection at the line where it breaks.
    """
    source = SOURCE_OF_FORMAT["hf-json"]
    text, failure = read_text(path, limits)
    if failure is not None:
        yield failure
    lines = _LineCounter(text)
    decoder = json.JSONDecoder()

    def location(pos: int) -> str:
        return f"{path}:line {lines.at(pos)}"

    def skip_space(pos: int) -> int:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        return pos

    pos = skip_space(0)
    if pos >= len(text) or text[pos] != "[":
        yield Rejection(location(pos), "not a Daily Papers response (expected a JSON list)")
        return
    pos = skip_space(pos + 1)
    number = 0
    if pos < len(text) and text[pos] == "]":
        pos = len(text)  # an empty listing (a weekend day)
    while pos < len(text):
        number += 1
        try:
            item, end = decoder.raw_decode(text, pos)
        except RecursionError:
            yield Rejection(location(pos), f"item {number}: malformed JSON (nested too deeply)")
            return
        except ValueError as error:
            at = error.pos if isinstance(error, json.JSONDecodeError) else pos
            yield Rejection(location(at), f"item {number}: {_truncated_or_malformed(error)}")
            return
        where = f"{location(pos)} (item {number})"
        if BAD_BYTES.search(text, pos, end):
            yield Rejection(where, "not valid UTF-8")
        else:
            yield record_or_rejection(
                _record_from_hf,
                item,
                where,
                source=source,
                listing_date=listing_date,
                observed_at=observed_at,
            )
        pos = skip_space(end)
        if pos < len(text) and text[pos] == ",":
            pos = skip_space(pos + 1)
            continue
        if pos < len(text) and text[pos] == "]":
            if skip_space(pos + 1) < len(text):
                yield Rejection(location(skip_space(pos + 1)), "unexpected data after the list")
            return
        yield Rejection(
            location(pos),
            "truncated JSON: the list is not closed"
            if pos >= len(text)
            else "malformed JSON: expected ',' or ']' after an item",
        )
        return
    if number == 0 and not text.rstrip().endswith("]"):
        yield Rejection(location(len(text)), "truncated JSON: the list is not closed")


def _truncated_or_malformed(error: ValueError) -> str:
    if isinstance(error, json.JSONDecodeError) and error.pos >= len(error.doc.rstrip()):
        return "truncated JSON (the file ends inside this item)"
    return f"malformed JSON ({json_message(error)})"


def _record_from_hf(
    item: object,
    *,
    source: str,
    listing_date: date | None,
    observed_at: datetime | None,
    location: str,
) -> PaperRecord:
    if not isinstance(item, dict):
        raise RecordError("an item must be a JSON object")
    paper = item.get("paper")
    if not isinstance(paper, dict):
        raise RecordError("item has no 'paper' object")
    arxiv_id, version = record_arxiv_id(paper.get("id"))
    published_at = parse_datetime(paper.get("publishedAt"))
    listed_at = parse_datetime(item.get("publishedAt"))
    first_seen = listing_date or (listed_at or published_at or None)
    if isinstance(first_seen, datetime):
        first_seen = first_seen.astimezone(UTC).date()
    abs_url, pdf_url = arxiv_urls(arxiv_id)
    return PaperRecord(
        source=source,
        location=location,
        arxiv_id=arxiv_id,
        arxiv_version=version,
        title=require_text(paper.get("title", item.get("title")), "title"),
        abstract=require_text(paper.get("summary", item.get("summary")), "abstract (summary)"),
        authors=string_list(paper.get("authors"), "authors", key="name"),
        keywords=string_list(paper.get("ai_keywords"), "ai_keywords"),
        abs_url=abs_url,
        pdf_url=pdf_url,
        code_url=clean_url(paper.get("githubRepo")),
        project_url=clean_url(paper.get("projectPage")),
        published_at=published_at,
        first_seen=first_seen,
        upvotes=clean_count(paper.get("upvotes")),
        num_comments=clean_count(item.get("numComments")),
        observed_at=observed_at,
    )
