"""Limits on what a file may make us read and store, and the dates a record may carry.

Every parser reads through these limits (`Limits`), so a hostile or broken file cannot make
ingestion hold more than about one record (or one whole-read document) in memory, nor store a
field that would later slow down every ranking run. Each limit is a setting (docs/configuration.md,
"Ingestion limits") with a default far above what real arXiv and Hugging Face data holds.

Dates: a listing day or publication time later than now plus `clock_skew` or before arXiv
existed (August 1991) is a broken or hostile record and is rejected, because "recent" papers
are measured by these dates (recommender/ranking/candidates.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

# arXiv opened in August 1991: no paper was published or listed before.
ARXIV_START = date(1991, 8, 1)


class LimitExceeded(Exception):
    """A file is larger than a limit allows; reading it stops here."""


@dataclass(frozen=True)
class Limits:
    file_bytes: int = 1 << 30  # INGEST_MAX_FILE_BYTES (the file as stored, gzipped or not)
    decompressed_bytes: int = 2 << 30  # INGEST_MAX_DECOMPRESSED_BYTES
    # Formats read whole (hf-json, page-text) hold the file in memory: a lower cap.
    document_bytes: int = 16 << 20  # INGEST_MAX_DOCUMENT_BYTES
    record_bytes: int = 2 << 20  # INGEST_MAX_RECORD_BYTES (one JSON line, one Atom entry)
    records: int = 1_000_000  # INGEST_MAX_RECORDS_PER_FILE
    title_chars: int = 1_000  # INGEST_MAX_TITLE_CHARS
    abstract_chars: int = 20_000  # INGEST_MAX_ABSTRACT_CHARS
    authors: int = 10_000  # INGEST_MAX_AUTHORS (also keywords and categories)
    author_chars: int = 1_000  # INGEST_MAX_AUTHOR_CHARS (also a keyword or category)
    comment_chars: int = 5_000  # INGEST_MAX_COMMENT_CHARS (also the journal reference)
    url_chars: int = 500  # INGEST_MAX_URL_CHARS (the URL columns hold 500)
    clock_skew: timedelta = timedelta(hours=24)  # INGEST_CLOCK_SKEW_HOURS

    @classmethod
    def from_settings(cls) -> Limits:
        from django.conf import settings

        return cls(
            file_bytes=settings.INGEST_MAX_FILE_BYTES,
            decompressed_bytes=settings.INGEST_MAX_DECOMPRESSED_BYTES,
            document_bytes=settings.INGEST_MAX_DOCUMENT_BYTES,
            record_bytes=settings.INGEST_MAX_RECORD_BYTES,
            records=settings.INGEST_MAX_RECORDS_PER_FILE,
            title_chars=settings.INGEST_MAX_TITLE_CHARS,
            abstract_chars=settings.INGEST_MAX_ABSTRACT_CHARS,
            authors=settings.INGEST_MAX_AUTHORS,
            author_chars=settings.INGEST_MAX_AUTHOR_CHARS,
            comment_chars=settings.INGEST_MAX_COMMENT_CHARS,
            url_chars=min(settings.INGEST_MAX_URL_CHARS, 500),
            clock_skew=timedelta(hours=settings.INGEST_CLOCK_SKEW_HOURS),
        )


class CountingReader:
    """A binary stream that raises `LimitExceeded` once more than `limit` bytes came out of it,
    so a gzip bomb is stopped after `limit` decompressed bytes, never expanded whole."""

    def __init__(self, handle, limit: int) -> None:
        self.handle, self.limit, self.count = handle, limit, 0

    def _counted(self, data: bytes) -> bytes:
        self.count += len(data)
        if self.count > self.limit:
            raise LimitExceeded(
                f"the file holds more than {self.limit:,} bytes once decompressed "
                f"(INGEST_MAX_DECOMPRESSED_BYTES); the rest of the file was not read"
            )
        return data

    def read(self, size: int = -1) -> bytes:
        return self._counted(self.handle.read(size))

    def readline(self, size: int = -1) -> bytes:
        return self._counted(self.handle.readline(size))


def field_problem(record, limits: Limits) -> str | None:
    """Why a record's fields are too long for `limits`, or None."""
    for name, value, limit, setting in (
        ("title", record.title, limits.title_chars, "INGEST_MAX_TITLE_CHARS"),
        ("abstract", record.abstract, limits.abstract_chars, "INGEST_MAX_ABSTRACT_CHARS"),
        ("comment", record.comment, limits.comment_chars, "INGEST_MAX_COMMENT_CHARS"),
        ("journal_ref", record.journal_ref, limits.comment_chars, "INGEST_MAX_COMMENT_CHARS"),
    ):
        if len(value) > limit:
            return f"{name} has {len(value):,} characters, over the limit of {limit:,} ({setting})"
    for name in ("authors", "keywords", "categories"):
        values = getattr(record, name)
        if len(values) > limits.authors:
            return (
                f"{len(values):,} {name}, over the limit of {limits.authors:,} (INGEST_MAX_AUTHORS)"
            )
        longest = max(values, key=len, default="")
        if len(longest) > limits.author_chars:
            return (
                f"one of the {name} has {len(longest):,} characters, over the limit of "
                f"{limits.author_chars:,} (INGEST_MAX_AUTHOR_CHARS)"
            )
    for name in ("abs_url", "pdf_url", "code_url", "project_url"):
        value = getattr(record, name)
        if len(value) > limits.url_chars:
            return (
                f"{name} has {len(value):,} characters, over the limit of "
                f"{limits.url_chars:,} (INGEST_MAX_URL_CHARS)"
            )
    return None


def date_problem(record, limits: Limits, now: datetime) -> str | None:
    """Why a record's listing day or publication time cannot be right, or None."""
    latest = now + limits.clock_skew
    if record.first_seen is not None:
        if record.first_seen > latest.date():
            return (
                f"listing day {record.first_seen.isoformat()} is in the future (after "
                f"{latest.date().isoformat()}, now plus INGEST_CLOCK_SKEW_HOURS)"
            )
        if record.first_seen < ARXIV_START:
            return f"listing day {record.first_seen.isoformat()} is before arXiv existed (1991-08)"
    if record.published_at is not None:
        moment = record.published_at
        if moment > latest:
            return (
                f"publication time {_stamp(moment)} is in the future (after {_stamp(latest)}, "
                f"now plus INGEST_CLOCK_SKEW_HOURS)"
            )
        if moment.date() < ARXIV_START:
            return f"publication time {_stamp(moment)} is before arXiv existed (1991-08)"
    return None


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
