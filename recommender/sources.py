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

import gzip
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from xml.etree.ElementTree import ParseError

from defusedxml.ElementTree import DefusedXMLParser

FORMATS = ("hf-json", "arxiv-atom", "jsonl", "page-text")
# The name each format stores in Paper.sources; ingest ranks sources by these names.
SOURCE_OF_FORMAT = {
    "hf-json": "hf-daily",
    "arxiv-atom": "arxiv-api",
    "jsonl": "arxiv-dump",
    "page-text": "hf-page",
}
MAX_URL_LENGTH = 500  # Paper's URLFields
MAX_CATEGORY_LENGTH = 32  # Paper.primary_category
MAX_COUNT = 2**31 - 1  # PositiveIntegerField on PostgreSQL
MAX_VERSION = 2**15 - 1  # Paper.arxiv_version, a PositiveSmallIntegerField
GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class PaperRecord:
    """One paper as a source describes it; empty values mean "this source does not say"."""

    source: str
    location: str
    title: str
    abstract: str
    arxiv_id: str | None = None
    # The version the id named ("2503.11731v2" -> 2); None when the source gave a bare id.
    arxiv_version: int | None = None
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    comment: str = ""
    keywords: list[str] = field(default_factory=list)
    abs_url: str = ""
    pdf_url: str = ""
    code_url: str = ""
    project_url: str = ""
    published_at: datetime | None = None
    # The listing day the source saw it; None lets ingestion use the ingestion day.
    first_seen: date | None = None
    # None = the source carries no such signal (not zero).
    upvotes: int | None = None
    num_comments: int | None = None
    # True when the source visibly cut the abstract short ("..." at the end).
    abstract_truncated: bool = False


@dataclass(frozen=True)
class Rejection:
    """A record that could not be used: where it was and why."""

    location: str
    reason: str

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


Item = PaperRecord | Rejection


class RecordError(ValueError):
    """Raised inside a parser for one bad record; turned into a Rejection at its location."""


# --- Public entry points ----------------------------------------------------------------------


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


def detect_format(path: str | Path) -> str | None:
    """Guess the format from the first bytes: '<' Atom, '[' HF JSON, '{' JSON lines, other
    readable text a saved page. None for an empty or binary file. Raises OSError if unreadable."""
    head = _read_head(Path(path), 65536)
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not head:
        return None
    first = head[:1]
    if first == b"<":
        return "arxiv-atom"
    if first == b"[":
        return "hf-json"
    if first == b"{":
        return "jsonl"
    if b"\x00" in head:
        return None
    return "page-text"


# --- Helpers shared by the parsers ------------------------------------------------------------

# NUL, other control characters and lone surrogates: PostgreSQL text and jsonb refuse them.
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_BAD_BYTES = re.compile(r"[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)
_ARXIV_ID = re.compile(
    r"^(?:arxiv:)?(?P<id>\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Za-z]{2})?/\d{7})(?:v(?P<v>\d+))?$",
    re.IGNORECASE,
)
_ARXIV_URL = re.compile(r"^https?://(?:export\.|www\.)?arxiv\.org/(?:abs|pdf)/(?P<rest>.+)$")


def _read_head(path: Path, size: int) -> bytes:
    with open(path, "rb") as handle:
        head = handle.read(size)
    if head.startswith(GZIP_MAGIC):
        decompressor = zlib.decompressobj(wbits=31)
        try:
            return decompressor.decompress(head, size)
        except zlib.error:
            return b""
    return head


def _open_binary(path: Path):
    with open(path, "rb") as handle:
        magic = handle.read(2)
    return gzip.open(path, "rb") if magic == GZIP_MAGIC else open(path, "rb")


def _binary_lines(path: Path) -> Iterator[tuple[int, bytes] | Rejection]:
    """(line number, raw line) of a file, gzipped or not; a corrupt stream ends in a Rejection."""
    number = 0
    try:
        with _open_binary(path) as handle:
            for number, raw in enumerate(handle, start=1):
                yield number, raw
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        yield Rejection(f"{path}:line {number + 1}", f"truncated or corrupt gzip stream ({error})")


def _read_text(path: Path) -> tuple[str, Rejection | None]:
    """The whole file as text, and a Rejection if a gzip stream broke off (the text then holds
    what came before). Bytes that are not UTF-8 survive as surrogates (see _BAD_BYTES)."""
    chunks: list[bytes] = []
    failure = None
    with _open_binary(path) as handle:
        try:
            while chunk := handle.read(1 << 20):
                chunks.append(chunk)
        except (EOFError, zlib.error, gzip.BadGzipFile) as error:
            line = sum(chunk.count(b"\n") for chunk in chunks) + 1
            failure = Rejection(
                f"{path}:line {line}", f"truncated or corrupt gzip stream ({error})"
            )
    data = b"".join(chunks).removeprefix(b"\xef\xbb\xbf")
    return data.decode("utf-8", errors="surrogateescape"), failure


def clean_text(value: object) -> str:
    """One line of text: whitespace collapsed, characters a database cannot store removed."""
    if not isinstance(value, str):
        return ""
    return " ".join(_UNSTORABLE.sub("", value).split())


def _require_text(value: object, what: str) -> str:
    if value is not None and not isinstance(value, str):
        raise RecordError(f"{what} is not a string")
    text = clean_text(value)
    if not text:
        raise RecordError(f"missing {what}")
    return text


def _string_list(value: object, what: str, *, key: str | None = None) -> list[str]:
    """A list of non-empty strings; with `key`, items may also be objects holding the string."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(f"{what} is not a list")
    result = []
    for item in value:
        if key is not None and isinstance(item, dict):
            item = item.get(key)
        text = clean_text(item)
        if text and text not in result:
            result.append(text)
    return result


def split_arxiv_id(value: object) -> tuple[str, int] | None:
    """("2503.11731", 2) from "2503.11731v2", "arXiv:2503.11731v2" or an arxiv.org URL."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    url = _ARXIV_URL.match(text)
    if url:
        text = url.group("rest").removesuffix(".pdf")
    match = _ARXIV_ID.match(text)
    if not match:
        return None
    return match.group("id"), int(match.group("v") or 0)


def _arxiv_id(value: object) -> tuple[str | None, int | None]:
    """The versionless id and its version (None if not given), (None, None) when the source gives
    no id; RecordError when it is not one."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    parsed = split_arxiv_id(value)
    if parsed is None:
        raise RecordError(f"not an arXiv id: {clean_text(str(value))[:60]!r}")
    arxiv_id, version = parsed
    if version > MAX_VERSION:
        raise RecordError(f"not an arXiv version: v{version}")
    return arxiv_id, version or None


def _url(value: object) -> str:
    """A storable http(s) URL or "" (a bad link drops the link, not the paper)."""
    text = clean_text(value)
    if not text.startswith(("http://", "https://")) or len(text) > MAX_URL_LENGTH or " " in text:
        return ""
    return text


def _count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_COUNT else None


def _datetime(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if not 1900 <= moment.year <= 2200:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _categories(values: list[str]) -> list[str]:
    return [value for value in values if len(value) <= MAX_CATEGORY_LENGTH]


def _arxiv_urls(arxiv_id: str | None) -> tuple[str, str]:
    if not arxiv_id:
        return "", ""
    return f"https://arxiv.org/abs/{arxiv_id}", f"https://arxiv.org/pdf/{arxiv_id}"


# --- JSON lines dump --------------------------------------------------------------------------


def parse_jsonl(path: Path) -> Iterator[Item]:
    """The JSON-lines dump, one paper per line; a bad line is rejected and the next one read."""
    source = SOURCE_OF_FORMAT["jsonl"]
    for entry in _binary_lines(path):
        if isinstance(entry, Rejection):
            yield entry
            return
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
            yield Rejection(location, f"malformed JSON ({_json_message(error)})")
            continue
        yield _record_or_rejection(_record_from_dump, obj, location, source=source)


def _json_message(error: ValueError) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at column {error.colno}"
    return str(error)


def _record_or_rejection(build, obj: object, location: str, **options) -> Item:
    try:
        return build(obj, location=location, **options)
    except RecordError as error:
        return Rejection(location, str(error))


def _record_from_dump(obj: object, *, source: str, location: str) -> PaperRecord:
    if not isinstance(obj, dict):
        raise RecordError("a line must hold a JSON object")
    arxiv_id, version = _arxiv_id(obj.get("id"))
    first_seen = None
    if obj.get("first_seen") is not None:
        try:
            first_seen = date.fromisoformat(str(obj["first_seen"]))
        except ValueError:
            raise RecordError("first_seen is not a YYYY-MM-DD date") from None
    abs_default, pdf_default = _arxiv_urls(arxiv_id)
    return PaperRecord(
        source=source,
        location=location,
        arxiv_id=arxiv_id,
        arxiv_version=version,
        title=_require_text(obj.get("title"), "title"),
        abstract=_require_text(obj.get("summary"), "abstract (summary)"),
        authors=_string_list(obj.get("authors"), "authors"),
        categories=_categories(_string_list(obj.get("categories"), "categories")),
        comment=clean_text(obj.get("comment")),
        abs_url=_url(obj.get("abs")) or abs_default,
        pdf_url=_url(obj.get("pdf")) or pdf_default,
        first_seen=first_seen,
    )


# --- Hugging Face Daily Papers API ------------------------------------------------------------


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


def parse_hf_json(path: Path, *, listing_date: date | None = None) -> Iterator[Item]:
    """The Daily Papers API response: a JSON list of items.

    Items are decoded one at a time so a file cut off mid-way (a truncated download) still yields
    every complete item before the cut, then one rejection at the line where it breaks.
    """
    source = SOURCE_OF_FORMAT["hf-json"]
    text, failure = _read_text(path)
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
        if _BAD_BYTES.search(text, pos, end):
            yield Rejection(where, "not valid UTF-8")
        else:
            yield _record_or_rejection(
                _record_from_hf, item, where, source=source, listing_date=listing_date
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
    return f"malformed JSON ({_json_message(error)})"


def _record_from_hf(
    item: object, *, source: str, listing_date: date | None, location: str
) -> PaperRecord:
    if not isinstance(item, dict):
        raise RecordError("an item must be a JSON object")
    paper = item.get("paper")
    if not isinstance(paper, dict):
        raise RecordError("item has no 'paper' object")
    arxiv_id, version = _arxiv_id(paper.get("id"))
    published_at = _datetime(paper.get("publishedAt"))
    listed_at = _datetime(item.get("publishedAt"))
    first_seen = listing_date or (listed_at or published_at or None)
    if isinstance(first_seen, datetime):
        first_seen = first_seen.astimezone(UTC).date()
    abs_url, pdf_url = _arxiv_urls(arxiv_id)
    return PaperRecord(
        source=source,
        location=location,
        arxiv_id=arxiv_id,
        arxiv_version=version,
        title=_require_text(paper.get("title", item.get("title")), "title"),
        abstract=_require_text(paper.get("summary", item.get("summary")), "abstract (summary)"),
        authors=_string_list(paper.get("authors"), "authors", key="name"),
        keywords=_string_list(paper.get("ai_keywords"), "ai_keywords"),
        abs_url=abs_url,
        pdf_url=pdf_url,
        code_url=_url(paper.get("githubRepo")),
        project_url=_url(paper.get("projectPage")),
        published_at=published_at,
        first_seen=first_seen,
        upvotes=_count(paper.get("upvotes")),
        num_comments=_count(item.get("numComments")),
    )


# --- arXiv API Atom feed ----------------------------------------------------------------------

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"


class _AtomEntries:
    """An XML parser target that collects each <entry> as a dict of its parts."""

    def __init__(self) -> None:
        self.line = 0
        self.entries: list[tuple[int, dict]] = []
        self._entry: dict | None = None
        self._entry_line = 0
        self._path: list[str] = []
        self._text: list[str] = []

    def start(self, tag: str, attrib: dict) -> None:
        self._path.append(tag)
        self._text = []
        if tag == ATOM + "entry":
            self._entry = {"authors": [], "categories": [], "links": []}
            self._entry_line = self.line
        elif self._entry is None:
            return
        elif tag == ARXIV + "primary_category":
            self._entry["primary_category"] = attrib.get("term", "")
        elif tag == ATOM + "category":
            self._entry["categories"].append(attrib.get("term", ""))
        elif tag == ATOM + "link":
            self._entry["links"].append(dict(attrib))

    def data(self, text: str) -> None:
        self._text.append(text)

    def end(self, tag: str) -> None:
        self._path.pop()
        text = "".join(self._text)
        self._text = []
        if self._entry is None:
            return
        if tag == ATOM + "entry":
            self.entries.append((self._entry_line, self._entry))
            self._entry = None
        elif tag == ATOM + "name" and self._path[-1:] == [ATOM + "author"]:
            self._entry["authors"].append(text)
        elif self._path[-1:] == [ATOM + "entry"]:
            key = {
                ATOM + "id": "id",
                ATOM + "title": "title",
                ATOM + "summary": "summary",
                ATOM + "published": "published",
                ATOM + "updated": "updated",
                ARXIV + "comment": "comment",
            }.get(tag)
            if key:
                self._entry[key] = text

    def close(self) -> None:
        return None


def parse_arxiv_atom(path: Path) -> Iterator[Item]:
    """An arXiv API feed. Several versions of one paper in a feed yield its newest only; a feed
    broken part-way still yields every entry completed before the break."""
    source = SOURCE_OF_FORMAT["arxiv-atom"]
    target = _AtomEntries()
    # defusedxml: entity expansion and external references are refused (the feed comes from
    # the network).
    parser = DefusedXMLParser(target=target)
    newest: dict[str, tuple[tuple[int, str], PaperRecord]] = {}
    failure: Rejection | None = None
    saw_root = False
    for entry in _binary_lines(path):
        if isinstance(entry, Rejection):
            failure = entry
            break
        target.line, raw = entry
        saw_root = saw_root or bool(raw.strip())
        try:
            parser.feed(raw)
        except (ParseError, ValueError) as error:
            failure = _xml_rejection(path, error, target.line)
            break
        yield from _collect_atom_entries(target, source, path, newest)
    else:
        try:
            parser.close()
        except (ParseError, ValueError) as error:
            failure = _xml_rejection(path, error, target.line)
    yield from _collect_atom_entries(target, source, path, newest)
    for _key, record in newest.values():
        yield record
    if failure is not None:
        yield failure
    elif not saw_root:
        yield Rejection(str(path), "empty feed")


def _xml_rejection(path: Path, error: Exception, line: int) -> Rejection:
    position = getattr(error, "position", None)
    if position:
        line = position[0]
    return Rejection(f"{path}:line {line}", f"malformed XML ({error})")


def _collect_atom_entries(
    target: _AtomEntries, source: str, path: Path, newest: dict
) -> Iterator[Rejection]:
    for line, entry in target.entries:
        location = f"{path}:line {line}"
        try:
            record = _record_from_atom(entry, source, location)
        except RecordError as error:
            yield Rejection(location, str(error))
            continue
        key = (record.arxiv_version or 0, entry.get("updated", ""))
        kept = newest.get(record.arxiv_id)
        if kept is None or key > kept[0]:
            newest[record.arxiv_id] = (key, record)
    target.entries.clear()


def _record_from_atom(entry: dict, source: str, location: str) -> PaperRecord:
    if _BAD_BYTES.search(repr(entry)):
        raise RecordError("not valid UTF-8")
    arxiv_id, version = _arxiv_id(entry.get("id"))
    if arxiv_id is None:  # an entry without an <id>: nothing to store it under
        raise RecordError("not an arXiv id: ''")
    abs_url, pdf_url = _arxiv_urls(arxiv_id)
    for link in entry["links"]:
        # The feed links to versioned abs/pdf pages; the stored links are the canonical
        # versionless ones, so a new version of a paper does not look like a changed link.
        if split_arxiv_id(link.get("href")) is None:
            continue
        if link.get("title") == "pdf" or link.get("type") == "application/pdf":
            pdf_url = f"https://arxiv.org/pdf/{arxiv_id}"
        elif link.get("rel") == "alternate":
            abs_url = f"https://arxiv.org/abs/{arxiv_id}"
    categories = []
    for term in [entry.get("primary_category", ""), *entry["categories"]]:
        term = clean_text(term)
        if term and term not in categories and len(term) <= MAX_CATEGORY_LENGTH:
            categories.append(term)
    return PaperRecord(
        source=source,
        location=location,
        arxiv_id=arxiv_id,
        arxiv_version=version,
        title=_require_text(entry.get("title"), "title"),
        abstract=_require_text(entry.get("summary"), "abstract (summary)"),
        authors=_string_list(entry["authors"], "authors"),
        categories=categories,
        comment=clean_text(entry.get("comment")),
        abs_url=abs_url,
        pdf_url=pdf_url,
        published_at=_datetime(entry.get("published")),
    )


# --- Saved "Daily Papers" pages ---------------------------------------------------------------

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


def parse_page_text(path: Path, *, reference_date: date | None = None) -> Iterator[Item]:
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
    text, failure = _read_text(path)
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
                    bad_bytes=bool(_BAD_BYTES.search(text)),
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
