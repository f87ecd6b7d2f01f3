"""Due subscribers are claimed once, at their own send hour, and fanned out to workers."""

from __future__ import annotations

from datetime import UTC, datetime

from accounts.models import InterestProfile, Subscriber
from recommender import scheduling

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


def test_it_splits_claimed_ids_into_worker_sized_chunks():
    assert list(scheduling.chunks(list(range(5)), 2)) == [[0, 1], [2, 3], [4]]
