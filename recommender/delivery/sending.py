"""Sending: build and send the digests of a chunk, each exactly once, and record in the ledger
what happened to every one of them.

A digest is claimed for sending with a conditional update BUILT -> SENDING that also sets a
lease: of two workers handed the same digest only one sends it, and if that worker dies,
reconciliation takes the digest back once the lease ends. Whether the address may be mailed is
checked right before each send, so a bounce or an unsubscribe that lands while a chunk is
running stops that person's email.

Failures are sorted: transient ones (SMTP 4xx, connection errors, timeouts, provider 429/5xx)
put that one digest back to BUILT with exponential back-off and jitter, up to
DIGEST_MAX_ATTEMPTS; permanent ones (SMTP 5xx, a provider refusing the recipient) make it
FAILED at once, and a refused recipient is suppressed.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import make_msgid
from django.db.models import F
from django.utils import timezone

from accounts import tokens
from accounts.models import Subscriber
from digest_site.mailing.headers import list_unsubscribe_headers
from digest_site.mailing.messages import compose_message
from digest_site.mailing.policy import may_mail, suppress
from digest_site.mailing.session import MailSession

from ..models import Digest, DigestItem, Suppression
from ..ranking.candidates import candidate_window
from ..ranking.scoring import RankingResult
from ..ranking.subscribers import rank_many
from . import digest_email, digests, ledger
from .collector import fewer_collections
from .outcomes import Record, backoff_seconds, classify, describe

log = logging.getLogger(__name__)

# What happened to one digest in a chunk.
SENT, SKIPPED, RETRY, FAILED, ALREADY = "sent", "skipped", "retry", "failed", "already"

# The ledger's note on a digest cut off by the time limit while the server was receiving it.
MAYBE_DELIVERED = "time limit while the mail server was receiving it: may have been delivered"

# enqueue(digest_ids, countdown=None): hands digests to the workers (the Celery task's
# publisher in production); passed in, so this module never imports the tasks module.
Enqueue = Callable[..., None]


def deliver_chunk(digest_ids: list[int], *, enqueue: Enqueue | None = None) -> Counter[str]:
    """Build and send every open digest among `digest_ids`; safe to run twice, or at once.

    The papers of all digests still to build are ranked in one batch and stored in one
    transaction; the chunk's items and subscribers are then read once, and its emails go out
    over one mail connection, each digest claimed (with the may-we-mail check) right before its
    send and recorded sent right after it. One digest's failure never stops the rest. When the
    task's soft time limit strikes, the chunk stops where it is: the digest being sent goes
    back to BUILT, the unfinished remainder is re-queued at once (or, if the broker refuses,
    left to reconciliation) and SoftTimeLimitExceeded propagates.
    """
    lease = timedelta(seconds=settings.DIGEST_LEASE_SECONDS)
    open_now = [Digest.Status.PENDING, Digest.Status.BUILT]
    Digest.objects.filter(pk__in=digest_ids, status__in=open_now).update(
        lease_until=timezone.now() + lease
    )
    chunk = list(
        Digest.objects.filter(pk__in=digest_ids, status__in=open_now)
        .select_related("subscriber__profile")
        .order_by("pk")
    )
    counts: Counter[str] = Counter({ALREADY: len(set(digest_ids)) - len(chunk)})
    retries: list[tuple[int, float]] = []
    renewed = time.monotonic()
    done = 0
    try:
        with fewer_collections(), MailSession() as session, Record() as record:
            prepared = _build_chunk(chunk, record)
            sender = Sender(session, record)
            for digest in chunk:
                finished = _deliver_one(digest, prepared, sender)
                if digest is chunk[-1]:
                    finished += sender.land()
                for settled, outcome in finished:
                    counts[outcome] += 1
                    done += 1
                    if outcome == RETRY:
                        retries.append((settled.pk, _seconds_until(settled)))
                if time.monotonic() - renewed > lease.total_seconds() / 3:
                    # Still alive: keep reconciliation off the rest of this chunk.
                    rest = [d.pk for d in chunk[done:]]
                    Digest.objects.filter(pk__in=rest, status__in=open_now).update(
                        lease_until=timezone.now() + lease
                    )
                    renewed = time.monotonic()
    except SoftTimeLimitExceeded:
        # The unsettled rest, less the digest that was in flight if its answer was read since.
        rest = [d.pk for d in chunk[done:] if d.status in Digest.OPEN]
        log.warning("soft time limit: %d digests of the chunk re-queued", len(rest))
        _hand_back(rest, enqueue)
        raise
    for pk, delay in retries:
        _hand_back([pk], enqueue, countdown=delay)
    # Never "done" while some of it waits: the retries are named as still open.
    log.info(
        "chunk of %d: %d sent, %d skipped, %d failed, %d already done, %d still open (retrying)",
        len(digest_ids),
        counts[SENT],
        counts[SKIPPED],
        counts[FAILED],
        counts[ALREADY],
        counts[RETRY],
    )
    return counts


class Prepared:
    """What the send loop needs, read once for the chunk: each BUILT digest's items, each
    subscriber as they are now, and the digests whose build failed (with the error)."""

    def __init__(self) -> None:
        self.items: dict[int, list[DigestItem]] = {}
        self.subscribers: dict[int, Subscriber] = {}
        self.build_errors: dict[int, Exception] = {}


def _build_chunk(chunk: list[Digest], record: Record) -> Prepared:
    """Rank and store the chunk's PENDING digests, then read what sending them needs: a
    constant number of queries whatever the chunk's size."""
    prepared = Prepared()
    pending = [d for d in chunk if d.status == Digest.Status.PENDING]
    ranked = rank_chunk(pending)
    try:
        stored = digests.fill_digests(pending, ranked)
    except Exception:  # one bad row must not cost the others: build them one at a time
        log.exception("storing the chunk's digests failed; building them one by one")
        stored = []
        for digest in pending:
            try:
                stored.extend(digests.fill_digests([digest], {digest.pk: ranked[digest.pk]}))
            except Exception as error:
                log.exception("digest %s could not be built", digest.pk)
                prepared.build_errors[digest.pk] = error
    for item in stored:
        prepared.items.setdefault(item.digest_id, []).append(item)
    built = [d for d in chunk if d.status == Digest.Status.BUILT]
    earlier = [d.pk for d in built if d.pk not in prepared.items]  # built by an earlier run
    for item in DigestItem.objects.filter(digest_id__in=earlier).select_related("paper"):
        prepared.items.setdefault(item.digest_id, []).append(item)
    # Read now, not when the chunk started: an address changed since is mailed at the new one
    # (the claim itself checks, per digest, that the subscriber may still be mailed).
    people = Subscriber.objects.filter(pk__in={d.subscriber_id for d in built})
    prepared.subscribers = {s.pk: s for s in people.select_related("profile")}
    return prepared


def _seconds_until(digest: Digest) -> float:
    if digest.lease_until is None:
        return 0.0
    return max(0.0, (digest.lease_until - timezone.now()).total_seconds())


def _hand_back(ids: list[int], enqueue: Enqueue | None, *, countdown: float | None = None):
    """Queue `ids` again; if that fails, clear their lease so reconciliation finds them."""
    if not ids:
        return
    if enqueue is not None:
        try:
            enqueue(ids, countdown=countdown)
            return
        except Exception:
            log.exception("could not re-queue %d digests; reconciliation will", len(ids))
    if countdown is None:
        Digest.objects.filter(pk__in=ids, status__in=Digest.OPEN).update(lease_until=None)


def rank_chunk(pending: list[Digest]) -> dict[int, RankingResult]:
    """Rank the subscribers of every digest still to build, in one batch.

    The model, the candidate papers and their vectors are loaded once for the chunk and all
    its profiles are scored with one matrix product; each subscriber only sees the candidates
    of their own period window that they have not received before.
    """
    if not pending:
        return {}
    subscribers = [d.subscriber for d in pending]
    candidates, allowed = candidate_window(subscribers)
    profiles = [s.profile for s in subscribers]
    limit = settings.DIGEST_MAX_ITEMS
    results = rank_many(profiles, candidates, limit=limit, allowed=allowed)
    return {d.pk: result for d, result in zip(pending, results, strict=True)}


def _deliver_one(digest: Digest, prepared: Prepared, sender: Sender) -> list[Settled]:
    """Render `digest`'s email while the server stores the one before, then settle that one and
    claim and send this one. Returns the digests settled, in chunk order (this one too unless it
    is now in flight)."""
    settled: list[Settled] = []
    try:
        message, error = None, None
        sendable = digest.pk not in prepared.build_errors and digest.status == Digest.Status.BUILT
        subscriber = prepared.subscribers.get(digest.subscriber_id) if sendable else None
        if subscriber is not None:  # (None: deleted since the chunk started)
            try:
                message = digest_message(digest, prepared.items.get(digest.pk, []), subscriber)
                sender.session.prepare(message)  # its bytes too, before the wait below
            except SoftTimeLimitExceeded:
                raise
            except Exception as failed:  # one bad profile or template must not cost the others
                error = failed
        settled += sender.land()
        if error is not None:
            log.error("digest %s could not be rendered", digest.pk, exc_info=error)
            return [*settled, (digest, _transient(digest, error, status=digest.status))]
        if message is not None:
            outcome = sender.launch(digest, subscriber, message)
            return settled if outcome is None else [*settled, (digest, outcome)]
        sender.record.flush_sent()  # no claim follows to carry the last send's record
        if digest.pk in prepared.build_errors:
            error = prepared.build_errors[digest.pk]
            return [*settled, (digest, _transient(digest, error, status=digest.status))]
        if digest.status == Digest.Status.SKIPPED:
            return [*settled, (digest, SKIPPED)]
        return [*settled, (digest, ALREADY)]
    except SoftTimeLimitExceeded:
        sender.land()  # the one before is settled by its answer, if the server gives it now
        raise
    except Exception as error:  # the claim or the ledger failed: this digest is retried
        log.exception("digest %s could not be sent", digest.pk)
        return [*settled, (digest, _transient(digest, error, status=digest.status))]


def send_digest(digest: Digest) -> bool:
    """Send one BUILT digest (see send_one); True when an email went out."""
    return send_one(digest) == SENT


def send_one(digest: Digest) -> str:
    """Send one BUILT digest, unless another worker has it or the address may not be mailed.

    Returns SENT, SKIPPED (not mailable), RETRY (a transient failure: back to BUILT with a
    back-off lease), FAILED (permanent, or out of attempts) or ALREADY (not BUILT any more).
    """
    subscriber = Subscriber.objects.select_related("profile").get(pk=digest.subscriber_id)
    items = list(digest.items.select_related("paper"))
    with MailSession() as session, Record() as record:
        sender = Sender(session, record)
        try:
            outcome = sender.launch(digest, subscriber, digest_message(digest, items, subscriber))
            return outcome or sender.land()[0][1]
        except SoftTimeLimitExceeded:
            raise
        except Exception as error:
            log.exception("digest %s could not be sent", digest.pk)
            return _transient(digest, error, status=digest.status)


def digest_message(digest: Digest, items: list[DigestItem], subscriber: Subscriber):
    """The email of one digest, ready to send (its Message-ID set here, recorded when sent).

    Rendered by the worker's shared DigestRenderer: each paper's block is made once and then
    reused by every email that lists the paper, in this chunk and the next ones (blocks are
    keyed by everything they show, so an edited paper is rendered afresh)."""
    signer = tokens.LinkSigner(subscriber)  # the body's links and the one-click header's
    return compose_message(
        digest_email.render_digest(digest, items, subscriber, signer=signer),
        subscriber.email,
        headers={
            "Message-ID": make_msgid(domain="paper-digest"),
            **list_unsubscribe_headers(subscriber, signer=signer),
        },
    )


# A digest and what became of it.
Settled = tuple[Digest, str]


class Sender:
    """Claims and sends digests one at a time over one mail session.

    A digest is claimed right before its send. The server's final answer to its message is
    read by `land()`, which the caller runs after rendering the next digest, so the worker
    renders while the server stores the message; nothing else goes on the connection until
    then, and the next claim (which records this digest SENT) comes after it. So, as before,
    one digest at most is SENDING in a process, and a killed process leaves only that one in
    doubt (the at-least-once window)."""

    def __init__(self, session: MailSession, record: Record) -> None:
        self.session, self.record = session, record
        self.flight: tuple[Digest, Subscriber, object] | None = None  # sent, answer unread

    def launch(self, digest: Digest, subscriber: Subscriber, message) -> str | None:
        """Claim `digest` and send `message`: None once it is on its way (land() settles
        it), or the outcome when it was not claimed or refused before its content went out.

        The claim goes to the database first and its answer is read when the mail server has
        accepted the envelope, right before the content (so the two waits overlap); a claim
        lost by then resets the envelope, and nothing was sent."""
        lease_until = timezone.now() + timedelta(seconds=settings.DIGEST_SENDING_LEASE_SECONDS)
        record = self.record
        claim = ledger.begin_claim(
            digest.pk, digest.subscriber_id, lease_until=lease_until, after=record.unrecorded
        )

        def claimed() -> bool:
            attempts = claim.result()
            record.unrecorded = None  # committed with the claim (kept if the claim failed)
            if attempts is not None:
                digest.status, digest.attempts = Digest.Status.SENDING, attempts
            return attempts is not None

        try:
            self.session.start(message, ready=claimed)
        except SoftTimeLimitExceeded:
            try:  # the claim's answer is read before anything else uses the database
                won = claimed()
            except Exception:  # never in place of the time limit, which must propagate
                log.exception("digest %s: the claim's answer could not be read", digest.pk)
                won = False
            if won:
                self._cut_off(digest)
            raise
        except Exception as error:
            if not claimed():
                return _not_claimed(digest)
            return _refused(digest, subscriber, error, record)
        if not claimed():  # (read already: the backend asked before the content)
            return _not_claimed(digest)
        self.flight = (digest, subscriber, message)
        return None

    def land(self) -> list[Settled]:
        """Read the server's answer to the message in flight, if any, and record it."""
        if self.flight is None:
            return []
        digest, subscriber, message = self.flight
        self.flight = None
        try:
            self.session.finish()
        except SoftTimeLimitExceeded:
            self._cut_off(digest)
            raise
        except Exception as error:
            return [(digest, _refused(digest, subscriber, error, self.record))]
        # Anymail backends report the provider's own id, which its webhooks will quote back.
        provider_status = getattr(message, "anymail_status", None)
        message_id = (
            getattr(provider_status, "message_id", None) or message.extra_headers["Message-ID"]
        )
        # Recorded SENT with the next digest's claim, before that send (or when the chunk
        # ends): if this process dies, only this digest is left SENDING (the at-least-once
        # window); the event and last_digest_at follow in bulk.
        digest.status = Digest.Status.SENT
        self.record.sent(digest, subscriber, str(message_id)[:300])
        return [(digest, SENT)]

    def _cut_off(self, digest: Digest) -> None:
        """Out of time mid-send: back to BUILT with the chunk's remainder. Before the server
        had the message it was not delivered; once the server was receiving it, it may have
        been (the documented at-least-once window), and the ledger says so."""
        maybe = getattr(self.session.connection, "content_sent", False)
        note = {"last_error": MAYBE_DELIVERED} if maybe else {}
        Digest.objects.filter(pk=digest.pk, status=Digest.Status.SENDING).update(
            status=Digest.Status.BUILT, attempts=F("attempts") - 1, lease_until=None, **note
        )


def _not_claimed(digest: Digest) -> str:
    """Why the claim was refused (the rare path): another worker's, or not to be mailed."""
    if not Digest.objects.filter(pk=digest.pk, status=Digest.Status.BUILT).exists():
        return ALREADY
    subscriber = Subscriber.objects.get(pk=digest.subscriber_id)
    if not may_mail(subscriber.email, subscriber=subscriber):
        reason = Digest.SkipReason.SUPPRESSED
    elif not subscriber.receives_digests:
        reason = Digest.SkipReason.INACTIVE
    else:  # mailable again by now: left BUILT under the chunk's lease for the next run
        return ALREADY
    skipped = Digest.objects.filter(pk=digest.pk, status=Digest.Status.BUILT).update(
        status=Digest.Status.SKIPPED, skip_reason=reason, last_error="", lease_until=None
    )
    return SKIPPED if skipped else ALREADY


def _refused(digest: Digest, subscriber: Subscriber, error: Exception, record: Record) -> str:
    refusal = classify(error)
    log.warning(
        "digest %s to %s: %s failure: %s",
        digest.pk,
        subscriber.email,
        "permanent" if refusal.permanent else "transient",
        describe(error),
    )
    record.failed(digest, subscriber, error, refusal)
    if not refusal.permanent:
        return _transient(digest, error, status=Digest.Status.SENDING)
    _finish(digest, Digest.Status.FAILED, error=f"permanent: {describe(error)}")
    if refusal.recipient:
        suppress(subscriber.email, Suppression.Reason.BOUNCE, f"refused at send: {describe(error)}")
    return FAILED


def _transient(digest: Digest, error: Exception, *, status: str) -> str:
    """Back to where it was retried from (BUILT, or PENDING for a failed build), leased until
    its back-off ends; FAILED once DIGEST_MAX_ATTEMPTS attempts have failed. `digest.attempts`
    is as claimed (SENDING) or as read with the chunk (otherwise)."""
    attempts = digest.attempts if status == Digest.Status.SENDING else digest.attempts + 1
    if attempts >= settings.DIGEST_MAX_ATTEMPTS:
        Digest.objects.filter(pk=digest.pk, status=status).update(
            status=Digest.Status.FAILED,
            attempts=attempts,
            lease_until=None,
            last_error=f"gave up after {attempts} attempts: {describe(error)}"[:2000],
        )
        digest.status, digest.lease_until = Digest.Status.FAILED, None
        return FAILED
    back_to = Digest.Status.BUILT if status == Digest.Status.SENDING else status
    digest.lease_until = timezone.now() + timedelta(seconds=backoff_seconds(attempts))
    Digest.objects.filter(pk=digest.pk, status=status).update(
        status=back_to,
        attempts=attempts,
        lease_until=digest.lease_until,
        last_error=f"attempt {attempts}: {describe(error)}"[:2000],
    )
    digest.status, digest.attempts = back_to, attempts
    return RETRY


def _finish(digest: Digest, status: str, *, skip: str = "", error: str = "") -> None:
    Digest.objects.filter(pk=digest.pk).update(
        status=status, skip_reason=skip, last_error=error[:2000], lease_until=None
    )
    digest.status = status


def build_and_send(subscribers: list[Subscriber], *, moment) -> dict[str, int]:
    """Build and send each subscriber's digest for the period containing `moment`, now: the
    on-demand path (first digest at confirmation, demo, benchmarks)."""
    rows = digests.open_digests(subscribers, moment=moment)
    counts = deliver_chunk([d.pk for d in rows])
    return {key: counts[key] for key in (SENT, SKIPPED, RETRY, FAILED, ALREADY)}
