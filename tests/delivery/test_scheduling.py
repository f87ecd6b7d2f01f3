"""Due subscribers are claimed once, at their own send hour, and fanned out to workers."""

from __future__ import annotations

from datetime import UTC, datetime

from accounts.models import InterestProfile, Subscriber
from recommender.delivery import scheduling, sending
from recommender.models import Digest

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def test_it_claims_a_due_subscriber_once_and_schedules_the_next_send(make_subscriber):
    reader = make_subscriber(send_hour=7, timezone="UTC")
    Subscriber.objects.filter(pk=reader.pk).update(next_digest_at=NOW.replace(hour=7))

    assert scheduling.claim_due_subscribers(now=NOW) == [reader.pk]
    assert scheduling.claim_due_subscribers(now=NOW) == []

    reader.refresh_from_db()
    assert reader.next_digest_at == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)


def test_it_only_schedules_a_subscriber_seen_for_the_first_time(make_subscriber):
    reader = make_subscriber(send_hour=7, timezone="UTC")

    assert scheduling.claim_due_subscribers(now=NOW) == []

    reader.refresh_from_db()
    assert reader.next_digest_at == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)


def test_it_skips_pending_unsubscribed_and_paused_subscribers(make_subscriber):
    pending = make_subscriber("p@example.com", status=Subscriber.Status.PENDING)
    gone = make_subscriber("u@example.com", status=Subscriber.Status.UNSUBSCRIBED)
    paused = make_subscriber("z@example.com")
    Subscriber.objects.filter(pk=paused.pk).update(paused_at=NOW)
    Subscriber.objects.update(next_digest_at=NOW.replace(hour=6))

    assert scheduling.claim_due_subscribers(now=NOW) == []
    assert {pending.pk, gone.pk, paused.pk} == set(Subscriber.objects.values_list("pk", flat=True))


def test_it_sends_at_the_local_send_hour_across_timezones():
    tokyo = InterestProfile(send_hour=7, timezone="Asia/Tokyo")
    weekly = InterestProfile(
        send_hour=9, timezone="Europe/Paris", frequency="weekly", send_weekday=0
    )

    # 07:00 in Tokyo is 22:00 UTC the day before.
    assert tokyo.next_send_after(NOW) == datetime(2026, 7, 1, 22, 0, tzinfo=UTC)
    # Next Monday 09:00 in Paris (summer time, UTC+2) after Wednesday 1 July.
    assert weekly.next_send_after(NOW) == datetime(2026, 7, 6, 7, 0, tzinfo=UTC)


def test_it_falls_back_to_utc_for_an_unknown_timezone():
    profile = InterestProfile(send_hour=7, timezone="Mars/Olympus_Mons")

    assert profile.next_send_after(NOW) == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)


def test_it_hands_out_each_chunk_as_soon_as_it_is_claimed(make_subscriber):
    readers = [make_subscriber(f"r{i}@example.com", send_hour=7) for i in range(5)]
    Subscriber.objects.update(next_digest_at=NOW.replace(hour=7))

    claiming = scheduling.claim_due_in_chunks(now=NOW, size=2)
    first = next(claiming)

    # The first chunk can go to a worker while the other three are not claimed yet; each claim
    # came with its digest's ledger row, filed under the period the subscriber was due for.
    assert len(first) == 2
    waiting = Subscriber.objects.filter(next_digest_at=NOW.replace(hour=7))
    assert waiting.count() == 3
    assert Digest.objects.count() == 2
    rest = list(claiming)
    assert [len(chunk) for chunk in rest] == [2, 1]
    rows = Digest.objects.filter(pk__in=first + rest[0] + rest[1])
    assert sorted(rows.values_list("subscriber_id", flat=True)) == sorted(r.pk for r in readers)
    assert {(d.status, d.period_start, d.due_at) for d in rows} == {
        (Digest.Status.PENDING, NOW.date(), NOW.replace(hour=7))
    }
    assert not waiting.exists()


def test_it_sends_the_rest_of_a_chunk_when_one_address_fails(make_subscriber, make_paper, settings):
    from datetime import date

    from django.core import mail

    make_paper(
        title="Robot grasping",
        abstract="Robot grasping policies.",
        categories=["cs.RO"],
        first_seen=date(2026, 7, 1),
    )
    readers = [
        make_subscriber(f"{name}@example.com", interests_text="robot grasping")
        for name in ("ann", "bad", "cat")
    ]
    settings.EMAIL_BACKEND = "tests.mail_backends.RefusesOneAddress"

    counts = sending.build_and_send(readers, moment=NOW)

    assert (counts["sent"], counts["retry"], counts["failed"]) == (2, 1, 0)
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.com", "cat@example.com"]
    bad = Digest.objects.get(subscriber__email="bad@example.com")
    # A refused connection is transient: that digest alone waits for its back-off.
    assert (bad.status, bad.attempts) == (Digest.Status.BUILT, 1)
    assert bad.lease_until is not None
    assert "connection" in bad.last_error

    # Running the chunk again (the retry) sends only that one, and nobody gets a second copy.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    again = sending.build_and_send(readers, moment=NOW)
    assert (again["sent"], again["retry"], again["already"]) == (1, 0, 2)
    assert sorted(m.to[0] for m in mail.outbox) == [
        "ann@example.com",
        "bad@example.com",
        "cat@example.com",
    ]


def test_the_dispatcher_fans_due_subscribers_out_in_chunks_of_the_setting(
    make_subscriber, settings, monkeypatch
):
    from recommender import tasks

    for n in range(5):
        make_subscriber(email=f"reader{n}@example.com")
    Subscriber.objects.update(next_digest_at=datetime(2026, 7, 1, 6, 0, tzinfo=UTC))
    settings.DIGEST_CHUNK_SIZE = 2
    queued = []
    monkeypatch.setattr(tasks, "enqueue_digests", queued.append)
    assert tasks.dispatch_due_digests() == 5
    assert [len(chunk) for chunk in queued] == [2, 2, 1]
    dispatched = Digest.objects.filter(pk__in=[pk for chunk in queued for pk in chunk])
    assert sorted(dispatched.values_list("subscriber_id", flat=True)) == sorted(
        Subscriber.objects.values_list("pk", flat=True)
    )
