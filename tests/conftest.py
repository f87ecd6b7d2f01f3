from __future__ import annotations

import gzip
import json
import uuid
from datetime import date
from pathlib import Path

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


@pytest.fixture(autouse=True)
def isolated_model_store(settings, tmp_path):
    """Every test starts with no fitted recommender model, in its own directory."""
    from recommender import model_store, ranking

    settings.RECOMMENDER_MODEL_DIR = tmp_path / "models"
    model_store.clear_cache()
    ranking._vectors.clear()
    yield
    model_store.clear_cache()


SAMPLE_PAPERS = (
    Path(__file__).resolve().parent.parent / "recommender/fixtures/sample-papers.jsonl.gz"
)


@pytest.fixture(scope="session", autouse=True)
def _stack_runs_leave_no_redis_keys():
    """At the end of the session, delete what each production-like run left in Redis."""
    yield
    from tests import services

    for run_id in services.ISSUED_RUN_IDS:
        services.delete_run_keys(run_id)


@pytest.fixture(scope="session")
def sample_model():
    """A recommender model fitted once per run on the bundled ~1,000 sample papers."""
    from recommender import features

    with gzip.open(SAMPLE_PAPERS, "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    papers = [(r["id"], r["title"], r["summary"], r["categories"]) for r in records]
    return features.fit_model(papers, min_papers=50, components=64)


@pytest.fixture
def installed_model(sample_model, isolated_model_store):
    """The sample model saved as the current artifact, as the nightly refit would."""
    from recommender import model_store

    model_store.save(sample_model)
    return sample_model


@pytest.fixture
def redis_cache(settings):
    """The default cache on the machine's Redis, under a key prefix of this test's own."""
    from tests.services import REDIS_HOST, REDIS_PORT, delete_redis_keys, ensure_redis

    ensure_redis()
    url = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"
    prefix = f"it-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
        }
    }
    yield prefix
    # Only this test's keys: clear() would flush the whole Redis database others share.
    delete_redis_keys(f"{prefix}:*")
