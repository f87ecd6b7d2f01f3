"""The preferences page behind the magic link: edit, see digests and ratings, pause, delete."""

from __future__ import annotations

import pytest

from accounts import tokens
from accounts.models import InterestProfile, Subscriber
from recommender.delivery.feedback import record_feedback
from recommender.models import DeliveryEvent, Digest, FeedbackEvent
from tests.helpers import (
    form_data,
    path_of,
    sent_digest,
)

pytestmark = pytest.mark.usefixtures("fresh_cache")


def _prefs(subscriber) -> str:
    return tokens.preferences_path(subscriber)


def _edit(**overrides) -> dict:
    data = form_data(**overrides)
    data.pop("email")
    data.pop("website")
    return data


def test_it_shows_the_profile_with_helpful_empty_states(client, make_subscriber):
    subscriber = make_subscriber(interests_text="protein folding", keywords=["AlphaFold"])
    html = client.get(_prefs(subscriber)).content.decode()
    assert "protein folding" in html
    assert 'value="AlphaFold"' in html
    assert "No digest yet" in html
    assert "None yet. Press “More like this”" in html
    assert "Delete all my data" in html
    assert "Pause digests" in html


def test_it_shows_recent_digests_and_rated_papers(client, make_subscriber, make_paper):
    subscriber = make_subscriber(interests_text="decoding")
    digest = sent_digest(subscriber, make_paper, titles=("Great decoding paper", "Dull paper"))
    great, dull = list(digest.items.order_by("rank"))
    record_feedback(subscriber=subscriber, paper=great.paper, kind="up", digest_item=great)
    record_feedback(subscriber=subscriber, paper=dull.paper, kind="down", digest_item=dull)
    html = client.get(_prefs(subscriber)).content.decode()
    assert "Wednesday 1 July 2026 · 2 papers" in html
    liked_section = html.split("More like these")[1].split("Less like these")[0]
    disliked_section = html.split("Less like these")[1]
    assert "Great decoding paper" in liked_section
    assert "Dull paper" not in liked_section
    assert "Dull paper" in disliked_section.split("Leave")[0]


def test_it_saves_edits_and_reschedules_the_next_digest(client, make_subscriber):
    subscriber = make_subscriber(interests_text="old interests")
    path = _prefs(subscriber)
    response = client.post(
        path,
        _edit(
            interests_text="new interests",
            frequency="weekly",
            send_weekday="2",
            timezone="Asia/Tokyo",
            send_hour="21",
            categories=["stat.ML"],
            keywords="a, b",
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == path
    profile = InterestProfile.objects.get()
    assert profile.interests_text == "new interests"
    assert (profile.frequency, profile.send_weekday, profile.send_hour) == ("weekly", 2, 21)
    assert profile.timezone == "Asia/Tokyo"
    assert profile.categories == ["stat.ML"]
    assert profile.keywords == ["a", "b"]
    subscriber.refresh_from_db()
    local = subscriber.next_digest_at.astimezone(profile.zone())
    assert (local.weekday(), local.hour) == (2, 21)
    assert "Saved." in client.get(path).content.decode()


def test_it_keeps_what_was_typed_and_explains_errors(client, make_subscriber):
    subscriber = make_subscriber(interests_text="kept")
    response = client.post(
        _prefs(subscriber), _edit(interests_text="x" * 2500, timezone="Mars/Base")
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Please keep this under 2,000 characters" in html
    assert "is not a time zone we know" in html
    assert 'value="Mars/Base"' in html
    assert InterestProfile.objects.get().interests_text == "kept"


def test_it_notes_pasted_papers_we_do_not_hold(client, make_subscriber, make_paper):
    make_paper(arxiv_id="2501.00001", title="Known paper")
    subscriber = make_subscriber()
    client.post(_prefs(subscriber), _edit(seed_references="2501.00001\n2502.99999"))
    html = client.get(_prefs(subscriber)).content.decode()
    assert "2 lines: 1 found, 1 not in our library yet." in html
    assert "arXiv id 2502.99999 is not in our library yet" in html
    assert "Known paper" in html


def test_it_pauses_and_resumes(client, make_subscriber):
    subscriber = make_subscriber()
    pause = f"/preferences/{tokens.make_token(subscriber, 'preferences')}/pause"
    client.post(pause, {"action": "pause"})
    subscriber.refresh_from_db()
    assert subscriber.paused_at is not None
    assert not subscriber.receives_digests
    assert "Resume digests" in client.get(_prefs(subscriber)).content.decode()
    client.post(pause, {"action": "resume"})
    subscriber.refresh_from_db()
    assert subscriber.receives_digests
    assert subscriber.next_digest_at is not None


def test_it_lets_an_unsubscribed_reader_come_back(client, make_subscriber):
    subscriber = make_subscriber(status=Subscriber.Status.UNSUBSCRIBED)
    html = client.get(_prefs(subscriber)).content.decode()
    assert "Subscribe again" in html
    client.post(f"{_prefs(subscriber)}pause", {"action": "resume"})
    assert Subscriber.objects.get().status == Subscriber.Status.ACTIVE


def test_it_deletes_all_data_after_a_confirming_post(client, make_subscriber, make_paper):
    subscriber = make_subscriber()
    other = make_subscriber("other@example.org")
    digest = sent_digest(subscriber, make_paper)
    item = digest.items.get()
    record_feedback(subscriber=subscriber, paper=item.paper, kind="up", digest_item=item)
    delete = f"{_prefs(subscriber)}delete"
    assert "Delete everything" in client.get(delete).content.decode()
    assert Subscriber.objects.filter(pk=subscriber.pk).exists()

    response = client.post(delete)
    assert response.status_code == 200
    assert "Your data is deleted" in response.content.decode()
    assert list(Subscriber.objects.all()) == [other]
    assert not InterestProfile.objects.filter(subscriber_id=subscriber.pk).exists()
    assert not Digest.objects.exists()
    assert not FeedbackEvent.objects.exists()
    assert not DeliveryEvent.objects.filter(email="reader@example.com").exists()
    # The old link now leads nowhere.
    assert client.get(_prefs(subscriber)).status_code == 400


def test_it_rejects_an_expired_or_foreign_link(client, make_subscriber):
    subscriber = make_subscriber()
    unsubscribe_token = tokens.make_token(subscriber, "unsubscribe")
    response = client.get(f"/preferences/{unsubscribe_token}/")
    assert response.status_code == 400
    assert "Email me a new link" in response.content.decode()


def test_it_emails_a_fresh_link_on_request_without_saying_whom_we_know(client, make_subscriber):
    from django.core import mail

    make_subscriber("known@example.org")
    known = client.post("/manage", {"email": "known@example.org"})
    unknown = client.post("/manage", {"email": "stranger@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    (message,) = mail.outbox
    assert message.to == ["known@example.org"]
    link = next(line for line in message.body.split() if "/preferences/" in line)
    assert client.get(path_of(link)).status_code == 200


def test_it_explains_a_bad_address_on_the_link_request_page(client, db):
    response = client.post("/manage", {"email": "nobody-at-example"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_email-error"' in html
    assert 'value="nobody-at-example"' in html
