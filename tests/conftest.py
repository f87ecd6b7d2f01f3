from __future__ import annotations

import gzip
import json
import uuid
from datetime import date

import pytest
from django.utils import timezone

from accounts.models import InterestProfile, Subscriber
from accounts.references import resolve_pasted
from recommender.models import Paper
from tests.helpers import SAMPLE_PAPERS, clear_local_cache


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """The SQLite test database lives in a file, not in memory.

    With an in-memory database, pytest-django's live server hands the test's own connection to
    its request threads, so two threads can use one sqlite3 connection at once. SQLite then
    deadlocks the whole process: a thread inside sqlite3_step, holding the connection's mutex,
    calls one of Django's Python SQL functions and waits for the GIL, while the thread holding
    the GIL binds parameters and waits for that mutex. No timeout can fire (it needs the GIL);
    this was the rare hang of the browser tests. With a file each thread opens its own
    connection and SQLite's file locks keep them apart.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        path = tmp_path_factory.mktemp("database") / "test.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(path)


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
        saved = InterestProfile.objects.create(subscriber=subscriber, **profile)
        # As a saved form does: pasted seed papers are resolved when the profile is stored.
        saved.seed_papers.set(resolve_pasted(saved.seed_references))
        return subscriber

    return make


@pytest.fixture(autouse=True)
def isolated_model_store(settings, tmp_path):
    """Every test starts with no fitted recommender model, in its own directory."""
    from recommender.model import store as model_store
    from recommender.ranking import candidates

    settings.RECOMMENDER_MODEL_DIR = tmp_path / "models"
    model_store.clear_cache()
    candidates._vectors.clear()
    yield
    model_store.clear_cache()


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
    from recommender.model import features

    with gzip.open(SAMPLE_PAPERS, "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    papers = [(r["id"], r["title"], r["summary"], r["categories"]) for r in records]
    return features.fit_model(papers, min_papers=50, components=64)


@pytest.fixture
def installed_model(sample_model, isolated_model_store):
    """The sample model saved as the current artifact, as the nightly refit would."""
    from recommender.model import store as model_store

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


@pytest.fixture
def fresh_cache():
    """Rate-limit counters and preview results live in the cache; each test starts clean.
    (Opt-in per module: tests of the profile cache want what they stored to stay.)"""
    clear_local_cache()
    yield
    clear_local_cache()
