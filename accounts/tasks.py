"""Celery tasks of the subscription flow: thin wrappers around the services.

The web request only validates, rate-limits and enqueues one of these; the worker touches the
database and the mail server. With no broker configured they run in-process.
"""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def subscribe(email: str, profile: dict, consent: dict) -> str:
    return services.subscriber_subscribe(
        email=email,
        profile=services.ProfileData.from_json(profile),
        consent=services.Consent.from_json(consent),
    )


@shared_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def request_link(email: str) -> str:
    return services.subscriber_request_link(email=email)
