"""Ranking: choose and order the papers of one subscriber's digest, each with a reason.

score = relevance * w_relevance + trending * w_trending + featured * w_featured, where

* relevance is the profile's calibrated semantic score (the cosine between the profile,
  model/profiles.py, and the paper in the model's LSA space, blended with their cosine in its
  word-context space) plus its calibrated lexical score (how much of the person's own words
  the paper contains, model/lexical.py), on one scale per profile (model/relevance.py);
* trending is log(1 + upvotes + w_comments * comments) scaled to [0, 1] and halved every
  `recency_half_life_days` days since the paper was first listed;
* featured papers get a fixed boost, pinned ones go first, hidden ones are never shown.

Papers the subscriber already received, or already knows (their seeds and the papers they gave
feedback on), are left out. The picks are the papers that match the profile (relevance at or
above its calibrated floor), chosen greedily with maximal marginal relevance (each candidate's
score minus `diversity` times its similarity to the closest paper already picked), with
near-duplicates of a pick dropped. When fewer than a digest's worth match, the digest is
shorter and says so ("Only 3 papers matched ..."), and up to `near_misses` of the nearest
others follow, labelled as such; nothing below `min_relevance` is ever sent.

Every weight is a named setting (settings.RANKING_WEIGHTS). With no fitted model, or a profile
with nothing usable in it, the digest falls back to trending papers and says so (ranker
TRENDING_RANKER and a note).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from ..model import profiles, relevance
from ..model.features import FittedModel
from ..models import Paper
from . import typed_keywords
from .candidates import CandidateBatch
from .explanations import explain, own_matches

TRENDING_RANKER = "trending-fallback"


@dataclass(frozen=True)
class RankedPaper:
    paper: Paper
    score: float
    reason: str
    # False for a nearest other paper shown below the profile's floor (labelled in `reason`).
    matched: bool = True


@dataclass
class RankingResult:
    picks: list[RankedPaper]
    ranker: str
    messages: list[str] = field(default_factory=list)

    @property
    def note(self) -> str:
        """The messages as one line of at most NOTE_CHARS (the stored note's size): whole
        messages, in order, as many as fit; a first message too long alone is cut."""
        kept: list[str] = []
        for message in self.messages:
            if len(" ".join([*kept, message])) <= NOTE_CHARS:
                kept.append(message)
        if not kept and self.messages:
            return _clipped(self.messages[0], NOTE_CHARS - 1)
        return " ".join(kept)


# A digest's stored note holds this many characters (Digest.note).
NOTE_CHARS = 300


# --- Candidates ---------------------------------------------------------------------------------


# --- Selection ----------------------------------------------------------------------------------


_similarity_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def paper_similarity(dense: np.ndarray) -> np.ndarray:
    """Paper-to-paper cosine of a batch, computed once per batch (every chunk row reuses it)."""
    cached = _similarity_cache.get(id(dense))
    if cached is None or cached[0] is not dense:
        _similarity_cache.clear()
        cached = (dense, dense @ dense.T)
        _similarity_cache[id(dense)] = cached
    return cached[1]


# Added to pinned papers' scores so they are picked before anything else: pinning is a rule,
# not a weight (relevance and the priors are all well below 10).
PINNED_BONUS = 1000.0


def select_batch(
    scores: np.ndarray,
    eligible: np.ndarray,
    pinned: np.ndarray,
    dense: np.ndarray | None,
    *,
    limit: int,
    weights: dict,
) -> np.ndarray:
    """The picks of many subscribers at once: an (n, limit) array of candidate indices, -1 where
    a subscriber has fewer eligible papers.

    Pinned papers first, then greedy maximal marginal relevance over each row's `mmr_pool` best
    candidates: every step picks the candidate with the best score minus `diversity` times its
    similarity to the closest paper already picked, and drops candidates at least
    `duplicate_similarity` close to a pick. Vectorised over subscribers, so a chunk of any size
    costs `limit` small array operations.
    """
    scores = np.atleast_2d(scores).astype(np.float32, copy=False)
    eligible = np.atleast_2d(eligible)
    n, m = scores.shape
    picks = np.full((n, limit), -1, np.int64)
    if m == 0 or limit == 0:
        return picks
    boosted = np.where(eligible, scores + PINNED_BONUS * pinned, -np.inf).astype(np.float32)
    size = min(max(int(weights["mmr_pool"]), limit), m)
    if size < m:
        pool = np.argpartition(-boosted, size - 1, axis=1)[:, :size]
    else:
        pool = np.broadcast_to(np.arange(m), (n, m))
    pool_scores = np.take_along_axis(boosted, pool, axis=1)
    alive = np.isfinite(pool_scores)
    rows = np.arange(n)
    if dense is None:  # no vectors (trending without a model): plain order
        order = np.argsort(-pool_scores, axis=1, kind="stable")[:, :limit]
        chosen = np.take_along_axis(pool, order, axis=1)
        ok = np.take_along_axis(alive, order, axis=1)
        picks[:, : chosen.shape[1]] = np.where(ok, chosen, -1)
        return picks
    similarity = paper_similarity(dense)
    closest = np.full((n, size), -1.0, np.float32)
    diversity, duplicate = weights["diversity"], weights["duplicate_similarity"]
    for step in range(limit):
        mmr = np.where(alive, pool_scores - diversity * np.maximum(closest, 0.0), -np.inf)
        best = np.argmax(mmr, axis=1)
        ok = alive[rows, best]
        if not ok.any():
            break
        chosen = pool[rows, best]
        picks[ok, step] = chosen[ok]
        alive[rows, best] = False
        closest = np.where(
            ok[:, None], np.maximum(closest, similarity[chosen[:, None], pool]), closest
        )
        alive &= closest < duplicate
    # Rows where a candidate died between picks leave holes: close them up.
    for i in np.flatnonzero((picks[:, :-1] < 0).any(axis=1) & (picks >= 0).any(axis=1)):
        kept = picks[i][picks[i] >= 0]
        picks[i] = -1
        picks[i, : len(kept)] = kept
    return picks


# --- Explanations -------------------------------------------------------------------------------


# --- Ranking one profile, many profiles, or none --------------------------------------------------


def ranker_label(model: FittedModel) -> str:
    return model.version[:64] or "tfidf-lsa"


def calibration_of(profile: profiles.Profile) -> relevance.Calibration:
    # Profiles cached by a build before calibration existed: relevance is the semantic blend.
    calibration = getattr(profile, "calibration", None)
    return calibration or relevance.Calibration.identity(settings.PROFILE_WEIGHTS["floor"])


def relevance_many(built: Sequence[profiles.Profile], batch: CandidateBatch) -> np.ndarray:
    """(profiles x papers) relevance: one dense product for the semantic part, one sparse by
    dense product for the lexical part (each profile has at most PROFILE_LEXICAL_MAX_TERMS
    terms), put on one scale per profile (model/relevance.combine)."""
    semantic = np.stack([p.scoring for p in built]) @ batch.scoring.T
    return relevance.combine(
        semantic,
        lexical_part(built, batch),
        [calibration_of(p) for p in built],
        embedding_part(built, batch),
    )


def lexical_part(built: Sequence[profiles.Profile], batch: CandidateBatch) -> np.ndarray | None:
    """(profiles x papers) raw lexical scores: the share of each profile's term weight that each
    paper contains, its known terms by one sparse product, its unseen ones (typed terms the
    vocabulary lacks) by the batch's index of such terms; None when no profile has terms."""
    if batch.terms is None:
        return None
    own = [getattr(p, "lexical", None) for p in built]
    # (getattr: profiles cached before unseen terms existed have no such field.)
    unseen = [getattr(p, "unseen", ()) for p in built]
    if all(row is None for row in own) and not any(unseen):
        return None
    scores = batch.terms.scores(own)
    extra = batch.terms.unseen_scores(unseen)
    return scores if extra is None else scores + extra


def embedding_part(built: Sequence[profiles.Profile], batch: CandidateBatch) -> np.ndarray | None:
    """(profiles x papers) cosines of the optional sentence embeddings (zero rows for profiles
    without one), or None when no profile of the chunk has one."""
    vectors = [getattr(p, "embedding", None) for p in built]
    if batch.embeddings is None or all(v is None for v in vectors):
        return None
    width = batch.embeddings.shape[1]
    stacked = np.stack([v if v is not None else np.zeros(width, np.float32) for v in vectors])
    return stacked @ batch.embeddings.T


def relevance_of(profile: profiles.Profile, batch: CandidateBatch) -> np.ndarray:
    """One profile's relevance to every paper of the batch."""
    return relevance_many([profile], batch)[0]


def rank_profile(
    model: FittedModel,
    profile: profiles.Profile,
    batch: CandidateBatch,
    *,
    limit: int,
    relevance: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    weights: dict | None = None,
) -> RankingResult:
    """Rank `batch` for one built profile (relevance may come precomputed from a batch product)."""
    weights = {**settings.RANKING_WEIGHTS, **(weights or {})}
    if profile.empty:
        return rank_trending(batch, limit=limit, messages=[*profile.messages, EMPTY_PROFILE])
    if relevance is None:
        relevance = relevance_of(profile, batch)
    scores = weights["relevance"] * relevance + batch.prior
    open_mask = open_to(profile, batch, allowed)
    picks = select_with_floor(
        scores[None, :],
        relevance[None, :],
        np.array([calibration_of(profile).floor], np.float32),
        open_mask[None, :],
        batch,
        limit=limit,
        weights=weights,
    )[0]
    return ranked_result(model, profile, batch, scores, picks, relevance, open_mask)


def open_to(
    profile: profiles.Profile, batch: CandidateBatch, allowed: np.ndarray | None
) -> np.ndarray:
    """Candidates this subscriber may get at all: not hidden, not known to them, in their
    window."""
    eligible = ~batch.hidden
    if profile.known_keys:
        eligible &= np.array([k not in profile.known_keys for k in batch.keys], bool)
    if allowed is not None:
        eligible &= allowed
    return eligible


def select_with_floor(
    scores: np.ndarray,
    relevance: np.ndarray,
    floors: np.ndarray,
    open_mask: np.ndarray,
    batch: CandidateBatch,
    *,
    limit: int,
    weights: dict,
) -> np.ndarray:
    """The picks of many subscribers: first the papers at or above each one's floor (pinned
    ones need no relevance), then, in rows with room left, up to `near_misses` of the nearest
    others at or above `min_relevance`, in score order (ranked_result labels them). The nearest
    others skip the MMR pass: a few labelled extras are not worth a second one for every row
    with a thin day."""
    matched = open_mask & ((relevance >= floors[:, None]) | batch.pinned)
    picks = select_batch(scores, matched, batch.pinned, batch.dense, limit=limit, weights=weights)
    near = min(int(weights["near_misses"]), limit)
    if near <= 0 or scores.shape[1] == 0:
        return picks
    count = (picks >= 0).sum(axis=1)
    short = np.flatnonzero(count < limit)
    if len(short) == 0:
        return picks
    others = open_mask[short] & ~matched[short] & (relevance[short] >= weights["min_relevance"])
    masked = np.where(others, scores[short], -np.inf)
    near = min(near, masked.shape[1])
    best = np.argpartition(-masked, near - 1, axis=1)[:, :near]
    best = np.take_along_axis(best, np.argsort(-np.take_along_axis(masked, best, 1), 1), 1)
    for step in range(near):
        chosen = best[:, step]
        target = count[short] + step
        ok = np.isfinite(masked[np.arange(len(short)), chosen]) & (target < limit)
        picks[short[ok], target[ok]] = chosen[ok]
    return picks


# The longest interest text a digest's note quotes whole; a longer one is cut at a word.
LABEL_CHARS = 60


def profile_label(profile: profiles.Profile) -> str:
    """How a digest's note names the interest: the person's keywords, else the start of the
    text they wrote, in their words and order (the analyzer's terms, sorted by specificity,
    read as "ct ultrasound microscopy delineating organ lesion mri deep l")."""
    if profile.keywords:
        shown = ", ".join(profile.keywords[:3])
        return shown + (", ..." if len(profile.keywords) > 3 else "")
    text = getattr(profile, "text", "")  # (profiles cached before the text was kept: none)
    if text:
        return _clipped(text, LABEL_CHARS)
    return "your interests"


def _clipped(text: str, limit: int) -> str:
    """`text` whole when short enough, else its first words within `limit` characters and an
    ellipsis (the first word cut only when it alone is longer)."""
    if len(text) <= limit:
        return text
    head = text[: limit + 1]  # one more: a word ending exactly at the limit is kept
    cut = head.rsplit(" ", 1)[0] if " " in head else text[:limit]
    return cut.rstrip(" ,;:.-") + "…"


def thin_note(profile: profiles.Profile, matched: int, others: int) -> str:
    """The digest's line when fewer papers than it holds match the profile."""
    label = f"“{profile_label(profile)}”"
    if matched == 0:
        start = f"No paper matched {label} closely this time"
    else:
        start = f"Only {matched} paper{'s' if matched != 1 else ''} matched {label} this time"
    if others:
        rest = "the nearest other is" if others == 1 else f"the {others} nearest others are"
        return f"{start}; {rest} shown below, labelled as such."
    return f"{start}."


def ranked_result(
    model: FittedModel,
    profile: profiles.Profile,
    batch: CandidateBatch,
    scores: np.ndarray,
    picks: np.ndarray,
    relevance: np.ndarray,
    open_row: np.ndarray | None = None,
) -> RankingResult:
    """The picks as RankedPapers with their reasons, and the digest's note. `open_row` (the
    candidates this subscriber may get) lets a digest whose matches rarely have the typed
    keywords offer the nearest papers below the floor that do (typed_keywords)."""
    floor = calibration_of(profile).floor
    chosen = [int(i) for i in picks[picks >= 0]]
    # Each pick's own matches, read once: for its reason and for the keyword check.
    owns = [own_matches(profile, batch, i) for i in chosen]
    ranked = [
        _ranked(model, profile, batch, scores, i, relevance[i] >= floor, own)
        for i, own in zip(chosen, owns, strict=True)
    ]
    messages = list(profile.messages)
    if profile.keywords and any(pick.matched for pick in ranked):
        reordered = typed_keywords.keyword_order(
            profile,
            batch,
            scores,
            relevance,
            open_row,
            chosen,
            ranked,
            [typed_keywords.has_keyword(profile, own) for own in owns],
            limit=len(picks),
            floor=floor,
            below_floor=lambda i: _ranked(model, profile, batch, scores, i, False),
            label=_clipped(", ".join(profile.keywords), LABEL_CHARS),
        )
        if reordered is not None:
            short = sum(pick.matched for pick in ranked) < len(picks)
            ranked, note = reordered
            # The keyword line first (a full note drops the last messages); then, on a short
            # day, how many matched (where the nearest others are, the keyword line says).
            messages.append(note)
            if short:
                messages.append(thin_note(profile, sum(p.matched for p in ranked), 0))
            return RankingResult(ranked, ranker_label(model), messages)
    matched = sum(pick.matched for pick in ranked)
    if ranked and matched < len(picks):
        messages.append(thin_note(profile, matched, len(ranked) - matched))
    return RankingResult(ranked, ranker_label(model), messages)


def _ranked(
    model: FittedModel,
    profile: profiles.Profile,
    batch: CandidateBatch,
    scores: np.ndarray,
    index: int,
    above_floor: bool,
    own: list[str] | None = None,
) -> RankedPaper:
    matched = bool(above_floor or batch.pinned[index])
    reason = explain(model, profile, batch, index, own)
    if not matched:
        reason = f"nearest other paper (not a close match); {reason}"
    return RankedPaper(batch.papers[index], float(scores[index]), reason, matched)


def rank_trending(
    batch: CandidateBatch,
    *,
    limit: int,
    messages: Sequence[str] = (),
    allowed: np.ndarray | None = None,
) -> RankingResult:
    """The fallback: most-trending papers (featured boosted, pinned first), diversified."""
    weights = settings.RANKING_WEIGHTS
    eligible = ~batch.hidden if allowed is None else ~batch.hidden & allowed
    # Ties (no signals at all) go to the newest papers.
    newest = max((p.first_seen for p in batch.papers), default=None)
    age = np.array([(newest - p.first_seen).days for p in batch.papers], np.float32)
    scores = batch.prior - 1e-3 * age
    picks = select_batch(scores, eligible, batch.pinned, batch.dense, limit=limit, weights=weights)[
        0
    ]
    ranked = [
        RankedPaper(batch.papers[i], float(scores[i]), explain(None, None, batch, i))
        for i in picks
        if i >= 0
    ]
    return RankingResult(ranked, TRENDING_RANKER, [*messages, "Showing trending papers instead."])


NO_MODEL = (
    "No recommender model is fitted yet (too few stored papers, or `manage.py refit_model` "
    "has not run)."
)
EMPTY_PROFILE = (
    "Your profile has nothing we can match yet (no usable interest text, keywords, categories, "
    "seed papers or feedback)."
)
