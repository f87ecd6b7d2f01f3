"""What a digest email says: its subject, preheader, headline, notes for the reader, overview and
one block per paper. The same context renders the email and its web version.

Each paper's block is rendered on its own, from a context of that paper and its reader's links
only (`paper_context` -> `render_paper`), so a later change can render or cache it once per
paper and chunk instead of once per email.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.text import Truncator

from accounts import tokens
from accounts.models import InterestProfile, Subscriber

from ..models import Digest, DigestItem, FeedbackEvent, Paper
from ..ranking.scoring import TRENDING_RANKER
from ..text import readable
from .feedback import feedback_url, open_url

SUBJECT_MAX = 70
OVERVIEW_SIZE = 3
AUTHORS_SHOWN = 3
# The top picks get a fuller abstract than the rest: the email stays short enough to scan.
ABSTRACT_WORDS = 45
ABSTRACT_WORDS_REST = 22

# Words too general to name what a day's papers share ("learning", "models").
_GENERIC = frozenset(
    """a an and or the of for in on to with from by via using based towards toward into at as is
    are be we our their its this that these those new novel learning model models method methods
    approach approaches paper papers study studies data system systems network networks task
    tasks deep machine large small efficient robust towards like such other more less""".split()
)
# Generic words that complete a phrase as the reader wrote it: "robot learning".
_HEADS = frozenset("learning models model systems networks methods policies agents".split())
_CHUNK_BREAK = re.compile(r"[,.;:()\[\]/\n]| and | or | for | with | in | of | on | to | via ")


@dataclass(frozen=True)
class Link:
    label: str
    url: str


# --- Per paper ------------------------------------------------------------------------------


def paper_context(item: DigestItem, subscriber: Subscriber) -> dict:
    """Everything one paper's block shows, with this reader's signed links."""
    paper = item.paper
    title = paper.readable_title
    words = ABSTRACT_WORDS if item.rank <= OVERVIEW_SIZE else ABSTRACT_WORDS_REST
    return {
        "rank": item.rank,
        "anchor": f"paper-{item.rank}",
        "title": title,
        "open_url": open_url(subscriber, item),
        "arxiv_id": paper.arxiv_id or "",
        "listed": paper.first_seen,
        "categories": paper.categories[:3],
        "authors": authors_line(paper.authors),
        "badges": badges(paper),
        "reason": _reason(item),
        "abstract": Truncator(paper_abstract(paper)).words(words, truncate=" …"),
        "links": paper_links(paper),
        "more_url": feedback_url(subscriber, item, FeedbackEvent.Kind.UP),
        "less_url": feedback_url(subscriber, item, FeedbackEvent.Kind.DOWN),
    }


def render_paper(context: dict) -> tuple[str, str]:
    """One paper's block as (html, text); both templates see only the paper's own context."""
    html = render_to_string("emails/_digest_paper.html", context)
    text = render_to_string("emails/_digest_paper.txt", context)
    return html, text


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


def _reason(item: DigestItem) -> str:
    return item.reason or "trending today"


# --- The whole digest -------------------------------------------------------------------------


def email_context(
    digest: Digest, items: list[DigestItem], subscriber: Subscriber, *, web: bool = False
) -> dict:
    """Template context of `digest` for its reader: the email's, or its web version's (`web`)."""
    profile = subscriber.profile
    papers = []
    for item in items:
        context = paper_context(item, subscriber)
        context["html"], context["text"] = render_paper(context)
        papers.append(context)
    found = themes(items, profile)
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
        "web_url": web_version_url(digest),
        "preferences_url": tokens.preferences_url(subscriber),
        "unsubscribe_url": tokens.unsubscribe_url(subscriber),
    }


def web_version_url(digest: Digest) -> str:
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
    return f"{head}, {Truncator(items[0].paper.readable_title).chars(room, truncate='…')}"


def preheader(items: Sequence[DigestItem]) -> str:
    """The line inboxes show after the subject: the top picks, shortened."""
    titles = [Truncator(item.paper.readable_title).chars(48, truncate="…") for item in items[:3]]
    return ("Top picks: " + " · ".join(titles)) if titles else ""


# --- Themes -----------------------------------------------------------------------------------


def themes(items: Sequence[DigestItem], profile: InterestProfile, *, limit: int = 2) -> list[str]:
    """Up to `limit` phrases of the reader's own (keywords, then interests text) that most of
    the picks share, as the reader wrote them; none when no phrase covers enough picks.

    A phrase counts for a pick when its words appear in a row in the title or abstract
    (plurals, case and hyphens aside). Longer phrases say more, so they win over a single word
    that covers a few more picks: "vision-language-action models" before "robots".
    """
    if len(items) < 2:
        return []
    grams = [_paper_grams(item.paper.title, item.paper.abstract) for item in items]
    needed = max(2, math.ceil(0.3 * len(items)))
    scored = []
    for order, (core, display) in enumerate(_candidate_phrases(profile)):
        key = _stem_tuple(core)
        covered = sum(1 for paper in grams if key in paper)
        if covered >= needed:
            weight = covered * (1 + 0.5 * (len(key) - 1))
            scored.append((-weight, order, core, display))
    chosen: list[tuple[str, str]] = []
    for _weight, _order, core, display in sorted(scored):
        if len(chosen) == limit:
            break
        if not any(set(_stem_tuple(core)) & set(_stem_tuple(other)) for other, _ in chosen):
            chosen.append((core, display))
    return [display for _core, display in chosen]


_WORD = re.compile(r"[a-z0-9]+")
_LONGEST_PHRASE = 6


@functools.lru_cache(maxsize=4096)
def _paper_grams(title: str, abstract: str) -> frozenset[tuple[str, ...]]:
    """Every run of up to _LONGEST_PHRASE stemmed words in a paper: computed once per paper
    and process, then each reader's phrases are set lookups."""
    words = [_stem(w) for w in _WORD.findall(f"{readable(title)} {readable(abstract)}".lower())]
    return frozenset(
        tuple(words[start : start + size])
        for size in range(1, _LONGEST_PHRASE + 1)
        for start in range(len(words) - size + 1)
    )


def _stem_tuple(phrase: str) -> tuple[str, ...]:
    return tuple(_stem(word) for word in _WORD.findall(phrase.lower()))


def _candidate_phrases(profile: InterestProfile) -> list[tuple[str, str]]:
    """(core, display) pairs: the core has no generic word at either end and is what must
    appear in a paper; the display is how the reader wrote it ("robot learning" for the core
    "robot"), the longest of the forms they used."""
    found: dict[tuple[str, ...], list[str]] = {}
    sources = [str(k) for k in profile.keywords] + _CHUNK_BREAK.split(profile.interests_text)
    for chunk in sources:
        words = [w.strip("-'\"") for w in chunk.lower().split()]
        words = [w for w in words if w]
        for size in range(min(len(words), 4), 0, -1):
            for start in range(len(words) - size + 1):
                gram = words[start : start + size]
                if gram[0] in _GENERIC or gram[-1] in _GENERIC:
                    continue
                core = " ".join(gram)
                if len(core) < 4:
                    continue
                after = words[start + size] if start + size < len(words) else ""
                display = f"{core} {after}" if after in _HEADS else core
                if not 0 < len(_stem_tuple(core)) <= _LONGEST_PHRASE:
                    continue
                forms = found.setdefault(_stem_tuple(core), [core])
                forms.append(display)
    return [(forms[0], max(forms[1:], key=len)) for forms in found.values()]


def _stem(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and len(word) > 4:
        return word[:-1]
    return word
