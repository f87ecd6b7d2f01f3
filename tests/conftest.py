from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from accounts.models import InterestProfile, Subscriber
from recommender.models import Paper


@pytest.fixture
def make_paper(db):
    counter = iter(range(1, 10_000))

    def make(**fields) -> Paper:
        number = next(counter)
        defaults = {
            "arxiv_id": f"2606.{number:05d}",
            "title": f"Paper number {number}",
            "abstract": "An abstract about nothing in particular.",
            "authors": ["A. Author", "B. Author"],
            "categories": ["cs.LG"],
            "first_seen": date(2026, 6, 30),
        }
        defaults.update(fields)
        return Paper.objects.create(**defaults)

    return make


@pytest.fixture
def make_subscriber(db):
    def make(email: str = "reader@example.com", *, status=Subscriber.Status.ACTIVE, **profile):
        now = timezone.now()
        subscriber = Subscriber.objects.create(
            email=email, status=status, confirmed_at=now, consent_at=now, consent_source="test"
        )
        InterestProfile.objects.create(subscriber=subscriber, **profile)
        return subscriber

    return make
