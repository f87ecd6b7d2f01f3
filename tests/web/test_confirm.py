"""Double opt-in: the confirmation link shows a button; only its POST activates."""

from __future__ import annotations

import time
from unittest import mock

import pytest
from django.core import mail

from accounts import tokens
from accounts.models import Subscriber
from tests.helpers import (
    confirm_via_email,
    links_in,
    only_message_to,
    path_of,
    subscribe,
)

pytestmark = pytest.mark.usefixtures("fresh_cache")


def _confirm_path(client) -> str:
    subscribe(client)
    return path_of(links_in(only_message_to("ada@example.org"), "/confirm/")[0])


def test_it_shows_a_button_and_changes_nothing_on_get(client, db):
    path = _confirm_path(client)
    response = client.get(path)
    assert response.status_code == 200
    assert "Yes, start my digest" in response.content.decode()
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING


def test_it_activates_on_post_and_lands_on_the_preferences_page(client, db):
    path = _confirm_path(client)
    response = client.post(path)
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert subscriber.confirmed_at is not None
    assert subscriber.next_digest_at == subscriber.profile.next_send_after(subscriber.confirmed_at)
    assert response.status_code == 302
    assert response["Location"].startswith("/preferences/")
    page = client.get(response["Location"]).content.decode()
    assert "You are subscribed" in page
    assert "Active." in page


def test_it_activates_once_when_the_button_is_pressed_twice(client, db):
    path = _confirm_path(client)
    client.post(path)
    first = Subscriber.objects.get().confirmed_at
    again = client.post(path)
    assert again.status_code == 302
    assert again["Location"].startswith("/preferences/")
    assert Subscriber.objects.get().confirmed_at == first


def test_it_rejects_an_expired_confirmation_link(client, db):
    subscribe(client)
    subscriber = Subscriber.objects.get()
    four_days_ago = time.time() - 4 * 86400
    with mock.patch("django.core.signing.time.time", return_value=four_days_ago):
        old_token = tokens.make_token(subscriber, "confirm")
    response = client.post(f"/confirm/{old_token}/")
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING


def test_it_rejects_a_tampered_link(client, db):
    path = _confirm_path(client)
    response = client.post(path[:-3] + "xx/")
    assert response.status_code == 400
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING


def test_it_does_not_reactivate_an_address_that_unsubscribed_since(client, db):
    path = _confirm_path(client)
    Subscriber.objects.update(status=Subscriber.Status.UNSUBSCRIBED)
    response = client.post(path)
    assert response.status_code == 400
    assert Subscriber.objects.get().status == Subscriber.Status.UNSUBSCRIBED


def test_it_follows_the_emailed_link_end_to_end(client, db):
    subscribe(client)
    confirm_via_email(client)
    assert Subscriber.objects.get().receives_digests
    assert len(mail.outbox) == 1  # confirming sends nothing more


def test_it_sends_the_first_digest_right_after_confirming(
    client, db, make_paper, django_capture_on_commit_callbacks
):
    make_paper(
        title="Speculative decoding with draft trees",
        abstract="Speculative decoding speeds up inference of large language models.",
        categories=["cs.CL"],
    )
    path = _confirm_path(client)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(path)

    digests = [m for m in mail.outbox if m.to == ["ada@example.org"] and "/confirm/" not in m.body]
    assert len(digests) == 1
    assert "Speculative decoding with draft trees" in digests[0].body
    # The scheduled run later the same local day finds today's digest and sends nothing more.
    from recommender.delivery import sending

    subscriber = Subscriber.objects.get()
    counts = sending.build_and_send([subscriber], moment=subscriber.confirmed_at)
    assert counts["sent"] == 0
    assert len(mail.outbox) == 2
