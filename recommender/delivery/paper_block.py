"""One paper's block in a digest email: the paper's own part (title, facts, abstract, links),
the same for every reader and rendered once per chunk, and the reader's part (rank, reason,
signed links), filled in per email."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils.text import Truncator

from accounts import tokens
from accounts.models import Subscriber

from ..models import DigestItem, FeedbackEvent, Paper
from ..text import readable
from .feedback import feedback_url, open_url

OVERVIEW_SIZE = 3
AUTHORS_SHOWN = 3
# The top picks get a fuller abstract than the rest: the email stays short enough to scan.
ABSTRACT_WORDS = 45
ABSTRACT_WORDS_REST = 22
# What differs between two readers' blocks of the same paper (the abstract's length goes with
# the rank).
READER_FIELDS = ("rank", "anchor", "open_url", "reason", "more_url", "less_url", "abstract")


@dataclass(frozen=True)
class Link:
    label: str
    url: str


def paper_context(
    item: DigestItem, subscriber: Subscriber, *, signer: tokens.LinkSigner | None = None
) -> dict:
    """Everything one paper's block shows, with this reader's signed links."""
    abstracts = paper_abstracts(item.paper)
    return {**paper_fields(item.paper), **reader_fields(item, subscriber, abstracts, signer=signer)}


def paper_fields(paper: Paper) -> dict:
    """The paper's own part of its block, the same for every reader."""
    return {
        "title": paper.readable_title,
        "arxiv_id": paper.arxiv_id or "",
        "listed": paper.first_seen,
        "categories": paper.categories[:3],
        "authors": authors_line(paper.authors),
        "badges": badges(paper),
        "links": paper_links(paper),
    }


def paper_abstracts(paper: Paper) -> tuple[str, str]:
    """The abstract as the top picks show it (longer), and as the rest do."""
    readable_abstract = Truncator(paper_abstract(paper))
    return (
        readable_abstract.words(ABSTRACT_WORDS, truncate=" …"),
        readable_abstract.words(ABSTRACT_WORDS_REST, truncate=" …"),
    )


def reader_fields(
    item: DigestItem,
    subscriber: Subscriber,
    abstracts: tuple[str, str],
    *,
    signer: tokens.LinkSigner | None = None,
) -> dict:
    """The reader's part of a paper's block (READER_FIELDS); `abstracts` as paper_abstracts."""
    return {
        "rank": item.rank,
        "abstract": abstracts[0] if item.rank <= OVERVIEW_SIZE else abstracts[1],
        "anchor": f"paper-{item.rank}",
        "open_url": open_url(subscriber, item, signer=signer),
        "reason": item.reason or "trending today",
        "more_url": feedback_url(subscriber, item, FeedbackEvent.Kind.UP, signer=signer),
        "less_url": feedback_url(subscriber, item, FeedbackEvent.Kind.DOWN, signer=signer),
    }


def render_paper(context: dict) -> tuple[str, str]:
    """One paper's block as (html, text); both templates see only the paper's own context."""
    html = render_to_string("emails/_digest_paper.html", context)
    text = render_to_string("emails/_digest_paper.txt", context)
    return html, text


def block_key(paper: Paper) -> tuple:
    """Everything a paper's own part is made of: a cached block is never stale, even in a cache
    that outlives a chunk (a re-ingested title is a new key)."""
    return (
        paper.pk,
        paper.title,
        paper.abstract,
        repr(paper.authors),
        tuple(paper.categories[:3]),
        paper.first_seen,
        paper.arxiv_id,
        paper.url,
        paper.pdf_url,
        paper.code_url,
        paper.project_url,
        paper.doi,
        paper.curation,
        paper.upvotes,
        paper.num_comments,
    )


def authors_line(authors: Sequence[str]) -> str:
    names = [" ".join(str(name).split()) for name in authors if str(name).strip()]
    if len(names) <= AUTHORS_SHOWN:
        return ", ".join(names)
    return ", ".join(names[:AUTHORS_SHOWN]) + " et al."


def badges(paper: Paper) -> list[str]:
    """What the data says about a paper beyond its text: curation and community signals."""
    shown = []
    if paper.curation in (Paper.Curation.FEATURED, Paper.Curation.PINNED):
        shown.append("Featured by the editors")
    if paper.upvotes:
        shown.append(f"{paper.upvotes} upvote{'s' if paper.upvotes != 1 else ''}")
    if paper.num_comments:
        shown.append(f"{paper.num_comments} comment{'s' if paper.num_comments != 1 else ''}")
    return shown


def paper_links(paper: Paper) -> list[Link]:
    """Abstract, PDF, code, project page and DOI, where known (arXiv's own PDF for any arXiv id)."""
    pdf = paper.pdf_url or (f"https://arxiv.org/pdf/{paper.arxiv_id}" if paper.arxiv_id else "")
    links = [Link("Abstract", paper.url)]
    links += [Link(label, url) for label, url in [("PDF", pdf), ("Code", paper.code_url)] if url]
    if paper.project_url:
        links.append(Link("Project page", paper.project_url))
    if paper.doi:
        links.append(Link("DOI", paper.doi_url))
    return links


def paper_abstract(paper: Paper) -> str:
    return readable(paper.abstract)
