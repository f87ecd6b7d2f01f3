"""The Celery tasks beat runs, called as the worker calls them."""

from __future__ import annotations

from unittest import mock

import pytest

from recommender import ingest, model_store
from recommender.management.commands.demo import SAMPLE_PAPERS
from recommender.tasks import fetch_daily_papers

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
