"""Abuse and privacy: CSRF, rate limits, honeypot, no address enumeration, header injection,
and tokens that only ever work for their own subscriber and purpose."""

from __future__ import annotations

import uuid

import pytest
from django.core import mail, signing
from django.test import Client, override_settings

from accounts import ratelimit, tokens
from accounts.models import Subscriber
from recommender.models import Suppression
from tests.helpers import (
    form_data,
    sent_digest,
    subscribe,
)

pytestmark = pytest.mark.usefixtures("fresh_cache")


def test_it_requires_a_csrf_token_to_subscribe(db):
    response = Client(enforce_csrf_checks=True).post("/", form_data())
    assert response.status_code == 403
    assert not Subscriber.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("purpose", ["confirm", "preferences", "unsubscribe"])
def test_it_requires_a_csrf_token_on_every_button(make_subscriber, purpose):
    subscriber = make_subscriber(status=Subscriber.Status.PENDING)
    subscriber.status = Subscriber.Status.PENDING
    url = {
        "confirm": f"/confirm/{tokens.make_token(subscriber, 'confirm')}/",
        "preferences": f"/preferences/{tokens.make_token(subscriber, 'preferences')}/delete",
        "unsubscribe": f"/unsubscribe/{tokens.make_token(subscriber, 'unsubscribe')}/",
    }[purpose]
    response = Client(enforce_csrf_checks=True).post(url)
    assert response.status_code == 403
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING


@override_settings(SUBSCRIBE_LIMIT_PER_IP=2, SUBSCRIBE_LIMIT_PER_EMAIL=100)
def test_it_limits_subscribe_attempts_per_ip(client, db):
    for n in range(2):
        assert subscribe(client, email=f"person{n}@example.org").status_code == 302
    response = subscribe(client, email="person3@example.org", interests_text="kept text")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many requests from your network" in html
    assert "kept text" in html
    assert len(mail.outbox) == 2
    other_ip = client.post("/", form_data(email="x@example.org"), REMOTE_ADDR="192.0.2.1")
    assert other_ip.status_code == 302


@override_settings(SUBSCRIBE_LIMIT_PER_IP=100, SUBSCRIBE_LIMIT_PER_EMAIL=2)
def test_it_limits_emails_to_one_address_from_any_ip_without_saying_so(client, db):
    answers = [
        client.post("/", form_data(email="Victim@Example.org "), REMOTE_ADDR=f"192.0.2.{n}")
        for n in range(5)
    ]
    assert {a.status_code for a in answers} == {302}
    assert {a["Location"] for a in answers} == {"/subscribe/check-your-inbox"}
    assert len(mail.outbox) == 2


@override_settings(PREVIEW_LIMIT_PER_IP=3)
def test_it_limits_previews_per_ip(client, db):
    codes = [client.get("/preview", {"interests": f"topic {n}"}).status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]


@override_settings(SUBSCRIBE_LIMIT_PER_IP=100, SUBSCRIBE_LIMIT_PER_EMAIL=100)
def test_it_limits_link_requests_like_subscribes(client, make_subscriber):
    make_subscriber("known@example.org")
    with override_settings(SUBSCRIBE_LIMIT_PER_EMAIL=1):
        for _ in range(3):
            client.post("/manage", {"email": "known@example.org"})
    assert len(mail.outbox) == 1


def test_it_trusts_x_forwarded_for_only_when_told(rf):
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert ratelimit.client_ip(request) == "10.0.0.1"
    with override_settings(TRUST_X_FORWARDED_FOR=True):
        assert ratelimit.client_ip(request) == "203.0.113.9"
        forged = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="not-an-ip")
        assert ratelimit.client_ip(forged) is None


def test_it_records_consent_without_an_ip_when_there_is_none(client, db):
    client.post("/", form_data(), REMOTE_ADDR="")
    assert Subscriber.objects.get().consent_ip is None


def test_it_pretends_to_accept_a_filled_honeypot(client, db):
    normal = subscribe(client, email="person@example.org")
    bot = subscribe(client, email="bot@example.org", website="http://spam.example")
    assert (bot.status_code, bot["Location"]) == (normal.status_code, normal["Location"])
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["person@example.org"]
    assert [m.to for m in mail.outbox] == [["person@example.org"]]


@pytest.mark.parametrize(
    "state", ["new", "pending", "active", "paused", "unsubscribed", "suppressed"]
)
def test_it_answers_the_same_whether_or_not_the_address_is_known(client, make_subscriber, state):
    other = Client()
    baseline = other.post("/", form_data(email="fresh@example.org"))
    baseline_page = other.get(baseline["Location"]).content

    if state == "suppressed":
        Suppression.objects.create(email="ada@example.org", reason="bounce")
    elif state != "new":
        status = {"paused": "active"}.get(state, state)
        subscriber = make_subscriber("ada@example.org", status=status)
        if state == "paused":
            Subscriber.objects.filter(pk=subscriber.pk).update(paused_at=subscriber.created_at)
    response = subscribe(client)
    assert response.status_code == baseline.status_code == 302
    assert response["Location"] == baseline["Location"]
    assert set(response.cookies) <= set(baseline.cookies)
    # The page shows back the (masked) address that was typed, and nothing else differs.
    page = client.get(response["Location"]).content
    assert "a…@example.org".encode() in page
    assert page.replace("a…@example.org".encode(), b"ADDRESS") == baseline_page.replace(
        "f…@example.org".encode(), b"ADDRESS"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "ada@example.org\r\nBcc: victim@example.org"),
        ("email", "ada@example.org\nBcc: victim@example.org"),
        ("email", "ada@example.org\r\n"),
        ("keywords", "llm\r\nBcc: victim@example.org"),
        ("timezone", "UTC\r\nX-Injected: 1"),
        ("timezone", "UTC\n"),
    ],
)
def test_it_rejects_header_injection_attempts(client, db, field, value):
    response = subscribe(client, **{field: value})
    assert response.status_code == 400
    assert "Line breaks are not allowed" in response.content.decode()
    assert not Subscriber.objects.exists()
    assert mail.outbox == []


PURPOSE_URLS = {
    "confirm": "/confirm/{}/",
    "preferences": "/preferences/{}/",
    "unsubscribe": "/unsubscribe/{}/",
}


@pytest.mark.parametrize(
    ("made_for", "used_at"),
    [(a, b) for a in [*PURPOSE_URLS, "feedback"] for b in PURPOSE_URLS if a != b],
)
def test_it_refuses_a_token_made_for_another_purpose(client, make_subscriber, made_for, used_at):
    subscriber = make_subscriber(status=Subscriber.Status.PENDING)
    token = tokens.make_token(subscriber, made_for)
    url = PURPOSE_URLS[used_at].format(token)
    assert client.get(url).status_code == 400
    assert client.post(url).status_code == 400
    one_click = Client().post(f"/unsubscribe/{token}/one-click", {"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == (200 if made_for == "unsubscribe" else 400)


def test_it_refuses_a_token_made_for_another_subscriber(client, make_subscriber):
    alice = make_subscriber("alice@example.org")
    bob = make_subscriber("bob@example.org")
    # A validly signed token that names Bob's id with Alice's address tag (as if ids were
    # swapped) must not open Bob's page.
    signer = signing.TimestampSigner(salt="accounts.tokens.preferences")
    alice_token = tokens.make_token(alice, "preferences")
    alice_payload = signer.unsign_object(alice_token)
    forged = signer.sign_object({**alice_payload, "s": bob.pk}, compress=True)
    assert client.get(f"/preferences/{forged}/").status_code == 400
    assert client.get(f"/preferences/{alice_token}/").status_code == 200


def test_it_refuses_a_token_once_the_address_changed(client, make_subscriber):
    subscriber = make_subscriber("old@example.org")
    token = tokens.make_token(subscriber, "unsubscribe")
    Subscriber.objects.filter(pk=subscriber.pk).update(email="new@example.org")
    response = Client().post(f"/unsubscribe/{token}/one-click", {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 400
    assert Subscriber.objects.get().status == Subscriber.Status.ACTIVE


def test_it_refuses_a_feedback_link_for_another_subscribers_digest(
    client, make_subscriber, make_paper
):
    alice = make_subscriber("alice@example.org")
    bob = make_subscriber("bob@example.org")
    item = sent_digest(alice, make_paper).items.get()
    bobs_token = tokens.make_token(bob, "feedback", i=item.pk, k="up")
    assert client.post(f"/feedback/{bobs_token}/").status_code == 400


def test_it_keeps_tokens_out_of_referrers_and_caches(client, make_subscriber):
    subscriber = make_subscriber()
    response = client.get(tokens.preferences_path(subscriber))
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]


@pytest.mark.integration
def test_it_shares_rate_limits_between_workers_through_redis(db):
    from django.core.cache import caches

    from tests.services import delete_redis_keys, ensure_redis

    ensure_redis()
    redis_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
            "KEY_PREFIX": f"it-{uuid.uuid4().hex[:8]}",
        }
    }
    with override_settings(CACHES=redis_cache):
        # Two cache clients stand for two gunicorn workers: each counts into the same key.
        first_worker = caches.create_connection("default")
        allowed = [ratelimit.allow("t", "1.2.3.4", limit=3, window=60) for _ in range(2)]
        first_worker.incr(_bucket_key(first_worker), 1)
        allowed.append(ratelimit.allow("t", "1.2.3.4", limit=3, window=60))
        allowed.append(ratelimit.allow("t", "1.2.3.4", limit=3, window=60))
        backend = caches["default"]
        key = backend.make_and_validate_key(_bucket_key(first_worker))
        client = backend._cache.get_client(key)
        ttl = client.ttl(key)
        # Only this test's keys: clear() would flush the whole Redis database others share.
        delete_redis_keys(f"{redis_cache['default']['KEY_PREFIX']}:*")
    assert allowed == [True, True, False, False]
    assert 0 < ttl <= 61  # counters expire with their window


@pytest.mark.integration
def test_it_counts_the_ip_and_the_address_together_and_stops_at_the_first_refusal(redis_cache):
    from django.core.cache import cache

    per_ip = ratelimit.Limit("subscribe-ip", "192.0.2.9", limit=2, window=60)
    per_email = ratelimit.Limit("subscribe-email", "ada@example.org", limit=5, window=60)
    answers = [ratelimit.first_exceeded(per_ip, per_email) for _ in range(4)]
    assert answers == [None, None, per_ip, per_ip]
    # The refused attempts were not counted against the address.
    assert cache.get(per_ip.cache_key()) == 4
    assert cache.get(per_email.cache_key()) == 2
    client, backend = ratelimit.redis_server()
    assert 0 < client.ttl(backend.make_key(per_email.cache_key())) <= 61  # expires with its window


@pytest.mark.integration
@override_settings(SUBSCRIBE_LIMIT_PER_IP=3, SUBSCRIBE_LIMIT_PER_EMAIL=1)
def test_it_limits_subscribes_per_ip_and_per_address_with_redis(client, db, redis_cache):
    answers = [subscribe(client, email="ada@example.org").status_code for _ in range(4)]
    assert answers == [302, 302, 302, 429]
    assert [m.to for m in mail.outbox] == [["ada@example.org"]]
    assert client.post("/", form_data(), REMOTE_ADDR="192.0.2.1").status_code == 302
    assert len(mail.outbox) == 1


def _bucket_key(cache) -> str:
    import hashlib
    import time

    digest = hashlib.sha256(b"1.2.3.4").hexdigest()[:32]
    return f"ratelimit:t:{digest}:{int(time.time() // 60)}"


def test_it_gives_every_visitor_their_own_working_csrf_token(db):
    import re

    tokens_seen = []
    for email in ("one@example.org", "two@example.org"):
        browser = Client(enforce_csrf_checks=True)
        html = browser.get("/").content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        tokens_seen.append(token)
        response = browser.post("/", {**form_data(email=email), "csrfmiddlewaretoken": token})
        assert response.status_code == 302
    assert tokens_seen[0] != tokens_seen[1]
    assert Subscriber.objects.count() == 2


def test_it_does_the_same_work_in_the_request_for_any_address(
    client, make_subscriber, monkeypatch, django_assert_num_queries
):
    # The request only validates, counts and enqueues: no query whose timing could tell a
    # known address from an unknown one.
    make_subscriber("known@example.org")
    queued = []
    monkeypatch.setattr("accounts.tasks.subscribe.delay", lambda *args: queued.append(args))
    for email in ("known@example.org", "unknown@example.org"):
        with django_assert_num_queries(0):
            response = subscribe(client, email=email)
        assert response.status_code == 302
    assert [args[0] for args in queued] == ["known@example.org", "unknown@example.org"]
