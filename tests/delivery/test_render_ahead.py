"""A chunk's emails are rendered ahead in a helper thread while the previous one is sent: each
reader still gets their own digest, the helper never queries the database, and a render that
fails there is done again where it always was, with the outcome it always had."""

from __future__ import annotations

import threading

import pytest
from django.core import mail

from accounts.models import Subscriber
from recommender.delivery import render_ahead, sending
from recommender.models import Digest
from tests.delivery.test_chunk_batching import dispatched, due, papers  # noqa: F401


@pytest.fixture
def helpers(monkeypatch):
    """Every RenderAhead a chunk makes, and the thread each email was rendered on."""
    made: list[render_ahead.RenderAhead] = []
    threads: dict[str, str] = {}
    original_init = render_ahead.RenderAhead.__init__

    def init(self, render):
        def recording(digest, items, subscriber):
            message = render(digest, items, subscriber)
            threads[subscriber.email] = threading.current_thread().name
            return message

        original_init(self, recording)
        made.append(self)

    monkeypatch.setattr(render_ahead.RenderAhead, "__init__", init)
    return made, threads


def test_every_email_is_rendered_ahead_and_reaches_its_own_reader(due, helpers, settings):  # noqa: F811
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    addresses = due("reader", 6)
    made, threads = helpers

    counts = sending.deliver_chunk(dispatched())

    assert counts["sent"] == 6
    ((ahead,),) = [made]
    assert (ahead.ahead, ahead.here) == (6, 0)
    assert set(threads) == set(addresses)
    assert all(name.startswith("render-ahead") for name in threads.values())
    # Each email went to the reader it was rendered for: their own unsubscribe link and
    # their own address in To.
    for message in mail.outbox:
        (to,) = message.to
        reader = Subscriber.objects.get(email=to)
        assert f"/unsubscribe/{reader.pk}." in message.body
    assert sorted(m.to[0] for m in mail.outbox) == sorted(addresses)


def test_a_render_that_queries_is_done_again_in_the_sending_thread(
    due,  # noqa: F811
    helpers,
    monkeypatch,
    settings,
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    addresses = due("reader", 3)
    made, threads = helpers
    original = sending.digest_message

    def querying(digest, items, subscriber):
        Subscriber.objects.filter(pk=subscriber.pk).exists()  # refused in the helper thread
        return original(digest, items, subscriber)

    monkeypatch.setattr(sending, "digest_message", querying)
    counts = sending.deliver_chunk(dispatched())

    assert counts["sent"] == 3
    ((ahead,),) = [made]
    assert (ahead.ahead, ahead.here) == (0, 3)
    assert set(threads.values()) == {threading.main_thread().name}
    assert sorted(m.to[0] for m in mail.outbox) == sorted(addresses)


def test_a_render_that_fails_everywhere_fails_the_digest_as_before(
    due,  # noqa: F811
    helpers,
    monkeypatch,
    settings,
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    addresses = due("reader", 3)
    broken = addresses[1]
    original = sending.digest_message

    def failing_for_one(digest, items, subscriber):
        if subscriber.email == broken:
            raise ValueError("template error")
        return original(digest, items, subscriber)

    monkeypatch.setattr(sending, "digest_message", failing_for_one)
    counts = sending.deliver_chunk(dispatched())

    assert (counts["sent"], counts["retry"]) == (2, 1)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(a for a in addresses if a != broken)
    digest = Digest.objects.get(subscriber__email=broken)
    assert digest.status == Digest.Status.BUILT  # back for a later attempt, as before
    assert "template error" in digest.last_error
