"""Unsubscribe: a one-button page for people, RFC 8058 one-click POST for mail clients."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from accounts import tokens
from accounts.models import Subscriber
from recommender.models import DeliveryEvent, Digest, FeedbackEvent
from tests.helpers import (
    links_in,
    path_of,
    sent_digest,
)

pytestmark = pytest.mark.usefixtures("fresh_cache")


def _one_click_path(subscriber) -> str:
    return path_of(tokens.one_click_unsubscribe_url(subscriber))


def test_it_shows_one_button_and_changes_nothing_on_get(client, make_subscriber):
    subscriber = make_subscriber()
    for path in (path_of(tokens.unsubscribe_url(subscriber)), _one_click_path(subscriber)):
        response = client.get(path)
        assert response.status_code == 200
        assert ">Unsubscribe</button>" in response.content.decode()
    assert Subscriber.objects.get().status == Subscriber.Status.ACTIVE


def test_it_unsubscribes_with_the_button(client, make_subscriber):
    subscriber = make_subscriber()
    response = client.post(path_of(tokens.unsubscribe_url(subscriber)))
    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    assert subscriber.unsubscribed_at is not None
    assert subscriber.next_digest_at is None


def test_it_takes_a_one_click_post_without_cookies_or_csrf_token(make_subscriber):
    subscriber = make_subscriber()
    mail_client = Client(enforce_csrf_checks=True)
    response = mail_client.post(_one_click_path(subscriber), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert "Location" not in response
    assert not response.cookies
    assert Subscriber.objects.get().status == Subscriber.Status.UNSUBSCRIBED


def test_it_takes_a_one_click_post_sent_as_multipart(make_subscriber):
    subscriber = make_subscriber()
    response = Client(enforce_csrf_checks=True).post(
        _one_click_path(subscriber),
        '--b\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
        "One-Click\r\n--b--\r\n",
        content_type="multipart/form-data; boundary=b",
    )
    assert response.status_code == 200
    assert Subscriber.objects.get().status == Subscriber.Status.UNSUBSCRIBED


def test_it_is_harmless_to_repeat_one_click(make_subscriber):
    subscriber = make_subscriber()
    mail_client = Client(enforce_csrf_checks=True)
    mail_client.post(_one_click_path(subscriber), {"List-Unsubscribe": "One-Click"})
    first = Subscriber.objects.get().unsubscribed_at
    again = mail_client.post(_one_click_path(subscriber), {"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200
    assert Subscriber.objects.get().unsubscribed_at == first
    assert DeliveryEvent.objects.filter(kind=DeliveryEvent.Kind.UNSUBSCRIBED).count() == 1


def test_it_wants_the_rfc_8058_body_on_one_click(make_subscriber):
    subscriber = make_subscriber()
    response = Client().post(_one_click_path(subscriber), {"something": "else"})
    assert response.status_code == 400
    assert Subscriber.objects.get().status == Subscriber.Status.ACTIVE


def test_it_sends_no_digest_after_unsubscribing(make_subscriber, make_paper):
    subscriber = make_subscriber()
    Client().post(_one_click_path(subscriber), {"List-Unsubscribe": "One-Click"})
    digest = sent_digest(Subscriber.objects.get(), make_paper)
    assert digest.status == Digest.Status.SKIPPED
    assert mail.outbox == []


def test_it_puts_unsubscribe_headers_and_links_in_every_digest(make_subscriber, make_paper):
    subscriber = make_subscriber()
    sent_digest(subscriber, make_paper)
    (message,) = mail.outbox
    header = message.extra_headers["List-Unsubscribe"]
    assert header.startswith("<http://127.0.0.1:8000/unsubscribe/")
    assert header.endswith("/one-click>")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert links_in(message, "/unsubscribe/")
    assert links_in(message, "/preferences/")
    html = message.alternatives[0][0]
    assert ">Unsubscribe</a>" in html
    assert "Change your preferences" in html

    one_click = path_of(header.strip("<>"))
    # Signed with the email's other links (the short form, which has no colon), and it works.
    assert ":" not in one_click.removeprefix("/unsubscribe/")
    response = Client(enforce_csrf_checks=True).post(one_click, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Subscriber.objects.get().status == Subscriber.Status.UNSUBSCRIBED


def test_it_records_feedback_from_digest_links_on_post_only(client, make_subscriber, make_paper):
    subscriber = make_subscriber()
    sent_digest(subscriber, make_paper, titles=("Liked paper", "Disliked paper"))
    (message,) = mail.outbox
    more = links_in(message, "/feedback/")
    assert len(more) == 4  # two papers, "more" and "less" each
    up_first_paper = path_of(more[0])
    page = client.get(up_first_paper)
    assert page.status_code == 200
    assert "Yes, more like this" in page.content.decode()
    assert not FeedbackEvent.objects.exists()

    client.post(up_first_paper)
    client.post(up_first_paper)  # a double click records once
    client.post(path_of(more[3]))
    events = {(e.paper.title, e.kind) for e in FeedbackEvent.objects.all()}
    assert events == {("Liked paper", "up"), ("Disliked paper", "down")}
    assert FeedbackEvent.objects.count() == 2
