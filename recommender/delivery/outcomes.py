"""How a send's outcome is sorted (retry later, or give up and suppress the address) and how a
chunk's outcomes are recorded (the SENT status with the next claim, the events in bulk)."""

from __future__ import annotations

import logging
import random
import smtplib

from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.conf import settings
from django.utils import timezone

from accounts.models import Subscriber

from ..models import DeliveryEvent, Digest
from . import ledger

log = logging.getLogger(__name__)


class Refusal:
    """How to treat a failed send: retry later, or give up now (and suppress the recipient)."""

    def __init__(self, *, permanent: bool, recipient: bool = False) -> None:
        self.permanent = permanent
        self.recipient = recipient


def classify(error: Exception) -> Refusal:
    """Transient or permanent, and whether the recipient's own address was refused."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return Refusal(permanent=all(code >= 500 for code in codes), recipient=True)
    if isinstance(error, AnymailRecipientsRefused):
        return Refusal(permanent=True, recipient=True)
    if isinstance(error, AnymailAPIError):
        code = error.status_code
        return Refusal(permanent=code is not None and code < 500 and code != 429)
    if isinstance(error, smtplib.SMTPSenderRefused):
        # Our own sender address refused: not the reader's fault, and perhaps fixed soon.
        return Refusal(permanent=False)
    if isinstance(error, smtplib.SMTPResponseException):
        return Refusal(permanent=error.smtp_code >= 500)
    # Connection refused or reset, timeouts, a server that hung up, anything unforeseen: retry.
    return Refusal(permanent=False)


def describe(error: BaseException) -> str:
    """The error's type and message; never raises (some exceptions' str() does)."""
    try:
        return f"{type(error).__name__}: {error}"
    except Exception:
        return f"{type(error).__name__}: {error.args!r}"


def backoff_seconds(attempts: int) -> float:
    """Delay before attempt `attempts + 1`: exponential, capped, with "equal jitter" (half of
    it fixed, half random) so the retries of a chunk that failed together spread out."""
    full = min(
        settings.DIGEST_RETRY_MAX_SECONDS,
        settings.DIGEST_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0),
    )
    return full / 2 + random.uniform(0, full / 2)  # noqa: S311 (jitter, not a secret)


class Record:
    """The chunk's SENT and FAILED events and the subscribers' last_digest_at, written in bulk
    when the chunk ends (even by an exception); the digests' own statuses are written as
    each outcome happens, since those are what keep a digest from being sent twice: a SENT
    status with the next claim (`unrecorded` until then), or on its own when no claim follows."""

    def __init__(self) -> None:
        self.events: list[DeliveryEvent] = []
        self.mailed: list[int] = []
        self.unrecorded: ledger.Sent | None = None

    def flush_sent(self) -> None:
        if self.unrecorded is not None:
            ledger.record_sent(self.unrecorded)
            self.unrecorded = None

    def __enter__(self) -> Record:
        return self

    def __exit__(self, kind, error, trace) -> None:
        if kind is None:
            self.flush_sent()
            self.flush()
            return
        try:  # never hide the exception that ended the chunk (a time limit must propagate)
            self.flush_sent()
        except Exception:
            log.exception("could not record the last digest sent as SENT")
        try:
            self.flush()
        except Exception:
            log.exception("could not record the chunk's delivery events")

    def sent(self, digest: Digest, subscriber: Subscriber, message_id: str) -> None:
        self.flush_sent()  # never two waiting (a caller that did not claim through _send)
        self.unrecorded = ledger.Sent(digest.pk, timezone.now(), message_id)
        self.mailed.append(subscriber.pk)
        self.events.append(
            DeliveryEvent(
                kind=DeliveryEvent.Kind.SENT,
                email=subscriber.email,
                digest=digest,
                message_id=message_id,
            )
        )

    def failed(self, digest: Digest, subscriber: Subscriber, error: Exception, refusal) -> None:
        self.events.append(
            DeliveryEvent(
                kind=DeliveryEvent.Kind.FAILED,
                email=subscriber.email,
                digest=digest,
                permanent=refusal.permanent,
                detail=describe(error)[:2000],
            )
        )

    def flush(self) -> None:
        if self.mailed:
            Subscriber.objects.filter(pk__in=self.mailed).update(last_digest_at=timezone.now())
        if self.events:
            DeliveryEvent.objects.bulk_create(self.events)
        self.events, self.mailed = [], []
