"""Celery tasks: thin wrappers that load ids and call the pipeline functions."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from accounts import services
from accounts.models import Subscriber

from .delivery import digests, scheduling, sending
from .ingestion import ingest
from .ingestion.fetch import FetchError
from .model import store as model_store
from .ranking import subscriber_profiles

log = logging.getLogger(__name__)


def enqueue_digests(digest_ids: list[int], *, countdown: float | None = None) -> None:
    """Hand digests to the workers; raises when the broker will not take them (after the
    publish retry policy in settings), so the caller can leave them to reconciliation."""
    send_digests.apply_async(args=[digest_ids], countdown=countdown, retry=True)


@shared_task(ignore_result=True)
def dispatch_due_digests() -> int:
    """Claim every subscriber whose digest is due and fan their digests out in chunks."""
    return scheduling.dispatch_due(now=timezone.now(), enqueue=enqueue_digests)


@shared_task(ignore_result=True)
def send_digests(digest_ids: list[int]) -> dict[str, int]:
    """Build and send the open digests among `digest_ids`; idempotent, so safe to run twice
    (a redelivered message, a reconciliation that re-queued them meanwhile)."""
    return dict(sending.deliver_chunk(digest_ids, enqueue=enqueue_digests))


@shared_task(ignore_result=True)
def reconcile_digests() -> dict[str, int]:
    """Beat, every few minutes: re-queue the digests whose holder went silent."""
    return scheduling.reconcile(now=timezone.now(), enqueue=enqueue_digests)


@shared_task(ignore_result=True)
def build_and_send_digests(subscriber_ids: list[int]) -> dict[str, int]:
    """Build and send the current period's digest of each subscriber now (the first digest
    at confirmation); the ledger row is created first, so reconciliation finishes the job if
    this task dies."""
    subscribers = Subscriber.objects.filter(pk__in=subscriber_ids).select_related("profile")
    rows = digests.open_digests(list(subscribers), moment=timezone.now())
    return dict(sending.deliver_chunk([d.pk for d in rows], enqueue=enqueue_digests))


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
    model = model_store.load_current()
    if model is None:
        return 0
    return subscriber_profiles.warm_profiles(model, chunk_size=settings.DIGEST_CHUNK_SIZE)
