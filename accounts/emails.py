"""The subscription flow's emails: confirmation and "already subscribed"."""

from __future__ import annotations

from django.conf import settings

from digest_site.emails import make_message
from recommender.models import Suppression

from . import tokens
from .models import Subscriber

ACCOUNT_EMAILS = ("confirm", "already-subscribed")


def send_account_email(subscriber: Subscriber, name: str) -> bool:
    """Send one of ACCOUNT_EMAILS, unless the subscriber's state no longer calls for it."""
    if name not in ACCOUNT_EMAILS:
        raise ValueError(f"unknown account email {name!r}")
    wanted_status = Subscriber.Status.PENDING if name == "confirm" else Subscriber.Status.ACTIVE
    if subscriber.status != wanted_status:
        return False
    if Suppression.objects.filter(email=subscriber.email).exists():
        return False
    context: dict = {"subscriber": subscriber}
    if name == "confirm":
        context["confirm_url"] = tokens.confirm_url(subscriber)
        context["confirm_days"] = settings.CONFIRM_LINK_MAX_AGE_DAYS
    else:
        context["preferences_url"] = tokens.preferences_url(subscriber)
        context["unsubscribe_url"] = tokens.unsubscribe_url(subscriber)
    make_message(name, subscriber.email, context).send()
    return True
