"""Papers, what subscribers think of them, the digests we build and what happened to each email.

Data flows: ingestion -> Paper; ranking reads Paper + accounts.InterestProfile + FeedbackEvent and
writes Digest + DigestItem; delivery sends a Digest and records DeliveryEvent rows; bounces and
complaints add to Suppression.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import models
from django.utils import timezone

from .text import readable


def normalise_title(title: str) -> str:
    """A title key that survives the differences between sources: case, accents, punctuation,
    LaTeX braces and line breaks. Used to match papers that arrive without an arXiv id."""
    text = unicodedata.normalize("NFKD", title)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^0-9a-z]+", " ", text.lower())
    return " ".join(text.split())[:300]


class Paper(models.Model):
    class Curation(models.TextChoices):
        NORMAL = "normal", "Normal"
        # Featured papers get a ranking boost; pinned ones go to the top of every digest whose
        # window they fall in; hidden ones are never shown.
        FEATURED = "featured", "Featured"
        PINNED = "pinned", "Pinned"
        HIDDEN = "hidden", "Hidden"

    # Stable external id, without version ("2503.11731"); null only for sources that carry none,
    # where title_key is the identity instead.
    arxiv_id = models.CharField(max_length=32, unique=True, null=True, blank=True)
    # The arXiv version the bibliographic fields (title, abstract, authors, ...) were taken from;
    # null when no source said. Ingestion lets no older version replace them.
    arxiv_version = models.PositiveSmallIntegerField(null=True, blank=True)
    title = models.TextField()
    title_key = models.CharField(max_length=300, db_index=True)
    abstract = models.TextField()
    authors = models.JSONField(default=list, blank=True)
    # First entry is the primary category; primary_category repeats it for indexed filtering.
    categories = models.JSONField(default=list, blank=True)
    primary_category = models.CharField(max_length=32, blank=True, db_index=True)
    comment = models.TextField(blank=True)
    # From the arXiv API: where the paper was published, and its DOI ("10.1145/3580305.3599337").
    journal_ref = models.TextField(blank=True)
    doi = models.CharField(max_length=255, blank=True)
    keywords = models.JSONField(default=list, blank=True, help_text="Keywords a source supplied.")
    abs_url = models.URLField(max_length=500, blank=True)
    pdf_url = models.URLField(max_length=500, blank=True)
    code_url = models.URLField(max_length=500, blank=True)
    project_url = models.URLField(max_length=500, blank=True)

    published_at = models.DateTimeField(null=True, blank=True)
    # The listing day the paper first appeared in any source: what "new today" means.
    first_seen = models.DateField(db_index=True)
    ingested_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    sources = models.JSONField(default=list, blank=True, help_text="Sources that supplied it.")

    # Trending signals from the sources that carry them; they never go backwards on a backfill
    # (ingestion/merge.py).
    upvotes = models.PositiveIntegerField(default=0)
    num_comments = models.PositiveIntegerField(default=0)
    # When a live fetch read those two; an older reading never replaces a newer one. Null when
    # they come from saved files only (time unknown: the highest counts seen are kept).
    signals_observed_at = models.DateTimeField(null=True, blank=True)

    curation = models.CharField(
        max_length=16, choices=Curation, default=Curation.NORMAL, db_index=True
    )
    curation_note = models.CharField(max_length=300, blank=True)
    curated_at = models.DateTimeField(null=True, blank=True)
    curated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["-first_seen", "-upvotes"]
        indexes = [
            models.Index(fields=["first_seen", "curation"]),
            # The admin's "trending" sort: upvotes + comments, then the list's default order
            # (newest listing day, most upvotes, newest row), as the admin's ORDER BY spells it.
            models.Index(
                (models.F("upvotes") + models.F("num_comments")).desc(),
                models.F("first_seen").desc(),
                models.F("upvotes").desc(),
                models.F("id").desc(),
                name="paper_trend_idx",
            ),
        ]
        # PostgreSQL also gets trigram and jsonb indexes for the admin's search and source
        # filter (migration 0005; SQLite has no such index types).

    def __str__(self) -> str:
        return f"{self.arxiv_id or 'untracked'}: {self.readable_title[:80]}"

    def save(self, *args, **kwargs) -> None:
        self.title_key = normalise_title(self.title)
        if self.categories and not self.primary_category:
            self.primary_category = self.categories[0]
        super().save(*args, **kwargs)

    @property
    def readable_title(self) -> str:
        """The title as people read it (LaTeX turned into text): for every page and email."""
        return readable(self.title)

    @property
    def doi_url(self) -> str:
        return f"https://doi.org/{quote(self.doi, safe='/:;()')}" if self.doi else ""

    @property
    def url(self) -> str:
        if self.abs_url:
            return self.abs_url
        if self.arxiv_id:
            return f"https://arxiv.org/abs/{self.arxiv_id}"
        # A paper from a saved listing may have neither: a title search on arXiv finds it.
        return "https://arxiv.org/search/?" + urlencode(
            {"query": self.title, "searchtype": "title"}
        )


class FeedbackEvent(models.Model):
    """One reaction of a subscriber to a paper; the recommender folds these into the profile."""

    class Kind(models.TextChoices):
        UP = "up", "More like this"
        DOWN = "down", "Less like this"
        CLICK = "click", "Opened"

    subscriber = models.ForeignKey(
        "accounts.Subscriber", on_delete=models.CASCADE, related_name="feedback"
    )
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="feedback")
    kind = models.CharField(max_length=8, choices=Kind)
    digest_item = models.ForeignKey(
        "DigestItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["subscriber", "created_at"])]

    def __str__(self) -> str:
        return f"{self.subscriber} {self.kind} {self.paper_id}"


class Digest(models.Model):
    """One subscriber's digest for one period: the ledger row that says what happened to it.

    The row is created in the same transaction that claims the subscriber (status PENDING), so
    a claim never exists without a row. Each open status has an owner and a timeout
    (`lease_until`): the queue or the worker that holds it, until then; past it, the
    reconciliation task (recommender.tasks.reconcile_digests) takes the digest back.

        PENDING --build--> BUILT --claim--> SENDING --> SENT
           |                 ^                 |
           |                 +-- transient ----+--> FAILED (permanent, or out of attempts)
           +--> SKIPPED (no papers: retried while the send window is open; or not mailable)
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Claimed, not built"
        BUILT = "built", "Built, not sent"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        # Nothing new matched, or the subscriber could not receive it; kept so the period is
        # not rebuilt over and over (skip_reason says which).
        SKIPPED = "skipped", "Skipped"

    class SkipReason(models.TextChoices):
        EMPTY = "empty", "No new papers"
        SUPPRESSED = "suppressed", "Address suppressed"
        INACTIVE = "inactive", "Unsubscribed or paused"

    # Statuses someone still has to act on; the others are final.
    OPEN = (Status.PENDING, Status.BUILT, Status.SENDING)

    subscriber = models.ForeignKey(
        "accounts.Subscriber", on_delete=models.CASCADE, related_name="digests"
    )
    # Local date the digest is for (daily) or the Monday of its week (weekly): the period it
    # was due for, whenever it is finally sent.
    period_start = models.DateField()
    frequency = models.CharField(max_length=8, default="daily")
    status = models.CharField(max_length=16, choices=Status, default=Status.BUILT, db_index=True)
    skip_reason = models.CharField(max_length=16, choices=SkipReason, blank=True)
    # Which ranker produced it (e.g. "tfidf-v3" or "placeholder"), so quality can be traced.
    ranker = models.CharField(max_length=64, blank=True)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When the subscriber's send time for this period was (null for digests built on demand
    # before the ledger existed).
    due_at = models.DateTimeField(null=True, blank=True)
    built_at = models.DateTimeField(null=True, blank=True)
    # Until when the current holder (the queue, a worker's chunk, a send in progress) owns an
    # open digest; reconciliation takes it back after. Also the earliest retry after a
    # transient failure.
    lease_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=300, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "period_start"], name="one_digest_per_subscriber_period"
            ),
        ]
        indexes = [models.Index(fields=["status", "lease_until"], name="digest_status_lease")]

    def __str__(self) -> str:
        return f"Digest for {self.subscriber} ({self.period_start})"


class DigestItem(models.Model):
    digest = models.ForeignKey(Digest, on_delete=models.CASCADE, related_name="items")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="digest_items")
    rank = models.PositiveSmallIntegerField()
    score = models.FloatField()
    # The human explanation shown in the email: "matches your keywords: quantization, LLMs".
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["digest", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["digest", "paper"], name="paper_once_per_digest"),
            models.UniqueConstraint(fields=["digest", "rank"], name="rank_once_per_digest"),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} {self.paper}"


class Suppression(models.Model):
    """Addresses we must never email again (until an admin removes the entry)."""

    class Reason(models.TextChoices):
        BOUNCE = "bounce", "Hard bounce"
        COMPLAINT = "complaint", "Spam complaint"
        UNSUBSCRIBE = "unsubscribe", "Unsubscribed at the provider"
        MANUAL = "manual", "Added by an admin"

    email = models.EmailField(max_length=254, unique=True)
    reason = models.CharField(max_length=16, choices=Reason)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.email} ({self.reason})"

    def save(self, *args, **kwargs) -> None:
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    @classmethod
    def covers(cls, email: str) -> bool:
        """Whether `email` (as stored: normalised) must never be mailed."""
        return cls.objects.filter(email=email).exists()


class DeliveryEvent(models.Model):
    """What happened to an email: our own send attempts and the provider's webhook events."""

    class Kind(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        DEFERRED = "deferred", "Deferred"
        BOUNCED = "bounced", "Bounced"
        REJECTED = "rejected", "Rejected"
        COMPLAINED = "complained", "Complained"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        OPENED = "opened", "Opened"
        CLICKED = "clicked", "Clicked"
        FAILED = "failed", "Failed"
        # A subscriber moved to a new address (this row's email); the detail names the old one.
        EMAIL_CHANGED = "email_changed", "Address changed"

    kind = models.CharField(max_length=16, choices=Kind, db_index=True)
    email = models.EmailField(max_length=254, db_index=True)
    digest = models.ForeignKey(
        Digest, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    message_id = models.CharField(max_length=300, blank=True, db_index=True)
    # Which provider's webhook reported the event ("Postmark", "Amazon SES", ...); blank for
    # our own send attempts.
    provider = models.CharField(max_length=32, blank=True)
    # The provider's own id of the event (with the recipient: one Amazon SES notification
    # covers several), or a digest of its fields where the provider gives none. Unique per
    # provider, so a webhook delivered twice is recorded once (digest_site/mailing/webhooks.py).
    # Null (not "") for our own events, which have no provider id and must not collide.
    provider_event_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    # For bounces and refused sends: True when permanent (the mailbox does not exist), False when
    # transient (mailbox full, greylisted); None for every other kind.
    permanent = models.BooleanField(null=True, blank=True)
    detail = models.TextField(blank=True)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_event_id"], name="provider_event_once"
            ),
        ]
        indexes = [
            models.Index(fields=["email", "kind", "occurred_at"], name="deliveryevent_email_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.email} {self.occurred_at:%Y-%m-%d %H:%M}"


class IngestionRun(models.Model):
    """One run of ingestion (a live fetch or files given to `manage.py ingest`) and its counts.

    Written by recommender/ingestion/runs.py only; the admin dashboard charts these rows.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        OK = "ok", "Finished"
        # Finished, but some records were refused (the others were stored).
        REJECTIONS = "rejections", "Finished with rejections"
        FAILED = "failed", "Failed"

    # Where the papers came from: "hf-daily", "arxiv-api", "arxiv-dump", "hf-page" (the names
    # Paper.sources uses), several joined by "+" for a mixed run of files.
    source = models.CharField(max_length=64, db_index=True)
    # What started it: "beat" (the daily fetch), "command", "demo", "api".
    trigger = models.CharField(max_length=32, blank=True)
    # The listing day or the file names, for people reading the list.
    label = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.source} run at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
