"""The record of every ingestion run (recommender.IngestionRun): the one place runs are written.

Entry points that start a run (the daily fetch, `manage.py ingest`, `manage.py demo`) hand their
work to `recorded`, which stores a row when the run starts and its counts, duration and outcome
when it ends, failed runs included; the admin dashboard reads these rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from django.utils import timezone

from ..models import IngestionRun
from .sources import SOURCE_OF_FORMAT
from .sources.detect import detect_format

if TYPE_CHECKING:
    from .ingest import IngestSummary


def recorded(
    work: Callable[[], IngestSummary], *, source: str, trigger: str, label: str = ""
) -> IngestSummary:
    """Run `work` (an ingestion returning its summary) and record it as one IngestionRun."""
    run = IngestionRun.objects.create(source=source[:64], trigger=trigger[:32], label=label[:300])
    try:
        summary = work()
    except BaseException as error:
        _finish(run, IngestionRun.Status.FAILED, error=f"{type(error).__name__}: {error}")
        raise
    status = IngestionRun.Status.REJECTIONS if summary.rejected else IngestionRun.Status.OK
    _finish(run, status, **summary.counts())
    return summary


def _finish(run: IngestionRun, status: str, **fields) -> None:
    IngestionRun.objects.filter(pk=run.pk).update(
        status=status, finished_at=timezone.now(), **fields
    )


def source_of_files(paths: Iterable[str | Path], format: str | None = None) -> str:
    """The source name(s) a run of files stores papers under ("arxiv-dump", "hf-daily+hf-page")."""
    formats = {format} if format else {detect_format(path) for path in paths}
    names = sorted(SOURCE_OF_FORMAT[f] for f in formats if f in SOURCE_OF_FORMAT)
    return "+".join(names) or "unknown"


def label_of_files(paths: Iterable[str | Path]) -> str:
    names = [Path(path).name for path in paths]
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
