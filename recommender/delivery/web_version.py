"""The web version of a digest ("view in browser") and the digests a reader can look back on."""

from __future__ import annotations

from accounts import tokens
from accounts.models import Subscriber
from digest_site.mailing.messages import render_html

from ..models import Digest
from . import digest_email

# Digests that reached (or were meant to reach) the reader; skipped ones have no papers.
VIEWABLE = (Digest.Status.SENT, Digest.Status.SENDING, Digest.Status.FAILED)


def read_digest_token(token: str) -> Digest:
    """The digest a "view in browser" link names, or InvalidToken: a forged or expired link,
    one whose subscriber changed address or deleted their data, or a digest that is gone."""
    data = tokens.read_token(token, "digest")
    digest = (
        Digest.objects.filter(
            pk=data.extra.get("d"), subscriber=data.subscriber, status__in=VIEWABLE
        )
        .select_related("subscriber__profile")
        .first()
    )
    if digest is None:
        raise tokens.InvalidToken("This digest is not available any more.")
    return digest


def render(token: str) -> str:
    """The page behind a "view in browser" link: the email's own HTML, links and all."""
    digest = read_digest_token(token)
    items = list(digest.items.select_related("paper"))
    context = digest_email.email_context(digest, items, digest.subscriber, web=True)
    return render_html("digest", context)


def past_digests(subscriber: Subscriber, *, limit: int = 12) -> list[tuple[Digest, str]]:
    """The subscriber's latest sent digests, each with its "view in browser" link."""
    digests = subscriber.digests.filter(status=Digest.Status.SENT).order_by("-period_start")
    return [(digest, digest_email.web_version_url(digest)) for digest in digests[:limit]]
