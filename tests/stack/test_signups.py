"""The sign-up queue on the machine's Redis: the request queues, one drain subscribes everyone,
a bad sign-up or a dead drain loses nothing (accounts/signups.py)."""

from __future__ import annotations

import json

import pytest
from django.core import mail

from accounts import signups, tasks
from accounts.models import Subscriber
from tests.helpers import (
    only_message_to,
    subscribe,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fresh_cache")]


@pytest.fixture
def queue(redis_cache, settings, monkeypatch):
    """The queue switched on (Redis cache, a non-eager Celery) with task publishes recorded."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    published = {"drain": 0, "subscribe": []}

    def drain_delay():
        published["drain"] += 1

    def subscribe_later(*, kwargs, countdown):
        published["subscribe"].append(kwargs)

    monkeypatch.setattr(tasks.drain_signups, "delay", drain_delay)
    monkeypatch.setattr(tasks.subscribe, "apply_async", subscribe_later)
    return published


def _raw_lists() -> dict[str, list[bytes]]:
    client, cache = signups.ratelimit.redis_server()
    return {
        name: client.lrange(cache.make_key(name), 0, -1)
        for name in (signups.PENDING, signups.PROCESSING)
    }


def _push(key: str, sign_up: dict | str) -> None:
    client, cache = signups.ratelimit.redis_server()
    raw = sign_up if isinstance(sign_up, str) else json.dumps(sign_up)
    client.rpush(cache.make_key(key), raw)


def _queued_sign_up(client, email: str) -> dict:
    """The sign-up a real POST queues, taken back out of the queue."""
    assert subscribe(client, email=email).status_code == 302
    redis_client, cache = signups.ratelimit.redis_server()
    return json.loads(redis_client.rpop(cache.make_key(signups.PENDING)))


def test_it_queues_sign_ups_and_wakes_one_drain_per_batch(client, db, queue):
    for name in ("ada", "bob", "cy"):
        response = subscribe(client, email=f"{name}@example.org")
        assert (response.status_code, response["Location"]) == (302, "/subscribe/check-your-inbox")
    assert signups.waiting() == 3
    assert queue["drain"] == 1  # only the first found the queue empty
    assert not Subscriber.objects.exists()  # nothing written by the web requests
    assert mail.outbox == []

    assert signups.drain() == {"created": 3}

    assert signups.waiting() == 0
    assert sorted(Subscriber.objects.values_list("email", flat=True)) == [
        "ada@example.org",
        "bob@example.org",
        "cy@example.org",
    ]
    subscriber = Subscriber.objects.get(email="ada@example.org")
    assert subscriber.consent_ip == "203.0.113.7"
    assert subscriber.profile.categories == ["cs.LG", "cs.CL"]
    assert "Confirm" in only_message_to("ada@example.org").subject
    # The queue is empty again, so the next sign-up wakes a new drain.
    subscribe(client, email="dee@example.org")
    assert queue["drain"] == 2


def test_it_queues_nothing_for_a_honeypot_or_an_invalid_form(client, db, queue):
    assert subscribe(client, email="bot@example.org", website="http://spam").status_code == 302
    assert subscribe(client, email="not-an-address").status_code == 400
    assert signups.waiting() == 0
    assert queue["drain"] == 0


def test_it_subscribes_the_rest_when_one_sign_up_fails(client, db, queue):
    first = _queued_sign_up(client, "first@example.org")
    last = _queued_sign_up(client, "last@example.org")
    broken = {**first, "email": "broken@example.org", "consent": {"at": "not a time"}}
    for sign_up in (first, broken, "{not json", last):
        _push(signups.PENDING, sign_up)

    counts = signups.drain()

    assert counts == {"created": 2, "retried-as-task": 1, "unreadable": 1}
    assert set(Subscriber.objects.values_list("email", flat=True)) == {
        "first@example.org",
        "last@example.org",
    }
    assert len(mail.outbox) == 2
    # The failed one goes to accounts.tasks.subscribe, which retries it on its own.
    assert queue["subscribe"] == [broken]
    assert _raw_lists() == {signups.PENDING: [], signups.PROCESSING: []}


def test_it_starts_with_the_sign_up_a_dead_drain_was_working_on(client, db, queue):
    taken = _queued_sign_up(client, "taken@example.org")
    waiting = _queued_sign_up(client, "waiting@example.org")
    # A drain moved `taken` to the processing list, then its worker died.
    _push(signups.PROCESSING, taken)
    _push(signups.PENDING, waiting)

    assert signups.drain() == {"recovered": 1, "created": 2}

    emails = [m.to[0] for m in mail.outbox]
    assert emails == ["taken@example.org", "waiting@example.org"]
    assert _raw_lists() == {signups.PENDING: [], signups.PROCESSING: []}


def test_it_leaves_the_queue_to_the_drain_that_holds_the_lock(client, db, queue):
    _push(signups.PENDING, _queued_sign_up(client, "ada@example.org"))
    redis_client, cache = signups.ratelimit.redis_server()
    other_drain = redis_client.lock(cache.make_key(signups.DRAIN_LOCK), timeout=60)
    assert other_drain.acquire(blocking=False)

    assert signups.drain() == {}
    assert signups.waiting() == 1

    other_drain.release()
    assert signups.drain() == {"created": 1}


def test_it_hands_over_to_a_new_drain_when_its_time_is_up(client, db, queue):
    _push(signups.PENDING, _queued_sign_up(client, "ada@example.org"))
    woken = queue["drain"]

    assert signups.drain(seconds=0) == {"continued": 1}
    assert signups.waiting() == 1
    assert queue["drain"] == woken + 1


def test_the_periodic_drain_takes_a_sign_up_whose_wake_up_failed(client, db, queue, monkeypatch):
    def broker_down():
        raise OSError("connection refused")

    monkeypatch.setattr(tasks.drain_signups, "delay", broker_down)
    response = subscribe(client, email="ada@example.org")
    assert response.status_code == 302  # the sign-up is safe in the queue: no error page
    assert signups.waiting() == 1

    # What beat runs every minute (settings.CELERY_BEAT_SCHEDULE["drain-sign-ups"]).
    assert tasks.drain_signups.apply().get() == {"created": 1}
    assert Subscriber.objects.get().email == "ada@example.org"
    assert signups.waiting() == 0


def test_beat_runs_the_drain_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["drain-sign-ups"]
    assert entry["task"] == tasks.drain_signups.name
    assert entry["schedule"] == 60


def test_it_subscribes_at_once_without_a_broker(client, db, redis_cache, settings):
    # Eager Celery (no broker): the request runs accounts.tasks.subscribe in-process.
    assert settings.CELERY_TASK_ALWAYS_EAGER
    subscribe(client, email="ada@example.org")
    assert Subscriber.objects.get().email == "ada@example.org"
    assert signups.waiting() == 0
    assert "Confirm" in only_message_to("ada@example.org").subject
