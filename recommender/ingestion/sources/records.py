"""What every parser produces (PaperRecord, Rejection) and the checks they share. No database."""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from digest_site import arxiv_ids

from .limits import CountingReader, LimitExceeded, Limits

FORMATS = ("hf-json", "arxiv-atom", "jsonl", "page-text")
# The name each format stores in Paper.sources; ingest ranks sources by these names.
SOURCE_OF_FORMAT = {
    "hf-json": "hf-daily",
    "arxiv-atom": "arxiv-api",
    "jsonl": "arxiv-dump",
    "page-text": "hf-page",
}
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
    journal_ref: str = ""
    doi: str = ""
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
    # When a live fetch read the upvotes and comments; None for a saved file (time unknown).
    observed_at: datetime | None = None


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


# NUL, other control characters and lone surrogates: PostgreSQL text and jsonb refuse them.
UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
BAD_BYTES = re.compile(r"[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)


def read_head(path: Path, size: int) -> bytes:
    with open(path, "rb") as handle:
        head = handle.read(size)
    if head.startswith(GZIP_MAGIC):
        decompressor = zlib.decompressobj(wbits=31)
        try:
            return decompressor.decompress(head, size)
        except zlib.error:
            return b""
    return head


def open_binary(path: Path, limits: Limits) -> CountingReader:
    """The file's bytes, gunzipped if needed, through a reader that stops past the limits."""
    size = path.stat().st_size
    if size > limits.file_bytes:
        raise LimitExceeded(
            f"the file has {size:,} bytes, over the limit of {limits.file_bytes:,} "
            f"(INGEST_MAX_FILE_BYTES); nothing was read"
        )
    with open(path, "rb") as handle:
        magic = handle.read(2)
    # Not behind a larger buffer: a truncated stream must still yield the lines before the cut.
    raw = gzip.open(path, "rb") if magic == GZIP_MAGIC else open(path, "rb")  # noqa: SIM115 - the caller closes it (.handle)
    return CountingReader(raw, limits.decompressed_bytes)


_STREAM_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


def binary_lines(
    path: Path, limits: Limits, *, whole: bool = True
) -> Iterator[tuple[int, bytes] | Rejection]:
    """(line number, raw line) of a file, gzipped or not, never more than
    `limits.record_bytes` at a time, so one endless line cannot fill memory.

    `whole`: a line longer than that is rejected and skipped (JSON lines); otherwise it comes
    in pieces under one number (XML, whose parser takes any piece). A corrupt stream or a file
    over a limit ends in a Rejection.
    """
    number = 0
    reading = 1  # the line being read when a stream breaks off
    reader = open_binary(path, limits)
    try:
        with reader.handle:
            while raw := reader.readline(limits.record_bytes + 1):
                number += 1
                reading = number
                if len(raw) <= limits.record_bytes or raw.endswith(b"\n"):
                    reading = number + 1
                    yield number, raw
                    continue
                if whole:
                    yield Rejection(
                        f"{path}:line {number}",
                        f"the line is longer than {limits.record_bytes:,} bytes "
                        f"(INGEST_MAX_RECORD_BYTES); skipped",
                    )
                else:
                    yield number, raw
                while not raw.endswith(b"\n"):
                    raw = reader.readline(limits.record_bytes)
                    if not raw:
                        break
                    if not whole:
                        yield number, raw
                reading = number + 1
    except _STREAM_ERRORS as error:
        yield Rejection(f"{path}:line {reading}", f"truncated or corrupt gzip stream ({error})")
    except LimitExceeded as error:
        yield Rejection(f"{path}:line {reading}", str(error))


def read_text(path: Path, limits: Limits) -> tuple[str, Rejection | None]:
    """The whole file as text, and a Rejection if a gzip stream broke off (the text then holds
    what came before). Bytes that are not UTF-8 survive as surrogates (see BAD_BYTES).

    Raises `LimitExceeded` past `limits.document_bytes`: a document cut there cannot be read
    as one, and stopping at once keeps memory to about that limit."""
    chunks: list[bytes] = []
    failure = None
    reader = open_binary(path, limits)
    reader.limit = min(reader.limit, limits.document_bytes)
    with reader.handle:
        try:
            while chunk := reader.read(1 << 20):
                chunks.append(chunk)
        except LimitExceeded:
            chunks.clear()
            raise LimitExceeded(
                f"the file holds more than {limits.document_bytes:,} bytes (once decompressed); "
                f"over the limit for formats read whole (INGEST_MAX_DOCUMENT_BYTES); not read"
            ) from None
        except _STREAM_ERRORS as error:
            line = sum(chunk.count(b"\n") for chunk in chunks) + 1
            failure = Rejection(
                f"{path}:line {line}", f"truncated or corrupt gzip stream ({error})"
            )
    data = b"".join(chunks).removeprefix(b"\xef\xbb\xbf")
    chunks.clear()
    return data.decode("utf-8", errors="surrogateescape"), failure


def clean_text(value: object) -> str:
    """One line of text: whitespace collapsed, characters a database cannot store removed."""
    if not isinstance(value, str):
        return ""
    return " ".join(UNSTORABLE.sub("", value).split())


def require_text(value: object, what: str) -> str:
    if value is not None and not isinstance(value, str):
        raise RecordError(f"{what} is not a string")
    text = clean_text(value)
    if not text:
        raise RecordError(f"missing {what}")
    return text


def string_list(value: object, what: str, *, key: str | None = None) -> list[str]:
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


def record_arxiv_id(value: object) -> tuple[str | None, int | None]:
    """The versionless id and its version (None if not given), (None, None) when the source gives
    no id; RecordError when it is not one."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    parsed = arxiv_ids.parse(value)
    if parsed is None:
        raise RecordError(f"not an arXiv id: {clean_text(str(value))[:60]!r}")
    if parsed.version is not None and parsed.version > MAX_VERSION:
        raise RecordError(f"not an arXiv version: v{parsed.version}")
    return parsed.id, parsed.version or None


def clean_url(value: object) -> str:
    """A storable http(s) URL or "" (a bad link drops the link, not the paper)."""
    text = clean_text(value)
    # Too long a link is not dropped here: the limits reject the record (limits.field_problem).
    if not text.startswith(("http://", "https://")) or " " in text:
        return ""
    return text


def clean_count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_COUNT else None


def parse_datetime(value: object) -> datetime | None:
    """A time in UTC; any year is kept, so that the date checks (limits.date_problem) reject a
    record with an impossible one instead of silently dropping its date."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise RecordError(f"time out of range: {clean_text(value)[:40]!r}") from None


def storable_categories(values: list[str]) -> list[str]:
    return [value for value in values if len(value) <= MAX_CATEGORY_LENGTH]


def arxiv_urls(arxiv_id: str | None) -> tuple[str, str]:
    if not arxiv_id:
        return "", ""
    return f"https://arxiv.org/abs/{arxiv_id}", f"https://arxiv.org/pdf/{arxiv_id}"


# --- JSON lines dump --------------------------------------------------------------------------


def json_message(error: ValueError) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at column {error.colno}"
    return str(error)


def record_or_rejection(build, obj: object, location: str, **options) -> Item:
    try:
        return build(obj, location=location, **options)
    except RecordError as error:
        return Rejection(location, str(error))
