"""Forgetting what was asked for and never confirmed (accounts.services.purge_expired_requests)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from accounts import services, tasks
from accounts.models import InterestProfile, Subscriber
from recommender.models import DeliveryEvent

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def pending(email: str, *, asked_days_ago: float, confirmed: bool = False) -> Subscriber:
    asked = timezone.now() - asked_days_ago * DAY
    subscriber = Subscriber.objects.create(
        email=email,
        status=Subscriber.Status.PENDING,
        created_at=asked,
        consent_at=asked,
        confirmed_at=asked - DAY if confirmed else None,
    )
    InterestProfile.objects.create(subscriber=subscriber, interests_text="graph learning")
    return subscriber


def test_sign_ups_never_confirmed_are_deleted_after_the_retention_period(settings):
    settings.UNCONFIRMED_SIGNUP_RETENTION_DAYS = 30
    old = pending("old@example.org", asked_days_ago=31)
    DeliveryEvent.objects.create(kind=DeliveryEvent.Kind.SENT, email=old.email, detail="confirm")
    recent = pending("recent@example.org", asked_days_ago=29)

    counts = services.purge_expired_requests()

    assert counts == {"unconfirmed_signups": 1, "expired_email_changes": 0}
    assert list(Subscriber.objects.values_list("email", flat=True)) == [recent.email]
    assert not InterestProfile.objects.filter(subscriber_id=old.pk).exists()
    assert not DeliveryEvent.objects.filter(email=old.email).exists()


def test_a_new_request_restarts_the_period(settings):
    settings.UNCONFIRMED_SIGNUP_RETENTION_DAYS = 30
    subscriber = pending("again@example.org", asked_days_ago=40)
    subscriber.consent_at = timezone.now() - 2 * DAY  # asked again two days ago
    subscriber.save()

    assert services.purge_expired_requests()["unconfirmed_signups"] == 0
    assert Subscriber.objects.filter(pk=subscriber.pk).exists()


def test_subscribers_who_confirmed_once_are_never_purged(make_subscriber, settings):
    settings.UNCONFIRMED_SIGNUP_RETENTION_DAYS = 30
    returning = pending("returning@example.org", asked_days_ago=90, confirmed=True)
    active = make_subscriber("active@example.org")
    Subscriber.objects.filter(pk=active.pk).update(created_at=timezone.now() - 400 * DAY)

    assert services.purge_expired_requests()["unconfirmed_signups"] == 0
    assert set(Subscriber.objects.values_list("pk", flat=True)) == {returning.pk, active.pk}


def test_address_changes_are_forgotten_once_their_link_expired(make_subscriber, settings):
    settings.CHANGE_EMAIL_LINK_MAX_AGE_DAYS = 3
    stale = make_subscriber("stale@example.org")
    fresh = make_subscriber("fresh@example.org")
    now = timezone.now()
    Subscriber.objects.filter(pk=stale.pk).update(
        pending_email="new-stale@example.org", pending_email_requested_at=now - 4 * DAY
    )
    Subscriber.objects.filter(pk=fresh.pk).update(
        pending_email="new-fresh@example.org", pending_email_requested_at=now - 2 * DAY
    )

    counts = services.purge_expired_requests()

    assert counts == {"unconfirmed_signups": 0, "expired_email_changes": 1}
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.pending_email, stale.pending_email_requested_at) == ("", None)
    assert stale.email == "stale@example.org"
    assert fresh.pending_email == "new-fresh@example.org"


def test_beat_runs_the_purge_daily_through_its_task():
    entry = django_settings.CELERY_BEAT_SCHEDULE["purge-expired-requests"]

    assert entry["task"] == tasks.purge_expired_requests.name
    assert entry["schedule"].hour == {4}
    pending(
        "beat@example.org", asked_days_ago=django_settings.UNCONFIRMED_SIGNUP_RETENTION_DAYS + 1
    )
    assert tasks.purge_expired_requests.delay().get() == {
        "unconfirmed_signups": 1,
        "expired_email_changes": 0,
    }
