"""Ranking for stored subscribers: load the model and their profiles, rank a chunk at once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from django.conf import settings
from threadpoolctl import threadpool_limits

from accounts.models import InterestProfile, Subscriber

from ..model import store as model_store
from ..model.features import FittedModel
from ..model.profiles import Profile
from ..models import Paper
from . import subscriber_profiles
from .candidates import CandidateBatch, candidate_window, prepare_candidates, recent_papers
from .scoring import (
    EMPTY_PROFILE,
    NO_MODEL,
    RankedPaper,
    RankingResult,
    calibration_of,
    open_to,
    rank_trending,
    ranked_result,
    relevance_many,
    select_with_floor,
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
    built = subscriber_profiles.profiles_for(model, interest_profiles)
    return rank_built(model, built, batch, limit=limit, allowed=allowed)


def rank_built(
    model: FittedModel,
    built: Sequence[Profile | None],
    batch: CandidateBatch,
    *,
    limit: int,
    allowed: Sequence[np.ndarray | None],
) -> list[RankingResult]:
    """Rank prepared candidates for already built profiles (None: could not be built)."""
    weights = settings.RANKING_WEIGHTS
    usable = [i for i, p in enumerate(built) if p is not None and not p.empty]
    picks = relevance = scores = None
    if usable:
        # The chunk's one matrix product, then one vectorised selection for all its rows. Both
        # are small: one BLAS thread is faster than several fighting the other workers' cores.
        limiter = threadpool_limits(limits=1, user_api="blas")
        chosen = [built[i] for i in usable]
        relevance = relevance_many(chosen, batch)
        scores = weights["relevance"] * relevance + batch.prior
        open_mask = (
            np.stack([open_to(built[i], batch, allowed[i]) for i in usable])
            if len(batch.papers)
            else np.zeros((len(usable), 0), bool)
        )
        floors = np.array([calibration_of(p).floor for p in chosen], np.float32)
        picks = select_with_floor(
            scores, relevance, floors, open_mask, batch, limit=limit, weights=weights
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
            results.append(
                ranked_result(
                    model, profile, batch, scores[row], picks[row], relevance[row], open_mask[row]
                )
            )
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
    profile = InterestProfile(
        interests_text=interests_text, keywords=keywords or [], categories=categories or []
    )
    return rank_papers(profile, recent_papers(days=2), limit=limit)


def rank_alone(subscriber: Subscriber) -> RankingResult:
    """Rank one subscriber's candidates (the batch path does the same for a whole chunk)."""
    candidates, allowed = candidate_window([subscriber])
    return rank_many(
        [subscriber.profile], candidates, limit=settings.DIGEST_MAX_ITEMS, allowed=allowed
    )[0]


def preview_digest(subscriber: Subscriber) -> RankingResult:
    """What the subscriber's next digest would hold if it were built now; nothing is stored."""
    return rank_alone(subscriber)
