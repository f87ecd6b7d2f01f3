"""Subscribing: the landing form, the pending subscriber, the confirmation email, the preview."""

from __future__ import annotations

import pytest
from django.core import mail

from accounts.models import Subscriber
from accounts.references import paste_fingerprint
from digest_site.mailing.account_emails import send_account_email
from recommender.delivery.scheduling import claim_due_subscribers
from recommender.models import Suppression
from recommender.ranking.scoring import RankedPaper
from tests.helpers import (
    form_data,
    links_in,
    only_message_to,
    subscribe,
)

pytestmark = pytest.mark.usefixtures("fresh_cache")


def test_it_shows_the_form_and_says_what_happens_next(client, db):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "csrfmiddlewaretoken" in html
    assert "Confirm your address" in html
    assert "nothing else arrives until you click it" in html
    assert 'value="cs.LG"' in html
    assert "Machine Learning" in html
    assert 'name="website"' in html  # honeypot present
    assert 'href="#main"' in html  # skip link


def test_it_creates_a_pending_subscriber_and_emails_a_confirmation_link(client, db):
    response = subscribe(client)
    assert response.status_code == 302
    assert response["Location"] == "/subscribe/check-your-inbox"
    subscriber = Subscriber.objects.get(email="ada@example.org")
    assert subscriber.status == Subscriber.Status.PENDING
    assert subscriber.next_digest_at is None
    message = only_message_to("ada@example.org")
    assert "Confirm" in message.subject
    assert links_in(message, "/confirm/")
    html = message.alternatives[0][0]
    assert "Confirm my subscription" in html
    assert client.get(response["Location"]).status_code == 200


def test_it_records_consent_time_ip_agent_and_form_version(client, db):
    client.post("/", form_data(), REMOTE_ADDR="198.51.100.4", HTTP_USER_AGENT="Firefox/140")
    subscriber = Subscriber.objects.get()
    assert subscriber.consent_at is not None
    assert subscriber.consent_ip == "198.51.100.4"
    assert subscriber.consent_user_agent == "Firefox/140"
    assert subscriber.consent_source == "web-form v1"


def test_it_saves_the_profile_and_resolves_pasted_papers(client, make_paper):
    by_id = make_paper(arxiv_id="2503.11731", title="Some paper")
    by_title = make_paper(title="Attention Is All You Need")
    pasted = "arXiv:2503.11731v2\nattention is all you need\nA paper we do not hold"
    # Sent as after the review step that its unknown line brings (tests/web/test_paste_check.py).
    reviewed = paste_fingerprint(pasted)
    subscribe(
        client,
        seed_references=pasted,
        seed_reviewed=reviewed,
        frequency="weekly",
        send_weekday="4",
    )
    profile = Subscriber.objects.get().profile
    assert profile.interests_text.startswith("efficient inference")
    assert profile.keywords == ["LoRA", "speculative decoding"]
    assert profile.categories == ["cs.LG", "cs.CL"]
    assert profile.seed_references == pasted.splitlines()
    assert set(profile.seed_papers.all()) == {by_id, by_title}
    assert (profile.frequency, profile.send_weekday) == ("weekly", 4)
    assert (profile.timezone, profile.send_hour) == ("Europe/Berlin", 7)


def test_it_sends_nothing_else_until_confirmed(client, db):
    from django.utils import timezone

    subscribe(client)
    subscriber = Subscriber.objects.get()
    assert claim_due_subscribers(now=timezone.now()) == []
    assert send_account_email(subscriber, "already-subscribed") is False
    assert len(mail.outbox) == 1


def test_it_resends_the_confirmation_to_a_pending_address(client, db):
    subscribe(client)
    subscribe(client, interests_text="graph neural networks")
    assert [m.subject for m in mail.outbox] == ["Confirm your Paper Digest subscription"] * 2
    assert Subscriber.objects.get().profile.interests_text == "graph neural networks"


def test_it_tells_an_active_subscriber_without_touching_their_profile(client, make_subscriber):
    make_subscriber("ada@example.org", interests_text="protein folding")
    response = subscribe(client, interests_text="something an attacker typed")
    assert response["Location"] == "/subscribe/check-your-inbox"
    message = only_message_to("ada@example.org")
    assert "already subscribed" in message.body
    assert links_in(message, "/preferences/")
    assert not links_in(message, "/confirm/")
    assert Subscriber.objects.get().profile.interests_text == "protein folding"


def test_it_lets_an_unsubscribed_address_subscribe_again(client, make_subscriber):
    make_subscriber("ada@example.org", status=Subscriber.Status.UNSUBSCRIBED)
    subscribe(client)
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING
    assert links_in(only_message_to("ada@example.org"), "/confirm/")


def test_it_never_mails_a_suppressed_address(client, db):
    Suppression.objects.create(email="ada@example.org", reason=Suppression.Reason.BOUNCE)
    response = subscribe(client)
    assert response["Location"] == "/subscribe/check-your-inbox"
    assert mail.outbox == []
    assert not Subscriber.objects.exists()


def test_it_normalises_the_address(client, db):
    subscribe(client, email="  Ada@Example.ORG ")
    assert Subscriber.objects.get().email == "ada@example.org"


def test_it_previews_what_the_ranker_picks_for_the_typed_profile(client, make_paper, monkeypatch):
    paper = make_paper(title="Speculative decoding <fast>")
    calls = []

    def fake_preview(**kwargs):
        calls.append(kwargs)
        return [RankedPaper(paper, 1.0, "matches: decoding")]

    monkeypatch.setattr("accounts.views.preview_papers", fake_preview)
    response = client.get(
        "/preview",
        {
            "interests": "  speculative \n decoding ",
            "keywords": "a, b,",
            "categories": ["cs.LG", "x"],
        },
    )
    assert response.status_code == 200
    assert calls == [
        {
            "interests_text": "speculative decoding",
            "keywords": ["a", "b"],
            "categories": ["cs.LG"],
            "limit": 5,
        }
    ]
    html = response.content.decode()
    assert "Speculative decoding &lt;fast&gt;" in html
    assert "matches: decoding" in html
    assert 'href="https://arxiv.org/abs/2606.00001"' in html


def test_it_previews_with_the_real_ranker(client, make_paper):
    make_paper(title="Speculative decoding for quantization of transformers")
    html = client.get("/preview", {"interests": "speculative decoding"}).content.decode()
    assert "Speculative decoding for quantization of transformers" in html


def test_it_previews_nothing_for_an_empty_form_and_ignores_unknown_categories(client, make_paper):
    make_paper(title="Anything at all", categories=["cs.LG"])
    empty = client.get("/preview", {"interests": "", "categories": ["not.a-category"]})
    assert "Start typing" in empty.content.decode()


def test_it_caches_previews_briefly(client, make_paper, monkeypatch):
    paper = make_paper(title="Diffusion models for audio generation")
    calls = []

    def fake_preview(**kwargs):
        calls.append(kwargs)
        return [RankedPaper(paper, 1.0, "")]

    monkeypatch.setattr("accounts.views.preview_papers", fake_preview)
    first = client.get("/preview", {"interests": "diffusion audio"}).content.decode()
    again = client.get("/preview", {"interests": "Diffusion  audio"}).content.decode()
    assert "Diffusion models for audio" in first
    assert again == first
    assert len(calls) == 1


def test_it_queues_a_json_payload_the_worker_turns_back_into_a_subscription(
    client, make_paper, monkeypatch
):
    import json

    from accounts import tasks

    paper = make_paper(arxiv_id="2503.11731")
    queued = []
    monkeypatch.setattr(tasks.subscribe, "delay", lambda *args: queued.append(args))
    pasted = "arXiv:2503.11731v2\nSome title"
    subscribe(client, seed_references=pasted, seed_reviewed=paste_fingerprint(pasted))
    assert not Subscriber.objects.exists()  # nothing written by the web request
    (args,) = queued
    over_the_wire = json.loads(json.dumps(args))  # what Celery's JSON serializer does
    assert tasks.subscribe.run(*over_the_wire) == "created"
    subscriber = Subscriber.objects.get()
    assert subscriber.consent_ip == "203.0.113.7"
    assert subscriber.consent_at.isoformat() == args[2]["at"]
    assert subscriber.profile.seed_references == ["arXiv:2503.11731v2", "Some title"]
    assert list(subscriber.profile.seed_papers.all()) == [paper]
    assert links_in(only_message_to("ada@example.org"), "/confirm/")
