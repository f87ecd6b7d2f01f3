"""What a digest email says: its subject, preheader, headline, notes for the reader, overview and
one block per paper. The same context renders the email and its web version.

The paired templates `emails/digest.*` and `emails/_digest_paper.*` are the layout. Rendering
them per email cost about 6 ms, for about 0.4 ms of content, so a `DigestRenderer` (one per
chunk) renders each template once with placeholders where readers differ: each paper's block
once per paper (its links, rank, reason and abstract length left open; the HTML with its CSS
inlined), and the digest's frame once per shape (how many papers, notes and themes). Each email
is then those pieces with the reader's values escaped into the placeholders, the way css-inline
would have written them. `template_context` is the plain path, every template rendered per email;
tests/delivery/test_digest_render.py checks the two give the same bytes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.text import Truncator, capfirst

from accounts import tokens
from accounts.models import InterestProfile, Subscriber
from digest_site.mailing.messages import RenderedEmail, inline_css, render_email, render_html

from ..models import Digest, DigestItem, Paper
from ..ranking.scoring import TRENDING_RANKER
from . import slots
from .paper_block import (
    OVERVIEW_SIZE,
    READER_FIELDS,
    authors_line,
    block_key,
    paper_abstracts,
    paper_context,
    paper_fields,
    reader_fields,
    render_paper,
)
from .themes import themes

__all__ = ["authors_line", "render_paper", "themes"]  # for the feed and the preview

SUBJECT_MAX = 70
# Placeholders whose values are URLs inside attributes; every other one stands in text.
_ATTRIBUTE_SLOTS = frozenset(
    {"anchor", "open_url", "more_url", "less_url", "web_url", "preferences_url", "unsubscribe_url"}
)
_BLOCK_START, _BLOCK_END = "<!--block-->", "<!--/block-->"
# A frame is about 20 KB; a day's digests come in a few dozen shapes.
_MAX_FRAMES = 256


@dataclass
class _Block:
    """One paper's block with the reader's fields left open; `html` is None when the paper's
    own text holds placeholder markers (the email is then rendered the plain way)."""

    fields: dict
    abstracts: tuple[str, str]
    raw_html: str
    html: slots.Filler | None
    text: slots.Filler | None
    inlined: slots.Filler | None = None


@dataclass(frozen=True)
class _Frame:
    subject: slots.Filler
    html: slots.Filler
    text: slots.Filler


class DigestRenderer:
    """Renders the digests of one chunk: each paper's block once, each frame once per shape.

    `context` gives a digest's template context (its papers' blocks already filled in, for
    make_message or the web version); `render` gives the finished (subject, text, html).
    Blocks are keyed by everything they show, so a renderer may also outlive a chunk; it keeps
    at most `max_blocks` of them.
    """

    def __init__(self, *, max_blocks: int = 1024) -> None:
        self._blocks: dict[tuple, _Block] = {}
        self._frames: dict[tuple, _Frame] = {}
        self._max_blocks = max_blocks
        self._styles: str | None = None

    def context(
        self,
        digest: Digest,
        items: list[DigestItem],
        subscriber: Subscriber,
        *,
        web: bool = False,
        signer: tokens.LinkSigner | None = None,
    ) -> dict:
        blocks = [self._block(item) for item in items]
        return self._context(digest, items, subscriber, blocks, web=web, signer=signer, html=True)

    def render(
        self,
        digest: Digest,
        items: list[DigestItem],
        subscriber: Subscriber,
        *,
        web: bool = False,
        signer: tokens.LinkSigner | None = None,
    ) -> RenderedEmail:
        blocks = [self._block(item) for item in items]
        if any(block.html is None for block in blocks):
            context = self._context(
                digest, items, subscriber, blocks, web=web, signer=signer, html=True
            )
            return render_email("digest", context)
        context = self._context(digest, items, subscriber, blocks, web=web, signer=signer)
        frame = self._frame(context)
        text_values = _frame_values(context)
        html_values = {name: _serialised(name, value) for name, value in text_values.items()}
        for index, (paper, block) in enumerate(zip(context["papers"], blocks, strict=True)):
            reader = {name: _serialised(name, str(paper[name])) for name in READER_FIELDS}
            html_values[f"block{index}"] = self._inlined(block).fill(reader)
            text_values[f"block{index}"] = paper["text"]
        return RenderedEmail(
            # One line, as make_message makes it: newlines would break the header.
            subject=" ".join(frame.subject.fill(text_values).split()),
            text=frame.text.fill(text_values),
            html=frame.html.fill(html_values),
        )

    def _context(
        self,
        digest: Digest,
        items: list[DigestItem],
        subscriber: Subscriber,
        blocks: list[_Block],
        *,
        web: bool,
        signer: tokens.LinkSigner | None,
        html: bool = False,
    ) -> dict:
        """The context with each paper's text block filled in, and its HTML one if `html`
        (render() fills the inlined blocks instead)."""
        signer = signer or tokens.LinkSigner(subscriber)
        papers = []
        for item, block in zip(items, blocks, strict=True):
            reader = reader_fields(item, subscriber, block.abstracts, signer=signer)
            paper = {**block.fields, **reader}
            if block.html is None or block.text is None:
                paper["html"], paper["text"] = render_paper(paper)
            else:
                if html:
                    escaped = {name: escape(value) for name, value in reader.items()}
                    paper["html"] = mark_safe(block.html.fill(escaped))  # noqa: S308
                as_text = {name: str(value) for name, value in reader.items()}
                paper["text"] = mark_safe(block.text.fill(as_text))  # noqa: S308
            papers.append(paper)
        return digest_context(digest, items, subscriber, papers, web=web, signer=signer)

    def _block(self, item: DigestItem) -> _Block:
        key = block_key(item.paper)
        block = self._blocks.get(key)
        if block is None:
            if len(self._blocks) >= self._max_blocks:
                # The oldest quarter goes (dicts keep insertion order): clearing everything
                # made a day with more candidates than places render each block many times.
                for old in list(self._blocks)[: max(1, self._max_blocks // 4)]:
                    del self._blocks[old]
            block = self._blocks[key] = _new_block(item.paper, plain=slots.holds_markers(*key))
        return block

    def _inlined(self, block: _Block) -> slots.Filler:
        """The block with the digest's CSS inlined: inlined alone, inside a table like the
        email's (its rules match classes within the block only)."""
        if block.inlined is None:
            if self._styles is None:
                self._styles = render_to_string("emails/_digest_styles.html")
            page = inline_css(
                f"<html><head>{self._styles}</head><body><table><tr><td></td></tr>"
                f"{_BLOCK_START}{block.raw_html}{_BLOCK_END}</table></body></html>"
            )
            inner = page[page.index(_BLOCK_START) + len(_BLOCK_START) : page.index(_BLOCK_END)]
            block.inlined = slots.Filler(inner, set(READER_FIELDS))
        return block.inlined

    def _frame(self, context: dict) -> _Frame:
        ranks = tuple(paper["rank"] for paper in context["papers"])
        shape = (
            context["web"],
            bool(context["preheader"]),
            bool(context["themes"]),
            len(context["notes"]),
            ranks,
            settings.SITE_NAME,
            settings.SITE_URL,
        )
        frame = self._frames.get(shape)
        if frame is None:
            if len(self._frames) >= _MAX_FRAMES:
                self._frames.clear()
            frame = self._frames[shape] = _new_frame(context, ranks)
        return frame


def _new_block(paper: Paper, *, plain: bool) -> _Block:
    """The paper's block with the reader's fields as slots; a `plain` one has none (its data
    looks like a slot) and is rendered per email."""
    fields, abstracts = paper_fields(paper), paper_abstracts(paper)
    if plain:
        return _Block(fields, abstracts, "", None, None)
    context = {**fields, **{name: slots.slot(name) for name in READER_FIELDS}}
    raw_html, raw_text = render_paper(context)
    try:
        html = slots.Filler(raw_html, set(READER_FIELDS))
        text = slots.Filler(raw_text, set(READER_FIELDS))
    except slots.SlotError:
        return _Block(fields, abstracts, raw_html, None, None)
    return _Block(fields, abstracts, raw_html, html, text)


def _new_frame(context: dict, ranks: tuple[int, ...]) -> _Frame:
    """The digest's frame for one shape, every reader's value a placeholder (see
    _frame_values for what fills them)."""
    papers = [
        {
            "rank": rank,
            "anchor": f"paper-{rank}",
            "title": slots.slot(f"title{index}"),
            "reason": slots.slot(f"reason{index}"),
            "html": slots.comment_slot(f"block{index}"),
            "text": slots.slot(f"block{index}"),
        }
        for index, rank in enumerate(ranks)
    ]
    names = ["subject", "preheader", "date_label", "headline", "themes", "email"]
    names += ["web_url", "preferences_url", "unsubscribe_url"]
    names += [f"note{index}" for index in range(len(context["notes"]))]
    for index in range(len(ranks)):
        names += [f"title{index}", f"reason{index}", f"block{index}"]
    frame = {name: slots.slot(name) for name in names}
    frame.update(
        {
            "site_name": settings.SITE_NAME,
            "site_url": settings.SITE_URL,
            "preheader": frame["preheader"] if context["preheader"] else "",
            "themes": [frame["themes"]] if context["themes"] else [],
            "notes": [frame[f"note{index}"] for index in range(len(context["notes"]))],
            "subscriber": {"email": frame["email"]},
            "overview": papers[:OVERVIEW_SIZE],
            "papers": papers,
            "more_from": context["more_from"],
            "web": context["web"],
        }
    )
    return _Frame(
        subject=slots.Filler(render_to_string("emails/digest.subject.txt", frame), set(names)),
        html=slots.Filler(render_html("digest", frame), set(names)),
        text=slots.Filler(render_to_string("emails/digest.txt", frame), set(names)),
    )


def _frame_values(context: dict) -> dict[str, str]:
    values = {
        "subject": context["subject"],
        "preheader": context["preheader"],
        "date_label": context["date_label"],
        "headline": context["headline"],
        "themes": " and ".join(context["themes"]),
        "email": context["subscriber"].email,
        "web_url": context["web_url"],
        "preferences_url": context["preferences_url"],
        "unsubscribe_url": context["unsubscribe_url"],
    }
    values.update({f"note{index}": note for index, note in enumerate(context["notes"])})
    for index, paper in enumerate(context["papers"]):
        values[f"title{index}"] = paper["title"]
        values[f"reason{index}"] = capfirst(paper["reason"])
    return values


def _serialised(name: str, value: str) -> str:
    """`value` as css-inline writes it back where placeholder `name` stands."""
    if name in _ATTRIBUTE_SLOTS:
        return slots.serialised_attribute(value)
    return slots.serialised_text(value)


# A renderer for callers that render one digest at a time (the send path's email_context, the
# web version); its blocks are keyed by their content, so it never serves a stale one. A day's
# digests list a few hundred papers (574 distinct for 1,000 readers in the delivery bench),
# a week's up to two thousand; a block is about 10 KB.
_SHARED = DigestRenderer(max_blocks=2048)


def email_context(
    digest: Digest, items: list[DigestItem], subscriber: Subscriber, *, web: bool = False
) -> dict:
    """Template context of `digest` for its reader: the email's, or its web version's (`web`)."""
    return _SHARED.context(digest, items, subscriber, web=web)


def render_digest(
    digest: Digest,
    items: list[DigestItem],
    subscriber: Subscriber,
    *,
    web: bool = False,
    signer: tokens.LinkSigner | None = None,
) -> RenderedEmail:
    """The finished email (subject, text, html) of `digest`, by the shared renderer (its links
    signed by `signer`, or by a signer of its own)."""
    return _SHARED.render(digest, items, subscriber, web=web, signer=signer)


def template_context(
    digest: Digest,
    items: list[DigestItem],
    subscriber: Subscriber,
    *,
    web: bool = False,
    signer: tokens.LinkSigner | None = None,
) -> dict:
    """email_context the plain way: every paper's block rendered by its templates, now, and
    (without `signer`) every link signed on its own, in the older token form."""
    papers = []
    for item in items:
        paper = paper_context(item, subscriber, signer=signer)
        paper["html"], paper["text"] = render_paper(paper)
        papers.append(paper)
    return digest_context(digest, items, subscriber, papers, web=web, signer=signer)


def digest_context(
    digest: Digest,
    items: list[DigestItem],
    subscriber: Subscriber,
    papers: list[dict],
    *,
    web: bool,
    signer: tokens.LinkSigner | None,
) -> dict:
    """The whole digest's context around its papers' (already rendered) blocks."""
    found = themes(items, subscriber.profile)
    return {
        "digest": digest,
        "subscriber": subscriber,
        "subject": subject(digest, items, found),
        "preheader": preheader(items),
        "date_label": long_date(digest),
        "headline": headline(digest, items),
        "themes": found,
        "notes": reader_notes(digest, items),
        "overview": papers[:OVERVIEW_SIZE],
        "papers": papers,
        "more_from": OVERVIEW_SIZE + 1 if len(papers) > OVERVIEW_SIZE else None,
        "web": web,
        "web_url": web_version_url(digest, signer=signer),
        "preferences_url": tokens.preferences_url(subscriber, signer=signer),
        "unsubscribe_url": tokens.unsubscribe_url(subscriber, signer=signer),
    }


def web_version_url(digest: Digest, *, signer: tokens.LinkSigner | None = None) -> str:
    if signer is not None:
        return signer.url("recommender:digest-web", "digest", d=digest.pk)
    token = tokens.make_token(digest.subscriber, "digest", d=digest.pk)
    return tokens.absolute(reverse("recommender:digest-web", args=[token]))


def few_matches(digest: Digest, items: Sequence[DigestItem]) -> bool:
    """A ranked digest with fewer papers than it could hold: the rest fell below the relevance
    floor, and we send no weaker papers to fill it."""
    return digest.ranker != TRENDING_RANKER and 0 < len(items) < settings.DIGEST_MAX_ITEMS


def headline(digest: Digest, items: Sequence[DigestItem]) -> str:
    count = len(items)
    papers = f"{count} paper{'s' if count != 1 else ''}"
    if digest.ranker == TRENDING_RANKER:
        return f"{papers} people are reading this {'week' if _weekly(digest) else 'day'}"
    if few_matches(digest, items):
        only = "Only one paper" if count == 1 else f"Only {count} papers"
        return f"{only} matched your interests closely"
    return f"{papers} picked for you"


def reader_notes(digest: Digest, items: Sequence[DigestItem]) -> list[str]:
    """What the reader should know about this digest, in plain words (never internal labels)."""
    notes = []
    if few_matches(digest, items):
        notes.append(
            "We send only papers that match your interests closely, so some days are short. "
            "Adding keywords or papers you liked on your preferences page widens the net."
        )
    if digest.ranker == TRENDING_RANKER:
        notes.append(
            "We could not match papers to your interests this time, so these are the papers "
            "most people are reading."
        )
    if digest.note.strip():
        notes.append(digest.note.strip())
    return notes


def _weekly(digest: Digest) -> bool:
    return digest.frequency == InterestProfile.Frequency.WEEKLY


def short_date(digest: Digest) -> str:
    day: date = digest.period_start
    if _weekly(digest):
        return f"Week of {day.day} {day:%b}"
    return f"{day:%a} {day.day} {day:%b}"


def long_date(digest: Digest) -> str:
    day: date = digest.period_start
    if _weekly(digest):
        return f"Week of {day.day} {day:%B %Y}"
    return f"{day:%A} {day.day} {day:%B %Y}"


def subject(digest: Digest, items: Sequence[DigestItem], found: Sequence[str]) -> str:
    """ "Mon 30 Nov: 10 papers on robot manipulation and world models", within SUBJECT_MAX
    characters: the date in the reader's zone (a digest's period is their local day), the count
    and the themes most picks share; the top title when no theme stands out."""
    count = len(items)
    head = f"{short_date(digest)}: {count} paper{'s' if count != 1 else ''}"
    for chosen in (found[:2], found[:1]):
        if chosen:
            line = f"{head} on {' and '.join(chosen)}"
            if len(line) <= SUBJECT_MAX:
                return line
    if not items:
        return head
    room = SUBJECT_MAX - len(head) - 2
    return f"{head}, {_shortened(items[0].paper.readable_title, room)}"


def preheader(items: Sequence[DigestItem]) -> str:
    """The line inboxes show after the subject: the top picks, shortened."""
    titles = [_shortened(item.paper.readable_title, 48) for item in items[:3]]
    return ("Top picks: " + " · ".join(titles)) if titles else ""


@functools.lru_cache(maxsize=4096)
def _shortened(title: str, chars: int) -> str:
    """Truncator is slow for what it does; the same titles recur in every digest of a day."""
    return Truncator(title).chars(chars, truncate="…")
