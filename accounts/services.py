"""State changes of a subscription: subscribe, confirm, edit, change address, pause, unsubscribe,
delete.

Views call these directly, except subscribing, asking for a link and asking to change the
address: those run in a Celery task (accounts.tasks), so the web request does the same work
whatever the address is (nothing to time) and never waits for the database or the mail server.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from digest_site.mailing import account_emails as emails
from digest_site.mailing.policy import may_mail
from digest_site.queue import enqueue
from recommender.models import DeliveryEvent, Suppression

from . import selectors
from .models import InterestProfile, Subscriber, normalise_email
from .references import (
    Reference,
    parse_reference,
    resolve_pasted,
    resolve_references,
    unmatched_references,
)

log = logging.getLogger(__name__)

# Recorded with every consent; bump it whenever the form's wording about what we send changes.
FORM_VERSION = "web-form v1"


def _fields(instance) -> dict:
    """A dataclass's fields as a dict, values shared: dataclasses.asdict deep-copies each one,
    which cost a subscribe request more than its JSON encoding."""
    return {name: getattr(instance, name) for name in instance.__dataclass_fields__}


@dataclass(frozen=True)
class Consent:
    ip: str | None
    user_agent: str = ""
    source: str = FORM_VERSION
    at: datetime = field(default_factory=timezone.now)

    def to_json(self) -> dict:
        # Field by field, like ProfileData.to_json: this runs in every subscribe request.
        return {**_fields(self), "at": self.at.isoformat()}

    @classmethod
    def from_json(cls, data: dict) -> Consent:
        return cls(**{**data, "at": datetime.fromisoformat(data["at"])})


@dataclass
class ProfileData:
    """What the profile forms produce (their cleaned_data, minus email and honeypot)."""

    interests_text: str
    keywords: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    seed_references: list[Reference] = field(default_factory=list)
    frequency: str = InterestProfile.Frequency.DAILY
    send_weekday: int = 0
    timezone: str = "UTC"
    send_hour: int = 7

    @classmethod
    def from_cleaned(cls, data: dict) -> ProfileData:
        names = cls.__dataclass_fields__
        return cls(**{key: value for key, value in data.items() if key in names})

    def to_json(self) -> dict:
        return {**_fields(self), "seed_references": [ref.raw for ref in self.seed_references]}

    @classmethod
    def from_json(cls, data: dict) -> ProfileData:
        # The lines were validated by the form; parsing them again gives the same references.
        references = [parse_reference(line) for line in data["seed_references"]]
        return cls(**{**data, "seed_references": references})


def subscriber_subscribe(*, email: str, profile: ProfileData, consent: Consent) -> str:
    """Handle a subscribe request without revealing whether the address is known.

    New, pending and unsubscribed addresses get (again) a confirmation email; an active one
    gets a "you are already subscribed" email with its preferences link, and its profile is
    left alone (whoever submitted the form has not proved they own the mailbox). Suppressed
    addresses get nothing. Returns what happened, for logs and tests; never show it.
    """
    email = normalise_email(email)
    if not may_mail(email):
        return "suppressed"
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(email=email).first()
        if subscriber is None:
            subscriber = _create_pending(email, consent)
            if subscriber is None:  # a concurrent request created it first
                return subscriber_subscribe(email=email, profile=profile, consent=consent)
            outcome = "created"
        elif subscriber.status == Subscriber.Status.ACTIVE:
            outcome = "already-active"
        elif subscriber.status == Subscriber.Status.SUPPRESSED:
            return "suppressed"
        else:
            outcome = "re-sent" if subscriber.status == Subscriber.Status.PENDING else "returning"
            _record_consent(subscriber, consent)
            subscriber.status = Subscriber.Status.PENDING
            subscriber.save()
        if outcome != "already-active":
            _save_profile(subscriber, profile, new=outcome == "created")
    email_name = "already-subscribed" if outcome == "already-active" else "confirm"
    emails.send_account_email(subscriber, email_name)
    return outcome


def subscriber_subscribe_json(*, email: str, profile: dict, consent: dict) -> str:
    """subscriber_subscribe() with the profile and consent in the JSON form the web request
    queues (ProfileData.to_json(), Consent.to_json())."""
    return subscriber_subscribe(
        email=email,
        profile=ProfileData.from_json(profile),
        consent=Consent.from_json(consent),
    )


def _create_pending(email: str, consent: Consent) -> Subscriber | None:
    subscriber = Subscriber(email=email, status=Subscriber.Status.PENDING)
    _record_consent(subscriber, consent)
    try:
        with transaction.atomic():
            subscriber.save()
    except IntegrityError:
        return None
    return subscriber


def _record_consent(subscriber: Subscriber, consent: Consent) -> None:
    subscriber.consent_at = consent.at
    subscriber.consent_ip = consent.ip
    subscriber.consent_user_agent = consent.user_agent[:300]
    subscriber.consent_source = consent.source[:64]


def _save_profile(
    subscriber: Subscriber, data: ProfileData, *, new: bool = False
) -> InterestProfile:
    fields = {
        "interests_text": data.interests_text,
        "keywords": data.keywords,
        "categories": data.categories,
        "seed_references": [ref.raw for ref in data.seed_references],
        "frequency": data.frequency,
        "send_weekday": data.send_weekday,
        "timezone": data.timezone,
        "send_hour": data.send_hour,
    }
    if new:
        # The hot path (a first sign-up): one INSERT, no lookups of rows that cannot exist.
        profile = InterestProfile.objects.create(subscriber=subscriber, **fields)
        if data.seed_references:
            profile.seed_papers.add(*resolve_references(data.seed_references))
        return profile
    profile, _ = InterestProfile.objects.update_or_create(subscriber=subscriber, defaults=fields)
    profile.seed_papers.set(resolve_references(data.seed_references))
    return profile


def subscriber_confirm(*, subscriber: Subscriber) -> bool:
    """Activate a pending subscription; True if this call activated it.

    The conditional UPDATE makes a double click (or two tabs) activate once; an address that
    unsubscribed since the email was sent is not reactivated by an old link.
    """
    now = timezone.now()
    profile = subscriber.profile
    activated = Subscriber.objects.filter(
        pk=subscriber.pk, status=Subscriber.Status.PENDING
    ).update(
        status=Subscriber.Status.ACTIVE,
        confirmed_at=now,
        unsubscribed_at=None,
        paused_at=None,
        next_digest_at=profile.next_send_after(now),
    )
    subscriber.refresh_from_db()
    if activated:
        # A first digest right away: a new subscriber should see what they signed up for within
        # minutes, not at tomorrow's send hour. It is today's digest, so the scheduled one for
        # the same local day finds it (unique per period) and nothing is sent twice.
        transaction.on_commit(
            lambda: enqueue("recommender.tasks.build_and_send_digests", [subscriber.pk])
        )
    return bool(activated)


def subscriber_update_preferences(*, subscriber: Subscriber, profile: ProfileData) -> None:
    with transaction.atomic():
        saved = _save_profile(subscriber, profile)
        if subscriber.receives_digests:
            # A new send hour or timezone takes effect from the next digest on.
            subscriber.next_digest_at = saved.next_send_after(timezone.now())
            subscriber.save(update_fields=["next_digest_at"])


def subscriber_pause(*, subscriber: Subscriber) -> None:
    Subscriber.objects.filter(pk=subscriber.pk, paused_at__isnull=True).update(
        paused_at=timezone.now()
    )
    subscriber.refresh_from_db()


def subscriber_resume(*, subscriber: Subscriber) -> None:
    """Undo a pause, or re-activate after an unsubscribe (the magic link proves the mailbox)."""
    now = timezone.now()
    if subscriber.status == Subscriber.Status.SUPPRESSED:
        return
    fields = {"paused_at": None, "next_digest_at": subscriber.profile.next_send_after(now)}
    if subscriber.status == Subscriber.Status.UNSUBSCRIBED:
        fields.update(
            status=Subscriber.Status.ACTIVE,
            unsubscribed_at=None,
            consent_at=now,
            consent_source="preferences page",
        )
    Subscriber.objects.filter(
        pk=subscriber.pk, status__in=[Subscriber.Status.ACTIVE, Subscriber.Status.UNSUBSCRIBED]
    ).update(**fields)
    subscriber.refresh_from_db()


def subscriber_unsubscribe(*, subscriber: Subscriber, record_event: bool = True) -> bool:
    """Stop every email at once; True if this call did it, False if already unsubscribed.

    `record_event=False` when the caller records the event itself (a provider's unsubscribe
    webhook stores the provider's own event, once)."""
    changed = Subscriber.objects.filter(
        pk=subscriber.pk, status__in=[Subscriber.Status.ACTIVE, Subscriber.Status.PENDING]
    ).update(
        status=Subscriber.Status.UNSUBSCRIBED,
        unsubscribed_at=timezone.now(),
        next_digest_at=None,
    )
    if changed and record_event:
        DeliveryEvent.objects.create(
            kind=DeliveryEvent.Kind.UNSUBSCRIBED, email=subscriber.email, detail="one-click"
        )
    if changed:
        log.info("subscriber %s unsubscribed", subscriber.pk)
    subscriber.refresh_from_db()
    return bool(changed)


def subscriber_delete_all_data(*, subscriber: Subscriber) -> None:
    """Erase the subscriber, their profile, feedback, digests and delivery log.

    A Suppression entry (bounce or complaint) is kept: it exists so that we never mail an
    address that asked the provider to stop, and it holds nothing beyond the address.
    """
    with transaction.atomic():
        # By digest too: the events of digests sent to an address the subscriber had before.
        DeliveryEvent.objects.filter(
            Q(email=subscriber.email) | Q(digest__subscriber=subscriber)
        ).delete()
        subscriber.delete()


def subscriber_new_feed_key(*, subscriber: Subscriber) -> str:
    """Give the subscriber a new secret feed address (their first, or one replacing a leaked
    one: the old address stops working at once). Returns the new key."""
    key = secrets.token_urlsafe(24)
    Subscriber.objects.filter(pk=subscriber.pk).update(feed_key=key)
    subscriber.feed_key = key
    return key


def subscriber_stop_feed(*, subscriber: Subscriber) -> None:
    """Turn the subscriber's feed off: its address answers 404 from now on."""
    Subscriber.objects.filter(pk=subscriber.pk).update(feed_key=None)
    subscriber.feed_key = None


def subscriber_request_link(*, email: str) -> str:
    """Someone asked for their preferences link: mail it if the address is active (or re-send
    the confirmation if pending). Like subscribing, the caller never learns which it was."""
    subscriber = Subscriber.objects.filter(email=normalise_email(email)).first()
    if subscriber is None or not may_mail(subscriber.email):
        return "unknown"
    if subscriber.status == Subscriber.Status.ACTIVE:
        emails.send_account_email(subscriber, "already-subscribed")
        return "sent-link"
    if subscriber.status == Subscriber.Status.PENDING:
        emails.send_account_email(subscriber, "confirm")
        return "re-sent"
    return "inactive"


def subscriber_request_email_change(*, subscriber: Subscriber, new_email: str) -> str:
    """Someone on the preferences page asked to move the subscription to `new_email`: mail a
    link there that makes the change, since only its owner may say yes. An address that has
    a subscription of its own gets a note saying so instead; a suppressed one gets nothing.
    The page says the same whatever happened; returns what did, for logs and tests.

    The address waits on the row (the link only holds a tag of it). Each request replaces the
    pending address, or clears it when no link can be sent, so only links to the address last
    asked for work."""
    new_email = normalise_email(new_email)
    if new_email == subscriber.email:
        return "unchanged"
    obstacle = selectors.email_change_obstacle(subscriber, new_email)
    subscriber.pending_email = new_email if obstacle is None else ""
    subscriber.pending_email_requested_at = timezone.now() if subscriber.pending_email else None
    subscriber.save(update_fields=["pending_email", "pending_email_requested_at"])
    if obstacle == "taken":
        holder = Subscriber.objects.filter(email=new_email).first()
        if holder is not None:  # None: deleted since the check
            emails.send_change_email_in_use(holder)
        return "taken"
    if obstacle is not None:
        return obstacle
    emails.send_change_email_link(subscriber)
    return "sent"


def subscriber_change_email(
    *, subscriber: Subscriber, new_email: str, ip: str | None = None
) -> str:
    """Move the subscription to its pending address `new_email` (its owner followed the link we
    mailed there) and tell the old address. Returns "changed", or why nothing changed: "taken",
    "suppressed", "stopped", or "stale" when the address or the pending one changed since the
    link was read.

    The UPDATE only matches the address the link was made for and the pending address it
    confirms, so a second click changes nothing and neither does a link whose address was
    replaced by a newer request meanwhile; the unique address column refuses an address that
    was taken after the check."""
    new_email = normalise_email(new_email)
    obstacle = selectors.email_change_obstacle(subscriber, new_email)
    if obstacle is not None:
        return obstacle
    old_email = subscriber.email
    try:
        with transaction.atomic():
            changed = (
                Subscriber.objects.filter(
                    pk=subscriber.pk, email=old_email, pending_email=new_email
                )
                .exclude(status=Subscriber.Status.SUPPRESSED)
                .update(email=new_email, pending_email="", pending_email_requested_at=None)
            )
            if changed:
                DeliveryEvent.objects.create(
                    kind=DeliveryEvent.Kind.EMAIL_CHANGED,
                    email=new_email,
                    detail=f"from {old_email}, confirmed from IP {ip or 'unknown'}",
                )
    except IntegrityError:
        return "taken"
    subscriber.refresh_from_db()
    if not changed:
        return "stale"
    transaction.on_commit(
        lambda: enqueue("accounts.tasks.notify_email_changed", old_email, new_email)
    )
    log.info("subscriber %s changed their address", subscriber.pk)
    return "changed"


def purge_expired_requests(*, now: datetime | None = None) -> dict[str, int]:
    """Forget what people asked for and never confirmed (run daily by beat).

    - Sign-ups never confirmed: the subscriber (address, consent record, profile) is deleted
      `UNCONFIRMED_SIGNUP_RETENTION_DAYS` after the last request, long after its confirmation
      link expired. Only rows never confirmed: a returning subscriber who asked to come back
      and did not confirm keeps the history of their earlier subscription.
    - Address changes never confirmed: the requested address is cleared once its link has
      expired (`CHANGE_EMAIL_LINK_MAX_AGE_DAYS`).
    Returns how many of each were removed.
    """
    now = now or timezone.now()
    signup_cutoff = now - timedelta(days=settings.UNCONFIRMED_SIGNUP_RETENTION_DAYS)
    unconfirmed = Subscriber.objects.filter(
        status=Subscriber.Status.PENDING,
        confirmed_at__isnull=True,
        created_at__lt=signup_cutoff,
    ).filter(Q(consent_at__isnull=True) | Q(consent_at__lt=signup_cutoff))
    deleted_signups = 0
    for subscriber in unconfirmed.iterator():
        subscriber_delete_all_data(subscriber=subscriber)
        deleted_signups += 1
    change_cutoff = now - timedelta(days=settings.CHANGE_EMAIL_LINK_MAX_AGE_DAYS)
    cleared_changes = (
        Subscriber.objects.exclude(pending_email="")
        .filter(pending_email_requested_at__lt=change_cutoff)
        .update(pending_email="", pending_email_requested_at=None)
    )
    if deleted_signups or cleared_changes:
        log.info(
            "purged %d unconfirmed sign-ups and %d expired address changes",
            deleted_signups,
            cleared_changes,
        )
    return {"unconfirmed_signups": deleted_signups, "expired_email_changes": cleared_changes}


def profiles_link_seed_papers() -> int:
    """Link pasted seed papers that were not stored when their profile was saved but are now
    (ingested since). Run before each refit, which rebuilds every profile anyway; returns how
    many links were added."""
    added = 0
    profiles = InterestProfile.objects.exclude(seed_references=[]).prefetch_related("seed_papers")
    for profile in profiles.iterator(chunk_size=500):
        missing = unmatched_references(profile.seed_references, list(profile.seed_papers.all()))
        found = resolve_pasted(missing) if missing else []
        if found:
            profile.seed_papers.add(*found)
            added += len(found)
    return added


# --- Staff actions (the admin calls these; each save goes through the audit log) ----------------


def subscriber_resend_confirmation(*, subscriber: Subscriber) -> bool:
    """Mail the confirmation link again to a pending subscriber; False if not pending or not
    mailable (suppressed). Their consent record stays as it was given."""
    return emails.send_account_email(subscriber, "confirm")


def subscriber_suppress(*, subscriber: Subscriber, detail: str = "") -> bool:
    """Stop every email to the subscriber and put their address on the suppression list, so
    that no sender (digests, account emails, a new sign-up) mails it; False if already
    suppressed. Undone by `subscriber_reactivate`."""
    Suppression.objects.get_or_create(
        email=subscriber.email,
        defaults={"reason": Suppression.Reason.MANUAL, "detail": detail[:300]},
    )
    if subscriber.status == Subscriber.Status.SUPPRESSED:
        return False
    subscriber.status = Subscriber.Status.SUPPRESSED
    subscriber.next_digest_at = None
    subscriber.save(update_fields=["status", "next_digest_at"])
    return True


def subscriber_reactivate(*, subscriber: Subscriber) -> bool:
    """Lift a suppression: the address leaves the suppression list and the subscriber returns to
    where they were (active if they had confirmed, else pending). Only suppressed subscribers:
    someone who unsubscribed comes back by their own request, never by staff's."""
    if subscriber.status != Subscriber.Status.SUPPRESSED:
        return False
    for entry in Suppression.objects.filter(email=subscriber.email):
        entry.delete()  # one by one, so the audit log records each removal
    if subscriber.confirmed_at is None:
        subscriber.status = Subscriber.Status.PENDING
    else:
        subscriber.status = Subscriber.Status.ACTIVE
        subscriber.next_digest_at = subscriber.profile.next_send_after(timezone.now())
    subscriber.save(update_fields=["status", "next_digest_at"])
    return True
