"""The digest email a subscriber would get now, built by the same code as a real send.

`preview_message` turns a preview's picks into unsaved Digest and DigestItem rows and renders
them with `digest_email.email_context` and `make_message("digest", ...)`: the renderer and
templates a real send uses (its bulk render is tested to give the same bytes); nothing is
stored. The copy mailed to a staff member (`send_preview_to`) carries no link that acts on the
subscriber's account: their preferences, unsubscribe and web-version links are replaced by the
site's front page, paper titles link straight to the paper, and feedback links name no stored
digest item, so they record nothing.
"""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from accounts.models import Subscriber
from digest_site.mailing.messages import make_message

from ..models import Digest, DigestItem
from ..ranking.scoring import RankingResult
from . import digest_email


def preview_digest_rows(subscriber: Subscriber, result: RankingResult) -> tuple[Digest, list]:
    digest = Digest(
        subscriber=subscriber,
        period_start=timezone.localtime(timezone.now(), subscriber.profile.zone()).date(),
        frequency=subscriber.profile.frequency,
        ranker=result.ranker,
        note=result.note,
    )
    items = [
        DigestItem(digest=digest, paper=pick.paper, rank=rank, score=pick.score, reason=pick.reason)
        for rank, pick in enumerate(result.picks, start=1)
    ]
    return digest, items


def preview_message(
    subscriber: Subscriber, result: RankingResult, *, to: str | None = None, safe_links: bool
) -> EmailMultiAlternatives:
    """The digest email of `result` for `subscriber`, addressed to `to` (default: them)."""
    from django.conf import settings

    digest, items = preview_digest_rows(subscriber, result)
    context = digest_email.email_context(digest, items, subscriber)
    if safe_links:
        home = settings.SITE_URL + "/"
        context["preferences_url"] = context["unsubscribe_url"] = context["web_url"] = home
        # Each paper's block is rendered inside the context: render it again with its title
        # linking straight to the paper (no click counted). The overview shares these dicts.
        for paper, item in zip(context["papers"], items, strict=True):
            paper["open_url"] = item.paper.url
            paper["html"], paper["text"] = digest_email.render_paper(paper)
    return make_message("digest", to or subscriber.email, context)


def send_preview_to(subscriber: Subscriber, result: RankingResult, *, address: str) -> None:
    message = preview_message(subscriber, result, to=address, safe_links=True)
    message.subject = f"[Preview for {subscriber.email}] {message.subject}"
    message.send()
