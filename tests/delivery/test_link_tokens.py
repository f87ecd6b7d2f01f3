"""The signed links of a digest email (accounts.tokens.LinkSigner): the short form every email
now carries, the older form still in inboxes, and what neither lets through."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import tokens
from accounts.models import Subscriber
from recommender.models import Digest, FeedbackEvent
from tests.helpers import links_in, only_message_to, path_of, sent_digest

pytestmark = pytest.mark.usefixtures("fresh_cache")


@pytest.fixture
def digest(make_subscriber, make_paper):
    digest = sent_digest(make_subscriber(), make_paper, titles=("Paper one", "Paper two"))
    # Read an hour later: a click then counts (one on delivery would be a link scanner's).
    Digest.objects.filter(pk=digest.pk).update(sent_at=timezone.now() - timedelta(hours=1))
    return digest


def emailed(path_part: str) -> list[str]:
    return [path_of(url) for url in links_in(only_message_to("reader@example.com"), path_part)]


def token_of(path: str) -> str:
    return path.split("/")[2]


def test_every_link_in_the_email_is_short_and_works(client, digest):
    more = emailed("/feedback/")[0]
    paths = {
        "open": emailed("/open/")[0],
        "feedback": more,
        "digest": emailed("/digest/")[0],
        "preferences": emailed("/preferences/")[0],
        "unsubscribe": emailed("/unsubscribe/")[0],
    }
    for path in paths.values():
        assert ":" not in token_of(path)  # not the older TimestampSigner form
        assert len(token_of(path)) < 80
    assert client.get(paths["open"])["Location"] == digest.items.get(rank=1).paper.url
    for name in ("feedback", "digest", "preferences", "unsubscribe"):
        assert client.get(paths[name]).status_code == 200, name
    assert client.post(more).status_code == 200
    kinds = sorted(FeedbackEvent.objects.values_list("kind", flat=True))
    assert kinds == ["click", "up"]


def test_links_made_the_older_way_still_work(client, digest):
    reader, item = digest.subscriber, digest.items.get(rank=2)
    old = {
        "open": tokens.make_token(reader, "open", i=item.pk),
        "feedback": tokens.make_token(reader, "feedback", i=item.pk, k="down"),
        "digest": tokens.make_token(reader, "digest", d=digest.pk),
        "preferences": tokens.make_token(reader, "preferences"),
        "unsubscribe": tokens.make_token(reader, "unsubscribe"),
    }
    assert all(":" in token for token in old.values())
    assert client.get(f"/open/{old['open']}/")["Location"] == item.paper.url
    assert client.get(f"/digest/{old['digest']}/").status_code == 200
    assert client.get(f"/preferences/{old['preferences']}/").status_code == 200
    assert client.get(f"/unsubscribe/{old['unsubscribe']}/").status_code == 200
    assert client.post(f"/feedback/{old['feedback']}/").status_code == 200
    kinds = sorted(FeedbackEvent.objects.values_list("kind", flat=True))
    assert kinds == ["click", "down"]


def test_a_tampered_link_is_refused(client, digest, make_subscriber):
    path = emailed("/feedback/")[0]  # "More like this" on the first paper
    token = token_of(path)
    other_item = digest.items.get(rank=2)
    make_subscriber("someone@example.com")
    head, signature = token.rsplit(".", 1)
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    forgeries = [
        f"{head}.{flipped}",  # the signature
        re.sub(r"\.i\d+", f".i{other_item.pk}", token),  # another paper of the digest
        token.replace(".kup", ".kdown"),  # the other button
        re.sub(r"^\d+", str(Subscriber.objects.get(email="someone@example.com").pk), token),
        re.sub(r"^(\d+)\.\w+", r"\1.2", token),  # the timestamp
        f"{head}.x1.{signature}",  # a field added
        f"{head}.{signature}x",
        token[:-10],
    ]
    for forged in forgeries:
        assert forged != token
        response = client.post(f"/feedback/{forged}/")
        assert response.status_code == 400, forged
        assert "not valid" in response.content.decode()
    assert not FeedbackEvent.objects.exists()


def test_a_link_works_only_for_its_own_purpose(client, digest):
    unsubscribe = token_of(emailed("/unsubscribe/")[0])
    feedback = token_of(emailed("/feedback/")[0])
    opened = token_of(emailed("/open/")[0])
    assert client.get(f"/preferences/{unsubscribe}/").status_code == 400
    assert client.post(f"/unsubscribe/{unsubscribe}/").status_code in (200, 302)
    assert client.get(f"/open/{feedback}/").status_code == 400
    assert client.get(f"/feedback/{opened}/").status_code == 400
    assert client.get(f"/digest/{opened}/").status_code == 400


def test_short_links_expire_as_the_older_ones_did(client, digest, settings):
    reader = digest.subscriber
    days = settings.DIGEST_LINK_MAX_AGE_DAYS + 1
    signer = tokens.LinkSigner(reader, now=time.time() - days * 86400)
    expired_web = signer.token("digest", d=digest.pk)
    response = client.get(f"/digest/{expired_web}/")
    assert response.status_code == 400
    assert "This link has expired" in response.content.decode()
    # An old paper link still leads to the paper; it just is not counted.
    item = digest.items.get(rank=1)
    response = client.get(f"/open/{signer.token('open', i=item.pk)}/")
    assert response["Location"] == item.paper.url
    assert not FeedbackEvent.objects.exists()
    fresh = tokens.LinkSigner(reader, now=time.time() - (days - 2) * 86400)
    assert client.get(f"/digest/{fresh.token('digest', d=digest.pk)}/").status_code == 200


def test_an_address_change_voids_the_emailed_links(client, digest):
    preferences = emailed("/preferences/")[0]
    assert client.get(preferences).status_code == 200
    Subscriber.objects.filter(pk=digest.subscriber_id).update(email="moved@example.com")
    assert client.get(preferences).status_code == 400


def test_links_outlive_a_secret_key_rotation_through_the_fallbacks(client, digest, settings):
    preferences = emailed("/preferences/")[0]
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-key-" + "x" * 50
    assert client.get(preferences).status_code == 400
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert client.get(preferences).status_code == 200


def test_links_follow_the_site_address_when_it_changes(make_subscriber, make_paper, settings):
    sent_digest(make_subscriber("first@example.com"), make_paper)
    settings.SITE_URL = "https://digest.example.org"
    sent_digest(make_subscriber("second@example.com"), make_paper)
    links = links_in(only_message_to("second@example.com"), "/")
    assert len(links) > 5
    signed = [url for url in links if not url.startswith(("https://arxiv.org", "http://arxiv"))]
    assert signed
    assert [url for url in signed if not url.startswith("https://digest.example.org")] == []
