"""Changing the address from the preferences page: a link to the new address, one button there,
the change on POST, a note to the old address."""

from __future__ import annotations

import html
import json
import time
import zlib
from unittest import mock

import pytest
from django.core import mail, signing
from django.test import Client, override_settings

from accounts import services, tokens
from accounts.models import Subscriber
from recommender.models import DeliveryEvent, Suppression
from tests.helpers import (
    links_in,
    only_message_to,
    path_of,
    sent_digest,
)

pytestmark = pytest.mark.usefixtures("fresh_cache")

OLD = "old@example.org"
NEW = "new@example.org"


def _ask(client, subscriber, new_email=NEW, *, ip="203.0.113.7"):
    path = tokens.preferences_path(subscriber) + "email"
    return client.post(path, {"new_email": new_email}, REMOTE_ADDR=ip)


def _link_path(address=NEW) -> str:
    (url,) = links_in(only_message_to(address), "/change-email/")
    return path_of(url)


def _page(response) -> str:
    return html.unescape(response.content.decode())


def _email_of(subscriber) -> str:
    subscriber.refresh_from_db()
    return subscriber.email


def _preferences_of(location: str) -> Subscriber:
    """Whose preferences page a redirect opens. Compared by reading its token, not as a string:
    a token made a second later differs in its timestamp."""
    prefix, token, suffix = location.split("/", 3)[1:]
    assert (prefix, suffix) in {("preferences", ""), ("preferences", "#main")}
    return tokens.read_token(token, "preferences").subscriber


def _change_token(subscriber, new_email=NEW) -> str:
    """A change-email token as the worker makes it, after recording the request on the row."""
    subscriber.pending_email = new_email
    subscriber.save()
    return tokens.change_email_token(subscriber)


def _token_of(path: str) -> str:
    return path.removeprefix("/change-email/").removesuffix("/")


def _signed_part(token: str) -> bytes:
    """What the signed token holds, decoded without its key, as anyone reading the URL could."""
    encoded = token.split(":")[0]
    data = signing.b64_decode(encoded.removeprefix(".").encode())
    return zlib.decompress(data) if encoded.startswith(".") else data


def test_it_mails_a_link_to_the_new_address_and_changes_nothing_yet(client, make_subscriber):
    subscriber = make_subscriber(OLD)
    response = _ask(client, subscriber, " New@Example.org ")
    assert response.status_code == 302
    assert response["Location"].endswith("/#main")
    assert _preferences_of(response["Location"]) == subscriber
    page = _page(client.get(response["Location"]))
    assert f"Check your new inbox: we sent an email to {NEW}" in page
    assert f"everything keeps going to {OLD}" in page

    message = only_message_to(NEW)
    assert message.subject == "Confirm your new address for Paper Digest"
    assert "works for 3 days" in message.body
    assert _link_path().startswith("/change-email/")
    assert [m.to for m in mail.outbox] == [[NEW]]
    assert _email_of(subscriber) == OLD
    assert subscriber.pending_email == NEW
    assert subscriber.pending_email_requested_at is not None


def test_it_keeps_the_new_address_out_of_the_link(client, make_subscriber):
    new = "Rosalind.Franklin@Kings.example"
    subscriber = make_subscriber(OLD)
    _ask(client, subscriber, new)
    path = _link_path(new.lower())
    for part in ("rosalind", "franklin", "kings.example", "%40"):
        assert part not in path.lower()
    token = _token_of(path)
    decoded = _signed_part(token).decode().lower()
    assert json.loads(decoded).keys() == {"s", "e", "p"}
    for part in ("rosalind", "franklin", "kings", "@"):
        assert part not in decoded
    signer = signing.TimestampSigner(salt="accounts.tokens.change-email")
    assert signer.unsign_object(token)["s"] == subscriber.pk
    assert "Yes, use this address" in _page(client.get(path))


def test_it_voids_the_first_link_when_another_address_is_asked_for(
    client, make_subscriber, django_capture_on_commit_callbacks
):
    subscriber = make_subscriber(OLD)
    _ask(client, subscriber)
    first = _link_path()
    _ask(client, subscriber, "newer@example.org")
    second = _link_path("newer@example.org")
    for response in (client.get(first), client.post(first)):
        assert response.status_code == 400
        assert "This link is not valid any more" in _page(response)
    assert _email_of(subscriber) == OLD
    assert subscriber.pending_email == "newer@example.org"

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(second).status_code == 302
    assert _email_of(subscriber) == "newer@example.org"
    assert (subscriber.pending_email, subscriber.pending_email_requested_at) == ("", None)
    assert client.post(first).status_code == 400
    assert DeliveryEvent.objects.get().email == "newer@example.org"


def test_it_voids_the_link_when_a_taken_address_is_asked_for_next(client, make_subscriber):
    subscriber = make_subscriber(OLD)
    make_subscriber("taken@example.org")
    _ask(client, subscriber)
    path = _link_path()
    _ask(client, subscriber, "taken@example.org")
    assert client.post(path).status_code == 400
    assert (_email_of(subscriber), subscriber.pending_email) == (OLD, "")


def test_it_changes_nothing_when_the_pending_address_is_replaced_mid_click(make_subscriber):
    subscriber = make_subscriber(OLD)
    _change_token(subscriber)
    reader = Subscriber.objects.get(pk=subscriber.pk)  # as the view read it
    Subscriber.objects.filter(pk=subscriber.pk).update(pending_email="newer@example.org")
    outcome = services.subscriber_change_email(subscriber=reader, new_email=NEW)
    assert outcome == "stale"
    assert (_email_of(subscriber), subscriber.pending_email) == (OLD, "newer@example.org")
    assert not DeliveryEvent.objects.exists()


def test_it_shows_one_button_on_get_and_changes_nothing(client, make_subscriber):
    subscriber = make_subscriber(OLD)
    _ask(Client(), subscriber)
    response = client.get(_link_path())
    assert response.status_code == 200
    page = _page(response)
    assert "Yes, use this address" in page
    assert f"<strong>{NEW}</strong>" in page
    assert "o…@example.org" in page
    assert OLD not in page  # only the masked old address, to whoever holds the new mailbox
    assert "no-store" in response["Cache-Control"]
    assert _email_of(subscriber) == OLD
    assert not DeliveryEvent.objects.exists()
    assert len(mail.outbox) == 1


def test_it_changes_the_address_on_post_and_tells_the_old_one(
    client, make_subscriber, django_capture_on_commit_callbacks
):
    subscriber = make_subscriber(OLD)
    old_preferences = tokens.preferences_path(subscriber)
    _ask(client, subscriber)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_link_path(), REMOTE_ADDR="198.51.100.4")

    assert _email_of(subscriber) == NEW
    assert response.status_code == 302
    assert _preferences_of(response["Location"]) == subscriber
    page = _page(client.get(response["Location"]))
    assert f"Done: your digests now go to {NEW}" in page
    assert f'<p class="muted">{NEW}' in page

    notice = only_message_to(OLD)
    assert notice.subject == "Your Paper Digest address was changed"
    assert "moved to a new address, n…@example.org" in notice.body
    assert NEW not in notice.body
    assert NEW not in notice.alternatives[0][0]
    event = DeliveryEvent.objects.get()
    assert (event.kind, event.email) == (DeliveryEvent.Kind.EMAIL_CHANGED, NEW)
    assert event.detail == f"from {OLD}, confirmed from IP 198.51.100.4"
    # Links mailed to the old address stop working.
    assert client.get(old_preferences).status_code == 400


def test_it_counts_a_second_click_as_done(
    client, make_subscriber, django_capture_on_commit_callbacks
):
    subscriber = make_subscriber(OLD)
    _ask(client, subscriber)
    path = _link_path()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(path)
        again = client.post(path)
    assert again.status_code == 302
    assert _preferences_of(again["Location"]) == subscriber
    assert f"Done already: your digests go to {NEW}" in _page(client.get(again["Location"]))
    assert len([m for m in mail.outbox if m.to == [OLD]]) == 1
    assert DeliveryEvent.objects.count() == 1


@pytest.mark.parametrize(
    "value",
    [
        "new@example.org\r\nBcc: victim@example.org",
        "new@example.org\nBcc: victim@example.org",
        "new@example.org\r\n",
    ],
)
def test_it_rejects_header_injection_attempts(client, make_subscriber, value):
    subscriber = make_subscriber(OLD)
    response = _ask(client, subscriber, value)
    assert response.status_code == 400
    page = _page(response)
    assert 'id="id_new_email-error"><li>Line breaks are not allowed in this field.</li>' in page
    assert mail.outbox == []
    assert _email_of(subscriber) == OLD


def test_it_explains_a_bad_address_next_to_the_field_and_keeps_it(client, make_subscriber):
    subscriber = make_subscriber(OLD, interests_text="protein folding")
    response = _ask(client, subscriber, "not-an-address")
    assert response.status_code == 400
    page = _page(response)
    assert "That does not look like an email address" in page
    assert 'value="not-an-address"' in page
    assert 'aria-describedby="id_new_email-help id_new_email-error"' in page
    assert 'aria-invalid="true"' in page
    assert "protein folding" in page  # the rest of the page is still there
    assert "no-store" in response["Cache-Control"]
    assert mail.outbox == []


def test_it_refuses_the_current_address(client, make_subscriber):
    subscriber = make_subscriber(OLD)
    response = _ask(client, subscriber, "Old@Example.org")
    assert response.status_code == 400
    assert "That is already your address." in _page(response)
    assert mail.outbox == []


def test_it_answers_the_same_when_the_new_address_is_taken(client, make_subscriber):
    subscriber = make_subscriber(OLD)
    make_subscriber("taken@example.org")
    free = _ask(Client(), subscriber, "free@example.org")
    taken = _ask(client, subscriber, "taken@example.org")
    assert (taken.status_code, _preferences_of(taken["Location"])) == (
        free.status_code,
        _preferences_of(free["Location"]),
    )
    page = _page(client.get(taken["Location"]))
    assert "Check your new inbox: we sent an email to taken@example.org" in page

    note = only_message_to("taken@example.org")
    assert "already has a subscription of its own" in note.body
    assert links_in(note, "/change-email/") == []
    assert links_in(note, "/preferences/")
    assert _email_of(subscriber) == OLD


def test_it_refuses_an_address_taken_after_the_link_was_sent(client, make_subscriber):
    subscriber = make_subscriber(OLD)
    _ask(client, subscriber)
    path = _link_path()
    make_subscriber(NEW)
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 409
        page = _page(response)
        assert f"<strong>{NEW}</strong> already has a subscription of its own" in page
        assert "Yes, use this address" not in page
    assert _email_of(subscriber) == OLD
    assert not DeliveryEvent.objects.exists()
    assert len(mail.outbox) == 1


def test_it_sends_nothing_to_a_suppressed_address_and_refuses_its_link(client, make_subscriber):
    subscriber = make_subscriber(OLD)
    Suppression.objects.create(email="bounced@example.org", reason="bounce")
    response = _ask(client, subscriber, "bounced@example.org")
    assert response.status_code == 302
    assert mail.outbox == []

    _ask(client, subscriber)
    path = _link_path()
    Suppression.objects.create(email=NEW, reason="complaint")
    response = client.post(path)
    assert response.status_code == 409
    assert "bounced or were reported as spam" in _page(response)
    assert _email_of(subscriber) == OLD


def test_it_rejects_an_expired_link(client, make_subscriber):
    subscriber = make_subscriber(OLD)
    four_days_ago = time.time() - 4 * 86400
    with mock.patch("django.core.signing.time.time", return_value=four_days_ago):
        token = _change_token(subscriber)
    for response in (client.get(f"/change-email/{token}/"), client.post(f"/change-email/{token}/")):
        assert response.status_code == 400
        assert "This link has expired" in _page(response)
    assert _email_of(subscriber) == OLD


@pytest.mark.parametrize("purpose", ["preferences", "confirm", "unsubscribe"])
def test_it_rejects_a_token_made_for_another_purpose(client, make_subscriber, purpose):
    subscriber = make_subscriber(OLD)
    payload = signing.TimestampSigner(salt="accounts.tokens.change-email").unsign_object(
        _change_token(subscriber)
    )
    token = tokens.make_token(subscriber, purpose, p=payload["p"])
    response = client.post(f"/change-email/{token}/")
    assert response.status_code == 400
    assert "This link does not work" in _page(response)
    assert _email_of(subscriber) == OLD


def test_it_does_not_open_preferences_with_a_change_email_token(client, make_subscriber):
    subscriber = make_subscriber(OLD)
    token = _change_token(subscriber)
    assert client.get(f"/preferences/{token}/").status_code == 400
    assert client.post(f"/preferences/{token}/email", {"new_email": NEW}).status_code == 400
    assert mail.outbox == []


def test_it_rejects_a_token_made_for_another_subscriber_or_tampered(client, make_subscriber):
    alice = make_subscriber("alice@example.org")
    bob = make_subscriber("bob@example.org")
    _change_token(bob)  # bob has a change pending too, to the same address
    signer = signing.TimestampSigner(salt="accounts.tokens.change-email")
    alice_token = _change_token(alice)
    forged = signer.sign_object({**signer.unsign_object(alice_token), "s": bob.pk}, compress=True)
    assert client.post(f"/change-email/{forged}/").status_code == 400
    assert client.post(f"/change-email/{alice_token[:-3]}xx/").status_code == 400
    assert (_email_of(alice), _email_of(bob)) == ("alice@example.org", "bob@example.org")


@override_settings(SUBSCRIBE_LIMIT_PER_IP=2, SUBSCRIBE_LIMIT_PER_EMAIL=100)
def test_it_limits_change_requests_per_ip(client, make_subscriber):
    subscriber = make_subscriber(OLD)
    for n in range(2):
        assert _ask(client, subscriber, f"new{n}@example.org").status_code == 302
    response = _ask(client, subscriber, "new3@example.org")
    assert response.status_code == 429
    page = _page(response)
    assert "Too many requests from your network" in page
    assert 'value="new3@example.org"' in page
    assert len(mail.outbox) == 2
    assert _ask(client, subscriber, "new4@example.org", ip="192.0.2.1").status_code == 302


@override_settings(SUBSCRIBE_LIMIT_PER_IP=100, SUBSCRIBE_LIMIT_PER_EMAIL=2)
def test_it_limits_emails_to_one_new_address_without_saying_so(client, make_subscriber):
    subscriber = make_subscriber(OLD)
    answers = [_ask(client, subscriber, NEW, ip=f"192.0.2.{n}") for n in range(4)]
    assert {a.status_code for a in answers} == {302}
    assert {_preferences_of(a["Location"]) for a in answers} == {subscriber}
    assert len(mail.outbox) == 2


def test_it_requires_a_csrf_token_for_both_steps(make_subscriber):
    subscriber = make_subscriber(OLD)
    strict = Client(enforce_csrf_checks=True)
    assert _ask(strict, subscriber).status_code == 403
    assert mail.outbox == []
    token = _change_token(subscriber)
    assert strict.post(f"/change-email/{token}/").status_code == 403
    assert _email_of(subscriber) == OLD


def test_it_offers_no_change_to_a_stopped_subscription(client, make_subscriber):
    subscriber = make_subscriber(OLD, status=Subscriber.Status.SUPPRESSED)
    assert "Change email address" not in _page(client.get(tokens.preferences_path(subscriber)))
    assert _ask(client, subscriber).status_code == 400
    token = _change_token(subscriber)
    assert client.post(f"/change-email/{token}/").status_code == 409
    assert mail.outbox == []
    assert _email_of(subscriber) == OLD


def test_it_deletes_the_delivery_log_of_the_old_address_with_the_data(
    client, make_subscriber, make_paper
):
    subscriber = make_subscriber(OLD)
    sent_digest(subscriber, make_paper)
    assert DeliveryEvent.objects.filter(email=OLD).exists()
    _ask(client, subscriber)
    client.post(_link_path())
    client.post(tokens.preferences_path(_reloaded(subscriber)) + "delete")
    assert not Subscriber.objects.exists()
    assert not DeliveryEvent.objects.exists()


def test_it_forgets_a_pending_address_with_the_data(client, make_subscriber):
    subscriber = make_subscriber(OLD)
    _ask(client, subscriber)
    path = _link_path()
    assert _reloaded(subscriber).pending_email == NEW
    client.post(tokens.preferences_path(subscriber) + "delete")
    assert not Subscriber.objects.filter(pending_email=NEW).exists()
    assert not Subscriber.objects.exists()
    assert client.post(path).status_code == 400


def _reloaded(subscriber):
    subscriber.refresh_from_db()
    return subscriber
