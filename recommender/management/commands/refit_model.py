"""`manage.py refit_model`: fit the recommender's features on the stored papers now."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from recommender.model import embeddings, features
from recommender.model import store as model_store


class Command(BaseCommand):
    help = "Fit TF-IDF + LSA on the stored papers and make it the current model."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--fail-if-too-small",
            action="store_true",
            help="exit with an error (instead of a warning) when the corpus is too small",
        )

    def handle(self, *args, fail_if_too_small: bool, **options) -> None:
        self.stdout.write("Fitting the recommender model on the stored papers ...")
        if embeddings.enabled():
            self.stdout.write(
                f"... and embedding its reference sample (up to {features.REFERENCE_PAPERS:,} "
                "papers) with the sentence encoder: a few minutes of CPU"
            )
        started = time.monotonic()
        result = model_store.refit_from_corpus()
        took = f" ({time.monotonic() - started:.1f} s)"
        if result.version is None:
            if fail_if_too_small:
                raise CommandError(result.message)
            self.stdout.write(self.style.WARNING(result.message + took))
        else:
            self.stdout.write(self.style.SUCCESS(result.message + took))
