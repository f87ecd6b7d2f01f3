"""`manage.py demo`: the whole daily job on the embedded default, end to end.

Ingests the bundled sample papers, (re)creates a demo subscriber, builds their digest and sends
it through the configured email backend (by default: a .eml file in var/outbox/).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.models import InterestProfile, Subscriber
from recommender.delivery import digests, sending
from recommender.ingestion import ingest, runs
from recommender.model import store as model_store
from recommender.ranking.evaluation import BUNDLED_SAMPLE
from recommender.ranking.scoring import TRENDING_RANKER

DEMO_EMAIL = "demo@example.com"


class Command(BaseCommand):
    help = "Ingest the sample papers, score them for a demo subscriber and write their digest."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--papers", type=Path, default=BUNDLED_SAMPLE)
        parser.add_argument("--email", default=DEMO_EMAIL)

    def handle(self, *args, papers: Path, email: str, **options) -> None:
        self.stdout.write(f"1/3 Ingesting {papers} ...")
        summary = runs.recorded(
            lambda: ingest.ingest_path(papers),
            source=runs.source_of_files([papers]),
            trigger="demo",
            label=papers.name,
        )
        self.stdout.write(f"    {summary.line()}")
        for problem in summary.problems:
            self.stderr.write(f"    rejected {problem}")

        self.stdout.write("    fitting the recommender model on the stored papers ...")
        refit = model_store.refit_from_corpus()
        self.stdout.write(f"    {refit.message}")

        self.stdout.write(f"2/3 Scoring new papers for {email} ...")
        subscriber = self._fresh_demo_subscriber(email)
        digest, _created = digests.build_digest(subscriber, moment=timezone.now())
        self.stdout.write(f"    ranked by: {digest.ranker}")
        if digest.ranker == TRENDING_RANKER:
            self.stdout.write(self.style.WARNING(f"    NOTE: trending fallback: {digest.note}"))
        for item in digest.items.select_related("paper"):
            self.stdout.write(f"    {item.rank:2d}. {item.paper.title[:70]}  [{item.reason}]")

        self.stdout.write("3/3 Sending the digest ...")
        sent = sending.send_digest(digest)
        digest.refresh_from_db()
        where = (
            f"written to {settings.EMAIL_OUTBOX_DIR}"
            if settings.EMAIL_PROVIDER == "file"
            else f"sent through {settings.EMAIL_BACKEND}"
        )
        outcome = f"digest {where}" if sent else f"digest not sent ({digest.status}: {digest.note})"
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: {summary.created + summary.updated + summary.unchanged} papers stored, "
                f"{digest.items.count()} picked for {email}, {outcome}."
            )
        )

    def _fresh_demo_subscriber(self, email: str) -> Subscriber:
        # The demo account is rebuilt on every run so repeating `make demo` shows a fresh digest.
        Subscriber.objects.filter(email=email).delete()
        now = timezone.now()
        subscriber = Subscriber.objects.create(
            email=email,
            status=Subscriber.Status.ACTIVE,
            confirmed_at=now,
            consent_at=now,
            consent_source="demo command",
        )
        InterestProfile.objects.create(
            subscriber=subscriber,
            interests_text="Robot learning: manipulation policies, vision-language-action models"
            " and sim-to-real transfer for robots.",
            keywords=["robot manipulation", "imitation learning"],
            categories=["cs.RO"],
        )
        return subscriber
