"""A subscriber's digests as a personal Atom feed, behind a secret, revocable address.

The address holds a random key stored on the subscriber (`Subscriber.feed_key`), not a signed
token: a feed reader keeps the address for years, so it must not expire, and the reader must
be able to revoke it (a new key, or none) when it leaks.
"""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from accounts import tokens
from accounts.models import Subscriber

from ..models import Digest
from . import digest_email

FEED_ENTRIES = 20


def feed_url(subscriber: Subscriber) -> str | None:
    if not subscriber.feed_key:
        return None
    return tokens.absolute(reverse("recommender:feed", args=[subscriber.feed_key]))


def subscriber_for_key(key: str) -> Subscriber | None:
    """The subscriber whose current feed key is `key` (None for an old, altered or no key)."""
    if not key:
        return None
    return Subscriber.objects.select_related("profile").filter(feed_key=key).first()


def atom_feed(subscriber: Subscriber) -> str:
    """The subscriber's latest sent digests, newest first: each entry is titled like its email,
    links to its web version and lists its papers (linked to the papers themselves)."""
    feed = Atom1Feed(
        title=f"{settings.SITE_NAME}: your paper digests",
        link=settings.SITE_URL + "/",
        description="New machine-learning papers picked for your interests.",
        feed_url=feed_url(subscriber),
        language="en",
    )
    digests = (
        subscriber.digests.filter(status=Digest.Status.SENT)
        .order_by("-period_start")
        .prefetch_related("items__paper")[:FEED_ENTRIES]
    )
    for digest in digests:
        items = sorted(digest.items.all(), key=lambda item: item.rank)
        found = digest_email.themes(items, subscriber.profile)
        feed.add_item(
            title=digest_email.subject(digest, items, found),
            link=digest_email.web_version_url(digest),
            description=_entry_html(digest, items),
            unique_id=f"{settings.SITE_URL}/digests/{digest.pk}",
            unique_id_is_permalink=False,
            pubdate=digest.sent_at or digest.created_at,
            updateddate=digest.sent_at or digest.created_at,
        )
    return feed.writeString("utf-8")


def _entry_html(digest: Digest, items: list) -> str:
    context = {
        "notes": digest_email.reader_notes(digest, items),
        "papers": [
            {
                "title": item.paper.readable_title,
                "url": item.paper.url,
                "reason": item.reason,
                "authors": digest_email.authors_line(item.paper.authors),
                "arxiv_id": item.paper.arxiv_id,
            }
            for item in items
        ],
    }
    return render_to_string("recommender/feed_entry.html", context)
