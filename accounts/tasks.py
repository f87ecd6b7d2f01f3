"""Celery tasks of the subscription flow: thin wrappers around the services.

The web request only validates, rate-limits and hands the work over (sign-ups through the
queue in accounts/signups.py); the worker touches the database and the mail server. With no
broker configured they run in-process.
"""

from __future__ import annotations

from celery import shared_task

from digest_site.mailing import account_emails as emails

from . import services, signups
from .models import Subscriber


@shared_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def subscribe(email: str, profile: dict, consent: dict) -> str:
    return services.subscriber_subscribe_json(email=email, profile=profile, consent=consent)


@shared_task
def drain_signups() -> dict[str, int]:
    """Subscribe everyone in the sign-up queue: woken by the first sign-up of a batch, and run
    by beat every minute for any a failed wake-up or a dead worker left behind."""
    return signups.drain()


@shared_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def request_link(email: str) -> str:
    return services.subscriber_request_link(email=email)


@shared_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def request_email_change(subscriber_id: int, new_email: str) -> str:
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:  # deleted their data since asking
        return "gone"
    return services.subscriber_request_email_change(subscriber=subscriber, new_email=new_email)


@shared_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def notify_email_changed(old_email: str, new_email: str) -> bool:
    return emails.send_email_changed_notice(old_email, new_email)


@shared_task
def purge_expired_requests() -> dict[str, int]:
    """Daily: delete sign-ups never confirmed and clear address changes never confirmed."""
    return services.purge_expired_requests()
