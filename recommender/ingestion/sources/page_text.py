"""A "Daily Papers" web page saved as plain text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from .records import (
    BAD_BYTES,
    SOURCE_OF_FORMAT,
    Item,
    Limits,
    PaperRecord,
    Rejection,
    clean_text,
    read_text,
)

# Site lines at the top of a saved page (compared case-insensitively, whitespace collapsed).
PAGE_HEADER_LINES = frozenset(
    {
        "new",
        "get trending papers in your email inbox!",
        "subscribe",
        "daily papers",
        "byak and the research community",
        "by ak and the research community",
        "trending papers",
        "hugging face",
    }
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_DATE_LINE = re.compile(
    r"^(?P<month>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(?P<day>\d{1,2})"
    r"(?:(?:,\s*|\s+)(?P<year>(?:19|20)\d\d))?(?:\s+(?P<count>\d{1,7}))?$",
    re.IGNORECASE,
)
_AUTHORS_LINE = re.compile(r"^[•·*\-]?\s*\d+\s+authors?$", re.IGNORECASE)
_COUNT_LINE = re.compile(r"^\d{1,7}$")
_DOT_LINE = "·"
_ELLIPSIS = ("…", "...")
MAX_TITLE_LENGTH = 300
MAX_ORGANISATION_LENGTH = 120


@dataclass
class _PageDate:
    month: int
    day: int
    year: int | None
    count: int | None = None

    def resolve(self, reference: date) -> date | None:
        """The date itself when it has a year; else its latest occurrence not after `reference`
        (pages print the year only for dates outside the current one)."""
        years = [self.year] if self.year else range(reference.year, reference.year - 9, -1)
        for year in years:
            try:
                candidate = date(year, self.month, self.day)
            except ValueError:
                continue
            if self.year or candidate <= reference:
                return candidate
        return None


@dataclass
class _Unit:
    """A paragraph of paper text (a title or an abstract)."""

    line: int
    text: str
    lines: int = 1
    bad_bytes: bool = False


@dataclass
class _Meta:
    """The lines after an abstract: submitter ("• N authors" or an organisation), "·", date."""

    line: int
    has_submitter: bool = False
    date: _PageDate | None = None
    section_date: _PageDate | None = None


def _page_date(text: str) -> _PageDate | None:
    match = _DATE_LINE.match(text)
    if not match:
        return None
    return _PageDate(
        month=_MONTHS[match.group("month")[:3].lower()],
        day=int(match.group("day")),
        year=int(match.group("year")) if match.group("year") else None,
        count=int(match.group("count")) if match.group("count") else None,
    )


def _is_header_line(text: str) -> bool:
    return " ".join(text.lower().split()) in PAGE_HEADER_LINES


def parse_page_text(
    path: Path, limits: Limits, *, reference_date: date | None = None
) -> Iterator[Item]:
    """A "Daily Papers" page saved as text.

    Layout: a header (site lines from `PAGE_HEADER_LINES`, then the page date, e.g. "Nov 20"),
    then per paper a title line, a blank line, the abstract paragraph and optionally a submitter
    line ("• 4 authors" or an organisation name), a "·" line and a date line ("May 23, 2024",
    "Jul 23", or with a trailing upvote count: "Oct 6 2", "Oct 1, 2024 8").

    Year-less dates: the page date is resolved against `reference_date` (default: the file's
    modification day), each paper date against the page date; both to their latest occurrence
    not after the reference. A paper's first_seen is its date line, else the page date.

    Papers are told apart by the submitter/date lines; where a page has none, title and
    abstract paragraphs alternate. Whatever cannot be split unambiguously is rejected rather
    than guessed, so two papers are never merged and one is never split.
    """
    source = SOURCE_OF_FORMAT["page-text"]
    if reference_date is None:
        saved = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).date()
        reference_date = min(datetime.now(UTC).date(), saved)
    text, failure = read_text(path, limits)
    if failure is not None:
        yield failure
    lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), start=1)]
    position, page_date = _skip_page_header(lines)
    context = page_date.resolve(reference_date) if page_date else None
    tokens = _page_tokens(lines[position:])
    units: list[_Unit] = []
    for token in [*tokens, None]:
        if isinstance(token, _Unit):
            units.append(token)
            continue
        meta = token
        papers, rejection = _pair_units(units)
        if rejection is not None:
            yield Rejection(f"{path}:line {rejection[0]}", rejection[1])
        elif not papers and meta is not None and meta.has_submitter:
            yield Rejection(f"{path}:line {meta.line}", "submitter line without a paper above it")
        for index, (title, abstract) in enumerate(papers):
            own = meta if index == len(papers) - 1 else None
            yield _page_record(
                title, abstract, own, context or reference_date, context, source, path
            )
        units = []
        if meta is not None and meta.section_date is not None:
            # A second date after a paper's own date line starts a new day's section.
            context = meta.section_date.resolve(context or reference_date) or context


def _skip_page_header(lines: list[tuple[int, str]]) -> tuple[int, _PageDate | None]:
    page_date = None
    for position, (_number, line) in enumerate(lines):
        if not line or _is_header_line(line):
            continue
        found = _page_date(line)
        if found is not None and page_date is None and found.count is None:
            page_date = found
            continue
        return position, page_date
    return len(lines), page_date


def _page_tokens(lines: list[tuple[int, str]]) -> list[_Unit | _Meta]:
    """Paragraphs of text and groups of submitter/"·"/date lines, in page order."""
    tokens: list[_Unit | _Meta] = []
    meta: _Meta | None = None
    paragraph: list[tuple[int, str]] = []

    def flush_paragraph() -> None:
        if paragraph:
            text = " ".join(line for _n, line in paragraph)
            tokens.append(
                _Unit(
                    line=paragraph[0][0],
                    text=text,
                    lines=len(paragraph),
                    bad_bytes=bool(BAD_BYTES.search(text)),
                )
            )
            paragraph.clear()

    def meta_group(number: int) -> _Meta:
        nonlocal meta
        if meta is None:
            flush_paragraph()
            meta = _Meta(line=number)
            tokens.append(meta)
        return meta

    for index, (number, line) in enumerate(lines):
        if not line:
            flush_paragraph()
            continue
        next_line = lines[index + 1][1] if index + 1 < len(lines) else ""
        found = _page_date(line)
        if line == _DOT_LINE:
            meta_group(number)
        elif _AUTHORS_LINE.match(line):
            meta_group(number).has_submitter = True
        elif (
            next_line == _DOT_LINE
            and len(line) <= MAX_ORGANISATION_LENGTH
            and not line.endswith((".", *_ELLIPSIS))
        ):
            meta_group(number).has_submitter = True  # an organisation submitted it
        elif found is not None:
            group = meta_group(number)
            if group.date is None:
                group.date = found
            else:
                group.section_date = found
        elif _COUNT_LINE.match(line) and meta is not None and meta.date is not None:
            if meta.date.count is None:
                meta.date.count = int(line)
        else:
            meta = None
            paragraph.append((number, line))
            continue
    flush_paragraph()
    return tokens


def _title_like(unit: _Unit) -> bool:
    return unit.lines == 1 and len(unit.text) <= MAX_TITLE_LENGTH


def _pair_units(
    units: list[_Unit],
) -> tuple[list[tuple[_Unit, _Unit]], tuple[int, str] | None]:
    """(title, abstract) pairs of the paragraphs between two submitter/date groups."""
    count = len(units)
    if count == 0:
        return [], None
    if count == 1:
        return [], (units[0].line, "a paragraph without its title or abstract")
    if count % 2 == 0 and all(_title_like(units[index]) for index in range(0, count, 2)):
        return [(units[index], units[index + 1]) for index in range(0, count, 2)], None
    if _title_like(units[0]) and not any(_title_like(unit) for unit in units[1:]):
        joined = _Unit(
            line=units[1].line,
            text=" ".join(unit.text for unit in units[1:]),
            lines=sum(unit.lines for unit in units[1:]),
            bad_bytes=any(unit.bad_bytes for unit in units),
        )
        return [(units[0], joined)], None
    return [], (
        units[0].line,
        f"cannot tell titles from abstracts in lines {units[0].line}-{units[-1].line}",
    )


def _page_record(
    title: _Unit,
    abstract: _Unit,
    meta: _Meta | None,
    reference: date,
    page_day: date | None,
    source: str,
    path: Path,
) -> Item:
    location = f"{path}:line {title.line}"
    if title.bad_bytes or abstract.bad_bytes:
        return Rejection(location, "not valid UTF-8")
    listed = meta.date.resolve(reference) if meta and meta.date else None
    title_text = clean_text(title.text)
    abstract_text = clean_text(abstract.text)
    if not title_text or not abstract_text:
        return Rejection(location, "missing title or abstract")
    return PaperRecord(
        source=source,
        location=location,
        title=title_text,
        abstract=abstract_text,
        first_seen=listed or page_day,
        upvotes=meta.date.count if meta and meta.date else None,
        abstract_truncated=abstract_text.endswith(_ELLIPSIS),
    )
