"""An arXiv API Atom feed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from xml.etree.ElementTree import ParseError

from defusedxml.ElementTree import DefusedXMLParser

from digest_site import arxiv_ids

from .records import (
    BAD_BYTES,
    MAX_CATEGORY_LENGTH,
    SOURCE_OF_FORMAT,
    Item,
    Limits,
    PaperRecord,
    RecordError,
    Rejection,
    arxiv_urls,
    binary_lines,
    clean_text,
    parse_datetime,
    record_arxiv_id,
    require_text,
    string_list,
)

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"


# A DOI as registered (10.<registrant>/<suffix>); anything else in the field is dropped.
_DOI = re.compile(r"^10\.\d{4,9}/\S{1,200}$")  # Paper.doi holds 255


class _AtomEntries:
    """An XML parser target that collects each <entry> as a dict of its parts.

    It keeps at most `max_chars` characters of text per entry (the rest of an oversized entry is
    dropped as it streams in and the entry is marked), and none outside entries, so an endless
    element cannot fill memory."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self._entry_chars = 0
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
            self._entry_chars = 0
        elif self._entry is None:
            return
        elif tag == ARXIV + "primary_category":
            self._entry["primary_category"] = attrib.get("term", "")
        elif tag == ATOM + "category":
            self._entry["categories"].append(attrib.get("term", ""))
        elif tag == ATOM + "link":
            self._entry["links"].append(dict(attrib))

    def data(self, text: str) -> None:
        if self._entry is None:
            return
        self._entry_chars += len(text)
        if self._entry_chars > self.max_chars:
            self._entry["oversized"] = True
            return
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
                ARXIV + "journal_ref": "journal_ref",
                ARXIV + "doi": "doi",
            }.get(tag)
            if key:
                self._entry[key] = text

    def close(self) -> None:
        return None


def parse_arxiv_atom(path: Path, limits: Limits) -> Iterator[Item]:
    """An arXiv API feed. Several versions of one paper in a feed yield its newest only; a feed
    broken part-way still yields every entry completed before the break."""
    source = SOURCE_OF_FORMAT["arxiv-atom"]
    target = _AtomEntries(limits.record_bytes)
    # defusedxml: entity expansion and external references are refused (the feed comes from
    # the network).
    parser = DefusedXMLParser(target=target)
    newest: dict[str, tuple[tuple[int, str], PaperRecord]] = {}
    failure: Rejection | None = None
    saw_root = False
    for entry in binary_lines(path, limits, whole=False):
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
            record = _record_from_atom(entry, source, location, target.max_chars)
        except RecordError as error:
            yield Rejection(location, str(error))
            continue
        key = (record.arxiv_version or 0, entry.get("updated", ""))
        kept = newest.get(record.arxiv_id)
        if kept is None or key > kept[0]:
            newest[record.arxiv_id] = (key, record)
    target.entries.clear()


def _record_from_atom(entry: dict, source: str, location: str, max_chars: int) -> PaperRecord:
    if entry.get("oversized"):
        raise RecordError(
            f"the entry holds more than {max_chars:,} characters of text "
            f"(INGEST_MAX_RECORD_BYTES); skipped"
        )
    if BAD_BYTES.search(repr(entry)):
        raise RecordError("not valid UTF-8")
    arxiv_id, version = record_arxiv_id(entry.get("id"))
    if arxiv_id is None:  # an entry without an <id>: nothing to store it under
        raise RecordError("not an arXiv id: ''")
    abs_url, pdf_url = arxiv_urls(arxiv_id)
    for link in entry["links"]:
        # The feed links to versioned abs/pdf pages; the stored links are the canonical
        # versionless ones, so a new version of a paper does not look like a changed link.
        if arxiv_ids.parse(link.get("href")) is None:
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
        title=require_text(entry.get("title"), "title"),
        abstract=require_text(entry.get("summary"), "abstract (summary)"),
        authors=string_list(entry["authors"], "authors"),
        categories=categories,
        comment=clean_text(entry.get("comment")),
        journal_ref=clean_text(entry.get("journal_ref")),
        doi=_doi(entry.get("doi")),
        abs_url=abs_url,
        pdf_url=pdf_url,
        published_at=parse_datetime(entry.get("published")),
    )


def _doi(value: object) -> str:
    """The first DOI of the field (arXiv allows several, space-separated), or ""."""
    for candidate in clean_text(value).split():
        if _DOI.match(candidate):
            return candidate
    return ""
