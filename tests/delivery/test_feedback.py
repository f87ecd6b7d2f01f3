"""recommender.feedback: recording "More/Less like this" from digest links."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts import tokens
from recommender.delivery.feedback import feedback_url, read_feedback_token, record_feedback
from recommender.models import Digest, FeedbackEvent, Paper
from recommender.ranking.subscriber_profiles import spec_for_subscriber
from tests.helpers import path_of, sent_digest

pytestmark = pytest.mark.usefixtures("fresh_cache")


@pytest.fixture
def item(make_subscriber, make_paper):
    return sent_digest(make_subscriber(), make_paper).items.get()


def test_it_records_once_per_digest_item_and_kind(item):
    subscriber = item.digest.subscriber
    first, created = record_feedback(
        subscriber=subscriber, paper=item.paper, kind="up", digest_item=item
    )
    again, created_again = record_feedback(
        subscriber=subscriber, paper=item.paper, kind="up", digest_item=item
    )
    assert (created, created_again) == (True, False)
    assert first == again
    record_feedback(subscriber=subscriber, paper=item.paper, kind="down", digest_item=item)
    assert sorted(FeedbackEvent.objects.values_list("kind", flat=True)) == ["down", "up"]


def test_it_records_feedback_given_outside_a_digest_once(item):
    subscriber = item.digest.subscriber
    for _ in range(2):
        record_feedback(subscriber=subscriber, paper=item.paper, kind="up")
    assert FeedbackEvent.objects.filter(digest_item=None).count() == 1


def test_it_refuses_unknown_kinds(item):
    with pytest.raises(ValueError, match="unknown feedback kind"):
        record_feedback(subscriber=item.digest.subscriber, paper=item.paper, kind="love")


def test_it_reads_back_what_the_link_was_made_for(item):
    url = feedback_url(item.digest.subscriber, item, "down")
    token = path_of(url).split("/")[2]
    subscriber, read_item, kind = read_feedback_token(token)
    assert (subscriber, read_item, kind) == (item.digest.subscriber, item, "down")


def test_it_refuses_a_link_whose_kind_is_not_a_button(item):
    token = tokens.make_token(item.digest.subscriber, "feedback", i=item.pk, k="click")
    with pytest.raises(tokens.InvalidToken):
        read_feedback_token(token)


# --- Paper links: a click is counted when a person opens the paper ------------------------------


def _open_links(digest) -> list[str]:
    """The tracked paper links of the digest email that was sent."""
    [message] = [m for m in mail.outbox if digest.subscriber.email in m.to]
    return re.findall(r"Read: (\S+)", message.body)


def _read_later(digest, seconds: int = 3600) -> None:
    Digest.objects.filter(pk=digest.pk).update(sent_at=timezone.now() - timedelta(seconds=seconds))


@pytest.fixture
def digest(make_subscriber, make_paper):
    return sent_digest(make_subscriber(), make_paper, titles=("Paper one", "Paper two"))


def test_the_email_links_each_title_through_the_site_and_says_so(digest):
    links = _open_links(digest)
    assert len(links) == 2
    assert all("/open/" in link for link in links)
    [message] = [m for m in mail.outbox if digest.subscriber.email in m.to]
    html = message.alternatives[0][0]
    assert all(link in html for link in links)
    assert "Paper links pass through" in message.body


def test_opening_a_paper_redirects_to_it_and_counts_one_click(client, digest):
    _read_later(digest)
    link = path_of(_open_links(digest)[0])
    first = client.get(link)
    second = client.get(link)
    paper = digest.items.get(rank=1).paper
    assert first.status_code == second.status_code == 302
    assert first["Location"] == paper.url
    assert first["Referrer-Policy"] == "no-referrer"
    clicks = FeedbackEvent.objects.filter(kind="click")
    assert list(clicks.values_list("paper", flat=True)) == [paper.pk]


def test_link_scanners_are_not_counted(client, digest):
    link = path_of(_open_links(digest)[0])
    on_delivery = client.get(link)  # sent_at is now: a gateway fetching links on delivery
    _read_later(digest)
    head = client.head(link)
    assert on_delivery.status_code == head.status_code == 302
    assert not FeedbackEvent.objects.exists()


def test_an_expired_paper_link_still_leads_to_the_paper_without_counting(client, digest, settings):
    _read_later(digest)
    link = path_of(_open_links(digest)[0])
    settings.FEEDBACK_LINK_MAX_AGE_DAYS = -1  # every link is now older than allowed
    response = client.get(link)
    assert response.status_code == 302
    assert response["Location"] == digest.items.get(rank=1).paper.url
    assert not FeedbackEvent.objects.exists()


def test_a_forged_or_foreign_paper_link_is_refused(client, digest, make_subscriber):
    link = path_of(_open_links(digest)[0])
    forged = client.get(link[:-3] + "xyz/")
    other = make_subscriber(email="other@example.com")
    foreign_token = tokens.make_token(other, "open", i=digest.items.get(rank=1).pk)
    foreign = client.get(f"/open/{foreign_token}/")
    as_feedback = client.get(link.replace("/open/", "/feedback/"))
    assert forged.status_code == foreign.status_code == as_feedback.status_code == 400
    assert not FeedbackEvent.objects.exists()


def test_a_click_shapes_the_profile_but_never_overrides_a_thumb(client, digest):
    _read_later(digest)
    subscriber = digest.subscriber
    first, second = (digest.items.get(rank=r) for r in (1, 2))
    record_feedback(subscriber=subscriber, paper=first.paper, kind="down", digest_item=first)
    for link in _open_links(digest):
        client.get(path_of(link))
    spec = spec_for_subscriber(subscriber.profile)
    assert [d.title for d in spec.clicked] == [second.paper.title]
    assert [d.title for d in spec.disliked] == [first.paper.title]


def test_a_paper_without_an_arxiv_link_is_found_by_its_title(client, make_subscriber, make_paper):
    """A paper from a saved listing may carry neither an arXiv id nor a link."""
    digest = sent_digest(make_subscriber(), make_paper, titles=("Scaling laws & friends",))
    _read_later(digest)
    Paper.objects.update(arxiv_id="", abs_url="")
    response = client.get(path_of(_open_links(digest)[0]))
    assert response.status_code == 302
    assert response["Location"] == (
        "https://arxiv.org/search/?query=Scaling+laws+%26+friends&searchtype=title"
    )
    assert FeedbackEvent.objects.filter(kind="click").count() == 1
