"""The person's typed keywords in a digest: when few of its matches have any of them.

A keyword is the most explicit thing a person tells us, and a digest can still fill up with
papers close to the rest of their interest: "diffusion models for protein structure
generation" with the keyword "protein design" in a week of image-diffusion papers (the issue's
new user; bench/new_user_example.py). When fewer than `keyword_mention_share` of a digest's
matches contain a typed keyword (all its words, as explanations' "matches your keywords"
reads it), the papers that do go first, the nearest ones below the floor that do come next
(labelled, within `near_misses`), and the digest's note says so. scoring.ranked_result calls
this with its own RankedPapers; nothing here imports scoring.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

import numpy as np
from django.conf import settings

from ..model import profiles
from .candidates import CandidateBatch
from .explanations import own_matches


class Pick(Protocol):
    matched: bool


P = TypeVar("P", bound=Pick)


def keyword_order(
    profile: profiles.Profile,
    batch: CandidateBatch,
    scores: np.ndarray,
    relevance: np.ndarray,
    open_row: np.ndarray | None,
    chosen: list[int],
    ranked: list[P],
    has: list[bool],
    *,
    limit: int,
    floor: float,
    below_floor: Callable[[int], P],
    label: str,
) -> tuple[list[P], str] | None:
    """When fewer than `keyword_mention_share` of the matches have a keyword the person typed:
    the order pinned papers, matches with a keyword, the nearest papers below the floor with a
    keyword (those already picked as nearest others, then up to `near_misses` in all found by
    keyword_others), the other matches, the other nearest others (at most `near_misses` below
    the floor in all), cut to the digest's size; and the line that says so. None otherwise.
    `has`: whether each pick has a typed keyword (has_keyword)."""
    weights = settings.RANKING_WEIGHTS
    pinned = [j for j, i in enumerate(chosen) if batch.pinned[i]]
    matches = [j for j in range(len(chosen)) if ranked[j].matched and j not in pinned]
    mentioned = [j for j in matches if has[j]]
    if len(mentioned) >= weights["keyword_mention_share"] * len(matches):
        return None
    below = [j for j in range(len(chosen)) if not ranked[j].matched]
    near = int(weights["near_misses"])
    below_with = [ranked[j] for j in below if has[j]]
    if open_row is not None and len(below_with) < near:
        found = keyword_others(profile, batch, scores, relevance, open_row, chosen, floor, weights)
        below_with += [below_floor(i) for i in found[: near - len(below_with)]]
    below_without = [ranked[j] for j in below if not has[j]][: max(0, near - len(below_with))]
    related = [ranked[j] for j in matches if not has[j]]
    order = [*(ranked[j] for j in pinned), *(ranked[j] for j in mentioned), *below_with]
    related = related[: max(0, limit - len(order))]
    order += related
    below_without = below_without[: max(0, limit - len(order))]
    order += below_without
    note = keyword_note(
        label,
        len(mentioned),
        len(below_with),
        related=len(related),
        last=len(below_without),
        after_pinned=bool(pinned),
    )
    return order, note


# How many of the nearest papers below a profile's floor keyword_others reads (it runs only for
# the rare digest whose matches lack the typed keywords).
KEYWORD_SCAN = 100


def keyword_others(
    profile: profiles.Profile,
    batch: CandidateBatch,
    scores: np.ndarray,
    relevance: np.ndarray,
    open_row: np.ndarray,
    chosen: list[int],
    floor: float,
    weights: dict,
) -> list[int]:
    """Up to `near_misses` papers below the floor (at or above `min_relevance`, not pinned, not
    already picked) that have one of the typed keywords, nearest first, among the KEYWORD_SCAN
    nearest: "protein sequence design" just under the line is worth more to the reader of
    "protein design" than a tenth image-diffusion paper above it."""
    count = int(weights["near_misses"])
    if count <= 0:
        return []
    below = open_row & (relevance < floor) & (relevance >= weights["min_relevance"])
    below &= ~batch.pinned
    below[chosen] = False
    nearest = np.flatnonzero(below)
    if len(nearest) > KEYWORD_SCAN:
        nearest = nearest[np.argpartition(-scores[nearest], KEYWORD_SCAN - 1)[:KEYWORD_SCAN]]
    nearest = nearest[np.argsort(-scores[nearest], kind="stable")]
    return [int(i) for i in nearest if keyword_mentioned(profile, batch, int(i))][:count]


def keyword_mentioned(profile: profiles.Profile, batch: CandidateBatch, index: int) -> bool:
    """Whether the paper has all the words of one of the person's keywords (explanations'
    "matches your keywords")."""
    return has_keyword(profile, own_matches(profile, batch, index))


def has_keyword(profile: profiles.Profile, own: list[str]) -> bool:
    """Whether a paper's own matches (explanations.own_matches) include a typed keyword."""
    return any(label in profile.keywords for label in own)


def keyword_note(
    label: str,
    mentions: int,
    below: int = 0,
    *,
    related: int = 0,
    last: int = 0,
    after_pinned: bool = False,
) -> str:
    """The digest's line when few of its matches have any keyword the person typed: they are
    close to the interest as a whole (its text, its field), and the reader should know that
    their keywords themselves were rare this time ("protein design" in a week of
    image-diffusion papers), and where the papers that have them are: `mentions` matches with
    them, then `below` nearest others with them, then `related` matches without, then `last`
    nearest others without."""
    where = "shown next" if after_pinned else "shown first"
    if mentions:
        matches = "1 close match has" if mentions == 1 else f"{mentions} close matches have"
        parts = [f"Only {matches} your keywords (“{label}”), {where}"]
    else:
        parts = [f"No close match has your keywords (“{label}”)"]
    if below:
        nearest = (
            "1 nearest other paper has" if below == 1 else f"{below} nearest other papers have"
        )
        parts.append(f"{'then ' if mentions else ''}{nearest} them")
    if related:
        parts.append("then related papers" if mentions or below else "these are related papers")
    if last:
        parts.append(
            "the last is the nearest other paper, labelled as such"
            if last == 1
            else f"the last {last} are the nearest others, labelled as such"
        )
    return "; ".join(parts) + "."
