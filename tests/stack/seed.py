"""Data for the stack tests, written inside the service's own process (`manage.py shell -c`),
against the stack's PostgreSQL: a few recent papers and batches of subscribers who are due."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import InterestProfile, Subscriber
from recommender.models import Paper

TOPICS = (
    ("Robot grasping with tactile sensing", "cs.RO"),
    ("Speech synthesis with diffusion models", "cs.SD"),
    ("Sparse attention for long-context language models", "cs.CL"),
    ("Contrastive pretraining for image retrieval", "cs.CV"),
    ("Offline reinforcement learning with conservative critics", "cs.LG"),
)


def papers(count: int = 20) -> None:
    """`count` papers first listed today (digests are built from the newest listing days)."""
    today = timezone.now().date()
    for n in range(count):
        title, category = TOPICS[n % len(TOPICS)]
        Paper.objects.get_or_create(
            arxiv_id=f"2607.{n:05d}",
            defaults={
                "title": f"{title} ({n})",
                "abstract": f"We study {title.lower()}. Experiments on benchmark {n}.",
                "authors": ["A. Author", "B. Author"],
                "categories": [category],
                "first_seen": today,
                "upvotes": n,
            },
        )


def due(prefix: str, count: int, *, minutes_ago: int = 1) -> None:
    """`count` active subscribers `<prefix>-<n>@example.com`, each due `minutes_ago` ago."""
    due_at = timezone.now() - timedelta(minutes=minutes_ago)
    for n in range(count):
        subscriber = Subscriber.objects.create(
            email=f"{prefix}-{n}@example.com",
            status=Subscriber.Status.ACTIVE,
            confirmed_at=due_at,
            consent_at=due_at,
            consent_source="stack test",
            next_digest_at=due_at,
        )
        title, category = TOPICS[n % len(TOPICS)]
        InterestProfile.objects.create(
            subscriber=subscriber,
            interests_text=title,
            categories=[category],
            send_hour=due_at.hour,
            timezone="UTC",
        )
