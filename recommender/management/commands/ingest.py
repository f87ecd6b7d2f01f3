"""`manage.py ingest`: store papers from saved files or from a live source.

    manage.py ingest PATH... [--format hf-json|arxiv-atom|jsonl|page-text] [--json]
    manage.py ingest --fetch hf|arxiv [--date YYYY-MM-DD] [--category cs.LG ...] [--json]

Prints progress to stderr on long runs, each rejected record (file:line N: reason) to stderr, and
one summary line to stdout: "created N, updated N, unchanged N, rejected N" (with --json: one JSON
object with those four keys). Exit code: 0 when nothing was rejected, 1 when any record was
rejected (the good ones are stored all the same), 2 on a usage error, 3 when a live source
could not be fetched.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recommender.ingestion import fetch, ingest, runs
from recommender.ingestion.sources import FORMATS, Rejection

EXIT_REJECTED, EXIT_USAGE, EXIT_FETCH_FAILED = 1, 2, 3


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not a YYYY-MM-DD date: {value!r}", returncode=EXIT_USAGE) from None


class Command(BaseCommand):
    help = "Ingest papers from files (formats: " + ", ".join(FORMATS) + ") or a live source."

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="*", type=Path, metavar="PATH")
        parser.add_argument("--format", choices=FORMATS, help="default: detected per file")
        parser.add_argument("--fetch", choices=fetch.SOURCES, help="download a live source")
        parser.add_argument("--date", help="with --fetch: the listing day (YYYY-MM-DD)")
        parser.add_argument(
            "--category",
            action="append",
            default=[],
            help="with --fetch arxiv: a category (repeatable; default INGEST_ARXIV_CATEGORIES)",
        )
        parser.add_argument(
            "--reference-date",
            help="page-text: resolve year-less dates against this day (default: file's mtime)",
        )
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")
        parser.add_argument("--batch-size", type=int, default=ingest.BATCH_SIZE)

    def handle(self, *args, paths: list[Path], **options) -> None:
        self._check_usage(paths, options)
        hooks = {
            "on_rejection": self._report_rejection,
            "on_progress": self._report_progress,
            "batch_size": options["batch_size"],
        }
        if options["fetch"]:
            categories = [c for value in options["category"] for c in value.split(",") if c]
            try:
                summary = ingest.fetch_and_ingest(
                    options["fetch"],
                    day=_day(options["date"]) if options["date"] else None,
                    categories=categories,
                    trigger="command",
                    **hooks,
                )
            except fetch.FetchError as error:
                raise CommandError(f"fetch failed: {error}", returncode=EXIT_FETCH_FAILED) from None
        else:
            reference = options["reference_date"]
            reference_date = _day(reference) if reference else None
            summary = runs.recorded(
                lambda: ingest.ingest_paths(
                    paths,
                    options["format"],
                    reference_date=reference_date,
                    **hooks,
                ),
                source=runs.source_of_files(paths, options["format"]),
                trigger="command",
                label=runs.label_of_files(paths),
            )
        self.stdout.write(json.dumps(summary.counts()) if options["json"] else summary.line())
        if summary.rejected:
            raise CommandError(
                f"{summary.rejected} record(s) rejected (listed above); the others were stored",
                returncode=EXIT_REJECTED,
            )

    def _check_usage(self, paths: list[Path], options: dict) -> None:
        def usage(message: str) -> CommandError:
            return CommandError(message, returncode=EXIT_USAGE)

        if bool(paths) == bool(options["fetch"]):
            raise usage("give either one or more PATHs or --fetch hf|arxiv")
        if options["fetch"] and (options["format"] or options["reference_date"]):
            raise usage("--format and --reference-date apply to files, not to --fetch")
        if not options["fetch"] and (options["date"] or options["category"]):
            raise usage("--date and --category apply to --fetch only")
        if options["category"] and options["fetch"] != "arxiv":
            raise usage("--category applies to --fetch arxiv only")
        if options["batch_size"] < 1:
            raise usage("--batch-size must be at least 1")
        missing = [str(path) for path in paths if not path.is_file()]
        if missing:
            raise usage("no such file: " + ", ".join(missing))

    def _report_rejection(self, rejection: Rejection) -> None:
        self.stderr.write(f"rejected {rejection}")

    def _report_progress(self, summary: ingest.IngestSummary) -> None:
        self.stderr.write(f"... {summary.seen} records: {summary.line()}")
        self.stderr.flush()
