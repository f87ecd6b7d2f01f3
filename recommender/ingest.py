"""Ingestion: parse paper records from a source and store them as Paper rows.

Only the JSON-lines dump format is read here so far; the ingestion issue adds the other sources,
format detection and bulk upserts.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .models import Paper


@dataclass
class IngestSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    problems: list[str] = field(default_factory=list)


def read_jsonl_records(path: Path) -> Iterator[tuple[int, dict]]:
    """Yield (line number, record) from a JSON-lines file, gzipped or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, json.loads(line)


def paper_fields_from_dump(record: dict) -> dict:
    return {
        "arxiv_id": record["id"],
        "title": " ".join(record["title"].split()),
        "abstract": " ".join(record["summary"].split()),
        "authors": record.get("authors") or [],
        "categories": record.get("categories") or [],
        "comment": record.get("comment") or "",
        "abs_url": record.get("abs") or "",
        "pdf_url": record.get("pdf") or "",
        "first_seen": date.fromisoformat(record["first_seen"]),
        "sources": ["arxiv-dump"],
    }


def ingest_jsonl(path: Path) -> IngestSummary:
    summary = IngestSummary()
    for _number, record in read_jsonl_records(path):
        fields = paper_fields_from_dump(record)
        _paper, created = Paper.objects.update_or_create(
            arxiv_id=fields.pop("arxiv_id"), defaults=fields
        )
        if created:
            summary.created += 1
        else:
            summary.updated += 1
    return summary
