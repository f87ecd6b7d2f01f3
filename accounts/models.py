"""Subscribers and what they want to read.

A Subscriber is a person's address and the state of their subscription (with the consent record
double opt-in needs); their InterestProfile says what to send them and when.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone


def normalise_email(address: str) -> str:
    """One spelling per mailbox: surrounding space removed and the whole address lower-cased.

    Lower-casing the local part is technically lossy, but every real provider treats it case-
    insensitively and it keeps one person from holding two subscriptions.
    """
    return address.strip().lower()


class Subscriber(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        ACTIVE = "active", "Active"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        # Set when the address is on the suppression list (hard bounce, spam complaint).
        SUPPRESSED = "suppressed", "Suppressed"

    email = models.EmailField(max_length=254, unique=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # Paused subscribers stay active (their data and feedback are kept) but receive nothing.
    paused_at = models.DateTimeField(null=True, blank=True)

    # Consent record for double opt-in: when and from where the person asked, and which version
    # of the form (and its wording) they saw; confirmed_at records the second step.
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_ip = models.GenericIPAddressField(null=True, blank=True)
    consent_user_agent = models.CharField(max_length=300, blank=True)
    consent_source = models.CharField(
        max_length=64, blank=True, help_text="Where consent was given, e.g. 'web-form v1'."
    )

    # When the next digest is due, in UTC. The dispatcher claims a subscriber with a conditional
    # UPDATE on this column so two dispatchers never build the same digest.
    next_digest_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_digest_at = models.DateTimeField(null=True, blank=True)

    # The address the subscriber last asked to move to, until they confirm it from that mailbox.
    # Kept here rather than in the link we mail there, so the link carries no address; "" when
    # no change is pending.
    pending_email = models.EmailField(max_length=254, blank=True)
    pending_email_requested_at = models.DateTimeField(null=True, blank=True)

    # The secret in the address of the subscriber's Atom feed of their digests; null until they
    # ask for one. Replacing or clearing it stops the old address at once.
    feed_key = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs) -> None:
        self.email = normalise_email(self.email)
        super().save(*args, **kwargs)

    @property
    def receives_digests(self) -> bool:
        return self.status == self.Status.ACTIVE and self.paused_at is None


class InterestProfile(models.Model):
    """Everything a subscriber told us about their interests, plus delivery preferences.

    Any mix of the interest fields may be filled; the recommender combines them (and the
    subscriber's feedback events) into one profile vector.
    """

    class Frequency(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"

    subscriber = models.OneToOneField(Subscriber, on_delete=models.CASCADE, related_name="profile")
    interests_text = models.TextField(blank=True, help_text="Free text, e.g. a sentence or two.")
    keywords = models.JSONField(default=list, blank=True, help_text="List of short phrases.")
    categories = models.JSONField(default=list, blank=True, help_text="arXiv categories.")
    # What the person pasted (arXiv ids or titles), kept verbatim so the form can show it back;
    # seed_papers holds those the service resolved to stored papers.
    seed_references = models.JSONField(default=list, blank=True)
    seed_papers = models.ManyToManyField(
        "recommender.Paper", blank=True, related_name="seeded_profiles"
    )
    frequency = models.CharField(max_length=8, choices=Frequency, default=Frequency.DAILY)
    timezone = models.CharField(max_length=64, default="UTC")
    send_hour = models.PositiveSmallIntegerField(
        default=7, validators=[MinValueValidator(0), MaxValueValidator(23)]
    )
    # Weekly digests go out on this weekday (0 = Monday), at send_hour.
    send_weekday = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(6)]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(send_hour__gte=0, send_hour__lte=23), name="send_hour_in_day"
            ),
        ]

    def __str__(self) -> str:
        return f"Interests of {self.subscriber}"

    @property
    def is_empty(self) -> bool:
        return not (
            self.interests_text.strip() or self.keywords or self.categories or self.seed_references
        )

    def zone(self) -> zoneinfo.ZoneInfo:
        try:
            return zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")

    def next_send_after(self, moment: datetime) -> datetime:
        """The first send time strictly after `moment`, in the subscriber's own timezone."""
        local = moment.astimezone(self.zone())
        candidate = datetime.combine(local.date(), time(self.send_hour), tzinfo=self.zone())
        while candidate <= local or (
            self.frequency == self.Frequency.WEEKLY and candidate.weekday() != self.send_weekday
        ):
            candidate = datetime.combine(
                candidate.date() + timedelta(days=1), time(self.send_hour), tzinfo=self.zone()
            )
        return candidate.astimezone(zoneinfo.ZoneInfo("UTC"))
