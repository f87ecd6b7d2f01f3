"""Celery tasks: thin wrappers that load ids and call the pipeline functions."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from accounts import services
from accounts.models import Subscriber

from .delivery import scheduling
from .ingestion import ingest
from .ingestion.fetch import FetchError
from .model import store as model_store

log = logging.getLogger(__name__)


@shared_task
def dispatch_due_digests() -> int:
    """Claim every subscriber whose digest is due and fan them out in chunks to the workers."""
    claimed = 0
    for chunk in scheduling.claim_due_in_chunks(
        now=timezone.now(), size=settings.DIGEST_CHUNK_SIZE
    ):
        build_and_send_digests.delay(chunk)
        claimed += len(chunk)
    log.info("dispatched %d due subscribers", claimed)
    return claimed


@shared_task(bind=True, max_retries=5)
def build_and_send_digests(self, subscriber_ids: list[int]) -> dict[str, int]:
    """Build and send the current digest of each subscriber; safe to run twice.

    If some failed (a mail server hiccup, say), the whole chunk is retried with back-off: the
    digests already sent are skipped, the failed ones are sent again.
    """
    subscribers = Subscriber.objects.filter(pk__in=subscriber_ids).select_related("profile")
    counts = scheduling.build_and_send(list(subscribers), moment=timezone.now())
    if counts["failed"] and self.request.retries < self.max_retries:
        raise self.retry(countdown=60 * 2**self.request.retries)
    return counts


@shared_task(autoretry_for=(FetchError,), retry_backoff=300, max_retries=3)
def fetch_daily_papers() -> dict[str, dict[str, int]]:
    """Ingest the live sources (beat: daily at INGEST_FETCH_HOUR_UTC); safe to run twice."""
    summary = ingest.fetch_daily()
    # A fresh deployment has no model until the nightly refit; fit one as soon as the first
    # papers are in, so the first digests are personalised rather than the trending fallback.
    if model_store.current_version() is None:
        log.info("fetch_daily_papers: no model yet, %s", model_store.refit_from_corpus().message)
    return summary


@shared_task
def refit_model() -> str:
    """Nightly: refit the recommender's features on the stored corpus (beat, see settings)."""
    linked = services.profiles_link_seed_papers()
    if linked:
        log.info(
            "refit_model: linked %d seed papers ingested since their profiles were saved", linked
        )
    result = model_store.refit_from_corpus()
    log.info("refit_model: %s", result.message)
    return result.message


@shared_task
def warm_profiles() -> int:
    """After the nightly refit (beat, see settings): build every active subscriber's profile for
    the new model so the morning's digests find them cached."""
    # Imported here so this task stays an addition at the end of the module.
    from .ranking import subscriber_profiles

    model = model_store.load_current()
    if model is None:
        return 0
    return subscriber_profiles.warm_profiles(model, chunk_size=settings.DIGEST_CHUNK_SIZE)
