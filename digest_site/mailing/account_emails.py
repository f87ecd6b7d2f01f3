"""The subscription flow's emails: confirmation, "already subscribed" and the three of an
address change (the link to the new address, "that address is taken", the notice to the old one).
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from accounts import tokens
from accounts.models import Subscriber

from .messages import make_message
from .policy import may_mail

ACCOUNT_EMAILS = ("confirm", "already-subscribed")


def send_account_email(subscriber: Subscriber, name: str) -> bool:
    """Send one of ACCOUNT_EMAILS, unless the subscriber's state no longer calls for it."""
    if name not in ACCOUNT_EMAILS:
        raise ValueError(f"unknown account email {name!r}")
    wanted_status = Subscriber.Status.PENDING if name == "confirm" else Subscriber.Status.ACTIVE
    if subscriber.status != wanted_status:
        return False
    if not may_mail(subscriber.email, subscriber=subscriber):
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


def send_change_email_link(subscriber: Subscriber) -> bool:
    """Mail the link that moves `subscriber` to their pending address, to that address."""
    new_email = subscriber.pending_email
    if not new_email or not may_mail(new_email, subscriber=subscriber):
        return False
    context = {
        "change_url": tokens.change_email_url(subscriber),
        "change_days": settings.CHANGE_EMAIL_LINK_MAX_AGE_DAYS,
        "new_email": new_email,
    }
    make_message("change-email", new_email, context).send()
    return True


def send_change_email_in_use(holder: Subscriber) -> bool:
    """Tell the owner of an address another subscription asked to move to that it already has
    a subscription of its own, so nothing will change (sent instead of a link that could only
    fail)."""
    if not may_mail(holder.email, subscriber=holder):
        return False
    context = {"preferences_url": tokens.preferences_url(holder)}
    make_message("change-email-in-use", holder.email, context).send()
    return True


def send_email_changed_notice(old_email: str, new_email: str) -> bool:
    """Tell the old address that the subscription moved: the one email it gets after the move,
    so an owner who did not ask for it finds out. The new address is shown masked."""
    if not may_mail(old_email):
        return False
    context = {"masked_new_email": mask_email(new_email), "changed_at": timezone.now()}
    make_message("email-changed", old_email, context).send()
    return True


def mask_email(address: str) -> str:
    """ada@example.org -> a…@example.org: enough for the owner to recognise, not to reuse."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}…@{domain}"
