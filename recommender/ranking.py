"""Ranking: choose and order the papers of one subscriber's digest, each with a reason.

PLACEHOLDER: this is a keyword-overlap ranker standing in until the content-based recommender
(TF-IDF model, feedback, diversity) lands. Every digest it produces is labelled with
PLACEHOLDER_RANKER so nobody mistakes it for the real model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from accounts.models import InterestProfile

from .models import Paper

PLACEHOLDER_RANKER = "placeholder-keyword-overlap"

_WORD = re.compile(r"[a-z][a-z0-9+-]{3,}")
# Words too common in ML abstracts to say anything about a reader's interest.
_STOPWORDS = frozenset(
    (
        "about also based between data from have into learning model models more method methods "
        "paper papers than that their them these they this using with which while show shows "
        "results approach propose proposed work new"
    ).split()
)


@dataclass(frozen=True)
class RankedPaper:
    paper: Paper
    score: float
    reason: str


def profile_terms(profile: InterestProfile) -> set[str]:
    text = " ".join([profile.interests_text, *profile.keywords]).lower()
    return {word for word in _WORD.findall(text) if word not in _STOPWORDS}


def rank_papers(
    profile: InterestProfile, candidates: Iterable[Paper], *, limit: int
) -> list[RankedPaper]:
    terms = profile_terms(profile)
    wanted_categories = set(profile.categories)
    ranked = []
    for paper in candidates:
        text = f"{paper.title} {paper.abstract}".lower()
        matched = sorted(term for term in terms if term in text)
        shared_categories = sorted(wanted_categories.intersection(paper.categories))
        relevance = len(matched) + 2 * len(shared_categories)
        pinned = paper.curation == Paper.Curation.PINNED
        if relevance == 0 and not pinned:
            continue
        score = relevance + math.log1p(paper.upvotes) + (100 if pinned else 0)
        ranked.append(RankedPaper(paper, score, _reason(matched, shared_categories, pinned)))
    ranked.sort(key=lambda item: (-item.score, item.paper.arxiv_id or ""))
    return ranked[:limit]


def _reason(matched: list[str], categories: list[str], pinned: bool) -> str:
    parts = []
    if pinned:
        parts.append("featured by the editors")
    if matched:
        parts.append("matches: " + ", ".join(matched[:4]))
    if categories:
        parts.append("in " + ", ".join(categories))
    return "; ".join(parts)


def preview_papers(
    *,
    interests_text: str = "",
    keywords: list[str] | None = None,
    categories: list[str] | None = None,
    limit: int = 5,
) -> list[RankedPaper]:
    """What a not-yet-saved profile would be sent from the latest papers (the form's preview)."""
    from .digests import recent_papers

    profile = InterestProfile(
        interests_text=interests_text, keywords=keywords or [], categories=categories or []
    )
    return rank_papers(profile, recent_papers(days=2), limit=limit)
