"""What operators see of delivery: `manage.py delivery_status`, /healthz and the admin."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Subscriber
from recommender.models import Digest


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def ledger(make_subscriber):
    """Yesterday: 3 sent, 1 failed, 1 suppressed, 1 empty; today: 1 sent, 1 stuck in SENDING
    with an expired lease and due two hours ago, 1 queued and due a minute ago."""
    now = timezone.now()
    today, yesterday = now.date(), now.date() - timedelta(days=1)
    rows = [
        (yesterday, "sent", ""),
        (yesterday, "sent", ""),
        (yesterday, "sent", ""),
        (yesterday, "failed", ""),
        (yesterday, "skipped", "suppressed"),
        (yesterday, "skipped", "empty"),
        (today, "sent", ""),
    ]
    for n, (period, status, reason) in enumerate(rows):
        Digest.objects.create(
            subscriber=make_subscriber(f"r{n}@example.com"),
            period_start=period,
            status=status,
            skip_reason=reason,
            due_at=now - timedelta(hours=3),
        )
    stuck = Digest.objects.create(
        subscriber=make_subscriber("stuck@example.com"),
        period_start=today,
        status=Digest.Status.SENDING,
        due_at=now - timedelta(hours=2),
        lease_until=now - timedelta(minutes=30),
        last_error="send lease expired: the sender went silent mid-send (re-queued)",
    )
    Digest.objects.create(
        subscriber=make_subscriber("queued@example.com"),
        period_start=today,
        status=Digest.Status.PENDING,
        due_at=now - timedelta(minutes=1),
        lease_until=now + timedelta(minutes=4),
    )
    return {"today": today, "yesterday": yesterday, "stuck": stuck}


def run_status(*args) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("delivery_status", *args, stdout=out)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def test_delivery_status_counts_each_period_and_names_the_stuck_digest(ledger):
    out, error = run_status("--days", "3")

    lines = out.splitlines()
    assert lines[0].split() == [
        "period",
        "due",
        "pending",
        "built",
        "sending",
        "sent",
        "failed",
        "skipped",
        "suppressed",
    ]
    assert lines[1].split() == [str(ledger["today"]), "3", "1", "0", "1", "1", "0", "0", "0"]
    assert lines[2].split() == [str(ledger["yesterday"]), "6", "0", "0", "0", "3", "1", "1", "1"]
    assert f"digest {ledger['stuck'].pk} stuck@example.com" in out
    assert "waiting for reconciliation after: send lease expired" in out
    assert "queued@example.com" not in out  # due a minute ago and held: not stuck
    assert str(error) == (
        "1 digests overdue, 0 due subscribers unclaimed (overdue = more than 60 min late)"
    )


def test_delivery_status_is_quiet_and_succeeds_when_nothing_is_late(make_subscriber):
    Digest.objects.create(
        subscriber=make_subscriber(),
        period_start=date.today(),
        status="sent",
        due_at=timezone.now(),
    )

    out, error = run_status()

    assert error is None
    assert "Stuck" not in out
    assert out.strip().endswith(
        "0 digests overdue, 0 due subscribers unclaimed (overdue = more than 60 min late)"
    )


def test_healthz_reports_delivery_degraded_while_digests_are_overdue(client, ledger):
    response = client.get("/healthz")

    assert response.status_code == 200  # the web server itself is fine: no restart wanted
    assert response.json() == {
        "status": "degraded",
        "database": "ok",
        "cache": "ok",
        "delivery": "degraded: 1 digests overdue, 0 due unclaimed",
    }


def test_healthz_counts_due_subscribers_nobody_claimed(client, make_subscriber):
    reader = make_subscriber()
    Subscriber.objects.filter(pk=reader.pk).update(
        next_digest_at=timezone.now() - timedelta(hours=3)
    )

    assert client.get("/healthz").json()["delivery"] == (
        "degraded: 0 digests overdue, 1 due unclaimed"
    )


def test_healthz_is_ok_when_delivery_is_on_time(client, make_subscriber):
    make_subscriber()

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok", "delivery": "ok"}


def test_the_admin_shows_overdue_and_stuck_digests(admin_client, ledger):
    page = admin_client.get("/admin/recommender/digest/").content.decode()

    assert "Overdue: 1 digests past their send time" in page
    assert "Stuck digests" in page
    assert "stuck@example.com" in page
