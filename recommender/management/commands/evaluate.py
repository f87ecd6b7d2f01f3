"""`manage.py evaluate --dataset FILE [--background PATH... | --dataset-only] [--json]`: offline
ranking quality."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recommender.model import store as model_store
from recommender.ranking import evaluation


class Command(BaseCommand):
    help = (
        "Fit the recommender on a labelled dataset (plus optional background papers), rank the "
        "dataset's papers for each of its profiles and print P@10, nDCG@10 and recall@10."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dataset", type=Path, required=True, help="JSON dataset file")
        fit = parser.add_mutually_exclusive_group()
        fit.add_argument(
            "--background",
            type=Path,
            nargs="+",
            help="papers used only to fit the model (any ingestion format); default: the "
            "bundled sample corpus (recommender/fixtures/sample-papers.jsonl.gz)",
        )
        fit.add_argument(
            "--dataset-only",
            action="store_true",
            help="fit the model on the dataset's papers alone (no background)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(
        self,
        *args,
        dataset: Path,
        background: list[Path] | None,
        dataset_only: bool,
        json: bool,
        **options,
    ):
        if background is None:
            background = [] if dataset_only else [evaluation.BUNDLED_SAMPLE]
        try:
            data = evaluation.load_dataset(dataset)
            extra, problems = evaluation.read_background(background)
            if not json:
                source = ", ".join(path.name for path in background) or "none"
                self.stdout.write(
                    f"{len(data.papers)} dataset papers, {len(data.profiles)} profiles, "
                    f"{len(extra)} background papers ({len(problems)} rejected; {source})"
                )
            report = evaluation.evaluate(data, extra)
            report.background = [path.name for path in background]
        except evaluation.DatasetError as error:
            raise CommandError(str(error)) from error
        model_store.save_evaluation(
            {**report.as_dict(), "dataset": dataset.name, "model": report.model}
        )
        if json:
            self.stdout.write(_dumps(report.as_dict()))
            return
        for result in report.results:
            notes = f"  [{' '.join(result.messages)}]" if result.messages else ""
            self.stdout.write(
                f"  {result.id:<24} P@10 {result.p_at_10:.3f}  nDCG@10 {result.ndcg_at_10:.3f}"
                f"  R@10 {result.recall_at_10:.3f}{notes}"
            )
        if report.skipped:
            self.stdout.write(f"  skipped (no relevant papers listed): {', '.join(report.skipped)}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.profiles} profiles: P@10 {report.p_at_10:.3f}, "
                f"nDCG@10 {report.ndcg_at_10:.3f}, recall@10 {report.recall_at_10:.3f} "
                f"(model fitted on {report.fit_papers} papers)"
            )
        )
        for note in report.notes:
            self.stdout.write(self.style.WARNING(note))


def _dumps(data: dict) -> str:
    return json.dumps(data)
