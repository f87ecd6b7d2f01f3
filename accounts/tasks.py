"""Celery tasks of the subscription flow: thin, load by id and send."""

from __future__ import annotations

from celery import shared_task

from . import emails
from .models import Subscriber


@shared_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def send_account_email(subscriber_id: int, name: str) -> bool:
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        return False
    return emails.send_account_email(subscriber, name)
