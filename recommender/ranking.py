"""Ranking: choose and order the papers of one subscriber's digest, each with a reason.

score = relevance * w_relevance + trending * w_trending + featured * w_featured, where

* relevance is the cosine between the profile (profiles.py) and the paper in the model's LSA
  space, blended with their cosine in its word-context space (`PROFILE_CONTEXT_WEIGHT`);
* trending is log(1 + upvotes + w_comments * comments) scaled to [0, 1] and halved every
  `recency_half_life_days` days since the paper was first listed;
* featured papers get a fixed boost, pinned ones go first, hidden ones are never shown.

Papers the subscriber already received, or already knows (their seeds and the papers they gave
feedback on), are left out; papers below `min_relevance` are not sent. The picks are then chosen
greedily with maximal marginal relevance (each candidate's score minus `diversity` times its
similarity to the closest paper already picked), and near-duplicates of a pick are dropped.

Every weight is a named setting (settings.RANKING_WEIGHTS). With no fitted model, or a profile
with nothing usable in it, the digest falls back to trending papers and says so (ranker
TRENDING_RANKER and a note).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from scipy import sparse
from threadpoolctl import threadpool_limits

from accounts.models import InterestProfile

from . import model_store, profiles
from .features import FittedModel
from .models import Paper

TRENDING_RANKER = "trending-fallback"


@dataclass(frozen=True)
class RankedPaper:
    paper: Paper
    score: float
    reason: str


@dataclass
class RankingResult:
    picks: list[RankedPaper]
    ranker: str
    messages: list[str] = field(default_factory=list)

    @property
    def note(self) -> str:
        return " ".join(self.messages)[:300]


@dataclass
class CandidateBatch:
    """The papers of one scoring run with everything ranking needs, computed once per batch."""

    papers: list[Paper]
    keys: list[str]
    sparse: sparse.csr_matrix | None
    dense: np.ndarray | None
    prior: np.ndarray  # trending + featured part of the score
    pinned: np.ndarray
    hidden: np.ndarray
    # The LSA rows followed by the word-context rows (just the LSA rows without that space):
    # relevance is a profile's scoring vector dotted with these (profiles.Profile.scoring).
    scoring: np.ndarray | None = None


def paper_key(paper: Paper) -> str:
    return str(paper.pk) if paper.pk is not None else (paper.arxiv_id or paper.title_key)


# --- Candidates ---------------------------------------------------------------------------------

_vectors: dict[tuple, tuple] = {}
_VECTOR_CACHE_SIZE = 50_000


def paper_vectors(
    model: FittedModel, papers: Sequence[Paper]
) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Sparse and dense rows of `papers`, transformed with the current model (no refit needed).

    Rows are cached per process by model version and paper text, so a day's papers are
    transformed once however many chunks a worker scores.
    """
    keys = [(model.version, paper_key(p), hash((p.title, p.abstract))) for p in papers]
    missing = [i for i, key in enumerate(keys) if key not in _vectors]
    if missing:
        if len(_vectors) + len(missing) > _VECTOR_CACHE_SIZE:
            _vectors.clear()
        rows, dense = model.transform_papers((papers[i].title, papers[i].abstract) for i in missing)
        for j, i in enumerate(missing):
            _vectors[keys[i]] = (rows[j], dense[j])
    cached = [_vectors[key] for key in keys]
    if not cached:
        return sparse.csr_matrix((0, len(model.feature_names())), dtype=np.float32), np.zeros(
            (0, model.dim), np.float32
        )
    return sparse.vstack([row for row, _ in cached]).tocsr(), np.stack([d for _, d in cached])


def trending_scores(papers: Sequence[Paper], weights: dict) -> np.ndarray:
    """Upvotes and comments on a log scale in [0, 1], decayed by age since first listed."""
    if not papers:
        return np.zeros(0, np.float32)
    newest = max(p.first_seen for p in papers)
    scale = math.log1p(max(weights["trending_upvotes_scale"], 1.0))
    half_life = max(weights["recency_half_life_days"], 0.01)
    scores = []
    for paper in papers:
        signal = math.log1p(paper.upvotes + weights["trending_comments"] * paper.num_comments)
        age = (newest - paper.first_seen).days
        scores.append(min(signal / scale, 1.0) * 0.5 ** (age / half_life))
    return np.asarray(scores, np.float32)


def prepare_candidates(
    papers: Iterable[Paper], model: FittedModel | None, *, weights: dict | None = None
) -> CandidateBatch:
    weights = {**settings.RANKING_WEIGHTS, **(weights or {})}
    papers = list(papers)
    featured = np.array([p.curation == Paper.Curation.FEATURED for p in papers], bool)
    prior = weights["trending"] * trending_scores(papers, weights) + weights["featured"] * featured
    rows, dense = paper_vectors(model, papers) if model is not None else (None, None)
    scoring = model.scoring_rows(rows, dense) if model is not None else None
    return CandidateBatch(
        papers=papers,
        keys=[paper_key(p) for p in papers],
        sparse=rows,
        dense=dense,
        scoring=scoring,
        prior=prior.astype(np.float32),
        pinned=np.array([p.curation == Paper.Curation.PINNED for p in papers], bool),
        hidden=np.array([p.curation == Paper.Curation.HIDDEN for p in papers], bool),
    )


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


def matching_terms(
    model: FittedModel, profile: profiles.Profile, row: sparse.csr_matrix, *, limit: int = 3
) -> list[str]:
    """The words shared by profile and paper that contribute most, the subscriber's own first.

    A term's contribution is its TF-IDF weight in the paper times its weight in the profile: the
    subscriber's own words (text, keywords) count fully, the terms the expanded profile leans on
    (its LSA loadings) count `explain_related_terms`, so "robotics" can explain a paper with
    "manipulation" and "grasping".
    """
    indices, values = row.indices, row.data
    if len(indices) == 0:
        return []
    own = np.zeros(len(indices), np.float32)
    if profile.user_terms is not None and profile.user_terms.nnz:
        terms = profile.user_terms
        # Both index lists are sorted: intersect them instead of slicing a sparse matrix.
        _shared, in_paper, in_profile = np.intersect1d(
            indices, terms.indices, assume_unique=True, return_indices=True
        )
        own[in_paper] = terms.data[in_profile]
    related = np.zeros(len(indices), np.float32)
    if model.svd is not None and profile.vector is not None:
        related = np.maximum(model.svd.components_[:, indices].T @ profile.vector, 0.0)
        if related.max() > 0:
            related = related / related.max()
    weights = settings.RANKING_WEIGHTS
    contribution = values * (
        own / max(own.max(), 1e-9) + weights["explain_related_terms"] * related
    )
    # Words in more than a tenth of all papers ("learning", "training") explain nothing: the
    # smoothed idf of a word in that share of papers is 1 + ln(1 / share).
    generic_idf = 1 + math.log(1 / min(max(weights["explain_max_paper_share"], 1e-6), 1.0))
    contribution[model.vectorizer.idf_[indices] < generic_idf] = 0.0
    names = model.feature_names()
    terms: list[str] = []
    covered: set[str] = set()
    for j in np.argsort(-contribution):
        if contribution[j] <= 0 or len(terms) >= limit:
            break
        term = str(names[indices[j]])
        words = set(term.split())
        if words <= covered:
            continue
        terms = [t for t in terms if not set(t.split()) <= words]  # a bigram replaces its words
        terms.append(term)
        covered |= words
    return terms


def explain(
    model: FittedModel | None,
    profile: profiles.Profile | None,
    batch: CandidateBatch,
    index: int,
) -> str:
    paper = batch.papers[index]
    parts = []
    if paper.curation == Paper.Curation.PINNED:
        parts.append("pinned by the editors")
    elif paper.curation == Paper.Curation.FEATURED:
        parts.append("featured by the editors")
    if model is not None and profile is not None and not profile.empty:
        text = f"{paper.title} {paper.abstract}".lower()
        own = [k for k in profile.keywords if k.lower() in text]
        terms = own + [
            t
            for t in matching_terms(model, profile, batch.sparse[index])
            if not any(t in k.lower() for k in own)
        ]
        similar = _most_similar(profile, batch.dense[index])
        if similar:
            parts.append(similar)
        if terms:
            parts.append("matches: " + ", ".join(terms[:3]))
    signals = _signals(paper)
    if signals and (len(parts) < 2 or profile is None or profile.empty):
        parts.append("trending: " + signals)
    if not parts:
        parts.append("close to your interests" if profile and not profile.empty else "new")
    return "; ".join(parts)[:300]


def _most_similar(profile: profiles.Profile, vector: np.ndarray) -> str:
    for label, papers in (
        ("similar to a paper you liked", profile.liked),
        ("similar to your seed paper", profile.seeds),
    ):
        if papers:
            sims = [float(v @ vector) for _title, v in papers]
            best = int(np.argmax(sims))
            if sims[best] >= settings.RANKING_WEIGHTS["explain_similar_paper"]:
                title = papers[best][0]
                title = title if len(title) <= 80 else title[:77] + "..."
                return f"{label}: “{title}”"
    return ""


def _signals(paper: Paper) -> str:
    bits = []
    if paper.upvotes:
        bits.append(f"{paper.upvotes} upvote{'s' if paper.upvotes != 1 else ''}")
    if paper.num_comments:
        bits.append(f"{paper.num_comments} comment{'s' if paper.num_comments != 1 else ''}")
    return ", ".join(bits)


# --- Ranking one profile, many profiles, or none --------------------------------------------------


def ranker_label(model: FittedModel) -> str:
    return model.version[:64] or "tfidf-lsa"


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
        relevance = batch.scoring @ profile.scoring
    scores = weights["relevance"] * relevance + batch.prior
    eligible = eligible_for(profile, batch, relevance, allowed, weights)
    picks = select_batch(scores, eligible, batch.pinned, batch.dense, limit=limit, weights=weights)[
        0
    ]
    return _result(model, profile, batch, scores, picks)


def eligible_for(
    profile: profiles.Profile,
    batch: CandidateBatch,
    relevance: np.ndarray,
    allowed: np.ndarray | None,
    weights: dict,
) -> np.ndarray:
    """Candidates this subscriber may get: not hidden, not known to them, in their window and
    relevant enough (pinned papers need no relevance)."""
    relevant_enough = (relevance >= weights["min_relevance"]) | batch.pinned
    eligible = relevant_enough & ~batch.hidden
    if profile.known_keys:
        eligible &= np.array([k not in profile.known_keys for k in batch.keys], bool)
    if allowed is not None:
        eligible &= allowed
    return eligible


def _result(
    model: FittedModel,
    profile: profiles.Profile,
    batch: CandidateBatch,
    scores: np.ndarray,
    picks: np.ndarray,
) -> RankingResult:
    ranked = [
        RankedPaper(batch.papers[i], float(scores[i]), explain(model, profile, batch, i))
        for i in picks
        if i >= 0
    ]
    return RankingResult(ranked, ranker_label(model), list(profile.messages))


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


def rank_with_details(
    profile: InterestProfile,
    candidates: Iterable[Paper],
    *,
    limit: int,
    model: FittedModel | None = None,
) -> RankingResult:
    """The digest of one profile: ranked picks, the ranker's label and any notes for the reader."""
    return rank_many([profile], candidates, limit=limit, model=model)[0]


def rank_many(
    interest_profiles: Sequence[InterestProfile],
    candidates: Iterable[Paper],
    *,
    limit: int,
    model: FittedModel | None = None,
    allowed: Sequence[np.ndarray | None] | None = None,
) -> list[RankingResult]:
    """Rank the same candidates for many profiles: one model load, one paper transform and one
    matrix product for the whole batch. `allowed[i]` masks the candidates open to profile i
    (its period's window, minus what it already received)."""
    model = model if model is not None else model_store.load_current()
    batch = prepare_candidates(candidates, model)
    allowed = allowed or [None] * len(interest_profiles)
    if model is None:
        return [rank_trending(batch, limit=limit, messages=[NO_MODEL], allowed=a) for a in allowed]
    built = profiles.profiles_for(model, interest_profiles)
    weights = settings.RANKING_WEIGHTS
    usable = [i for i, p in enumerate(built) if p is not None and not p.empty]
    picks = relevance = scores = None
    if usable:
        # The chunk's one matrix product, then one vectorised selection for all its rows. Both
        # are small: one BLAS thread is faster than several fighting the other workers' cores.
        limiter = threadpool_limits(limits=1, user_api="blas")
        relevance = np.stack([built[i].scoring for i in usable]) @ batch.scoring.T
        scores = weights["relevance"] * relevance + batch.prior
        eligible = (
            np.stack(
                [
                    eligible_for(built[i], batch, relevance[row], allowed[i], weights)
                    for row, i in enumerate(usable)
                ]
            )
            if len(batch.papers)
            else np.zeros((len(usable), 0), bool)
        )
        picks = select_batch(
            scores, eligible, batch.pinned, batch.dense, limit=limit, weights=weights
        )
        limiter.restore_original_limits()
    rows = {i: row for row, i in enumerate(usable)}
    results = []
    for i, (profile, mask) in enumerate(zip(built, allowed, strict=True)):
        if profile is None or profile.empty:
            messages = [*(profile.messages if profile else []), EMPTY_PROFILE]
            results.append(rank_trending(batch, limit=limit, messages=messages, allowed=mask))
        else:
            row = rows[i]
            results.append(_result(model, profile, batch, scores[row], picks[row]))
    return results


def rank_papers(
    profile: InterestProfile, candidates: Iterable[Paper], *, limit: int
) -> list[RankedPaper]:
    return rank_with_details(profile, candidates, limit=limit).picks


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
