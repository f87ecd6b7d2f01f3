"""The Celery tasks beat runs, called as the worker calls them."""

from __future__ import annotations

from unittest import mock

import pytest

from recommender.ingestion import ingest
from recommender.model import store as model_store
from recommender.ranking import subscriber_profiles
from recommender.tasks import fetch_daily_papers, refit_model
from tests.helpers import SAMPLE_PAPERS

NOTHING_NEW = {"hf 2026-07-01": {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}}


@pytest.mark.django_db
def test_it_fits_the_first_model_right_after_the_first_daily_fetch():
    ingest.ingest_path(SAMPLE_PAPERS)
    assert model_store.current_version() is None

    with mock.patch.object(ingest, "fetch_daily", return_value=NOTHING_NEW):
        assert fetch_daily_papers.apply().get() == NOTHING_NEW

    assert model_store.current_version() is not None
    assert model_store.load_current() is not None


@pytest.mark.django_db
def test_it_leaves_an_existing_model_to_the_nightly_refit():
    ingest.ingest_path(SAMPLE_PAPERS)
    first = model_store.refit_from_corpus().version

    with mock.patch.object(ingest, "fetch_daily", return_value=NOTHING_NEW):
        fetch_daily_papers.apply().get()

    assert model_store.current_version() == first


@pytest.mark.django_db
def test_it_retries_only_the_failed_digest_of_a_chunk_after_a_back_off(
    make_subscriber, make_paper, settings, monkeypatch
):
    from datetime import date

    from django.core import mail

    from recommender import tasks
    from recommender.models import Digest

    make_paper(
        title="Robot grasping",
        abstract="Robot grasping policies.",
        categories=["cs.RO"],
        first_seen=date(2026, 7, 1),
    )
    ids = [
        make_subscriber(f"{n}@example.com", interests_text="robot grasping").pk
        for n in ("ann", "bad")
    ]
    settings.EMAIL_BACKEND = "tests.mail_backends.RefusesOneAddress"
    queued = []
    monkeypatch.setattr(
        tasks, "enqueue_digests", lambda ids, countdown=None: queued.append((ids, countdown))
    )

    counts = tasks.build_and_send_digests.apply(args=[ids]).get()

    assert (counts["sent"], counts["retry"]) == (1, 1)
    assert [m.to[0] for m in mail.outbox] == ["ann@example.com"]
    bad = Digest.objects.get(subscriber__email="bad@example.com")
    # One message for that digest alone, due when its back-off ends (half to all of the base).
    ((retry_ids, countdown),) = queued
    assert retry_ids == [bad.pk]
    assert (
        settings.DIGEST_RETRY_BASE_SECONDS / 2 - 1
        <= countdown
        <= settings.DIGEST_RETRY_BASE_SECONDS
    )

    # The retry, once the server accepts the address again, sends only the failed digest.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    counts = tasks.send_digests.apply(args=[retry_ids]).get()
    assert counts["sent"] == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.com", "bad@example.com"]


@pytest.mark.django_db
def test_the_nightly_refit_links_seed_papers_ingested_after_the_profile_was_saved(
    make_subscriber, make_paper
):
    """Seeds are resolved when a profile is saved; a pasted paper we only ingest later joins
    the profile at the next refit (which rebuilds every profile anyway)."""
    ingest.ingest_path(SAMPLE_PAPERS)
    subscriber = make_subscriber(seed_references=["2612.00042", "Some Title Nobody Wrote"])
    spec = subscriber_profiles.spec_for_subscriber(subscriber.profile)
    assert spec.seeds == []
    assert "2612.00042" in spec.messages[0]

    late = make_paper(arxiv_id="2612.00042", title="A seed that arrived later")
    refit_model.apply().get()

    spec = subscriber_profiles.spec_for_subscriber(subscriber.profile)
    assert [doc.key for doc in spec.seeds] == [str(late.pk)]
    assert spec.messages == [
        "Seed papers not found in our library (ignored): “Some Title Nobody Wrote”."
    ]
