"""recommender.feedback: recording "More/Less like this" from digest links."""

from __future__ import annotations

import pytest

from accounts import tokens
from recommender.feedback import feedback_url, read_feedback_token, record_feedback
from recommender.models import FeedbackEvent
from tests.subscription_helpers import _fresh_cache, path_of, sent_digest  # noqa: F401 (fixture)


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
