"""Why each paper of a preview scored what it did: the score split into its parts.

final = w_relevance * relevance + w_trending * trending + curation, where relevance is the sum
of four parts on the profile's calibrated scale (model/relevance.py): the LSA half and the
word-context half of the semantic score (the profile's scoring vector dotted with the paper's
row, half by half, each times the profile's semantic calibration factor), the lexical part (the
share of the person's own terms the paper contains, times its lexical factor) and the profile's
offset; they add up to the relevance ranking uses. Trending fallback digests have no
relevance; their small tie-break for newer papers is shown instead. Pinned papers are placed
first by rule, not by score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.conf import settings

from accounts.models import Subscriber

from ..model import store as model_store
from ..models import Paper
from . import subscriber_profiles
from .candidates import candidate_window, prepare_candidates, trending_scores
from .scoring import TRENDING_RANKER, RankingResult, calibration_of, lexical_part
from .subscribers import preview_digest


@dataclass(frozen=True)
class ScoreParts:
    paper: Paper
    reason: str
    final: float
    trending: float
    curation: float
    pinned: bool
    # None for a trending-fallback pick (no relevance was computed).
    relevance: float | None = None
    relevance_lsa: float | None = None
    relevance_context: float | None = None
    relevance_lexical: float | None = None
    relevance_offset: float | None = None
    relevance_weight: float = 1.0
    # Trending fallback only: newer papers win ties (-0.001 per day older than the newest).
    age_tiebreak: float = 0.0


def preview_with_breakdown(subscriber: Subscriber) -> tuple[RankingResult, list[ScoreParts]]:
    """The subscriber's preview (`preview_digest`, the digest path) and each pick's parts."""
    result = preview_digest(subscriber)
    if not result.picks:
        return result, []
    model = model_store.load_current()
    weights = settings.RANKING_WEIGHTS
    candidates, _allowed = candidate_window([subscriber])
    batch = prepare_candidates(candidates, model)
    trending = weights["trending"] * trending_scores(batch.papers, weights)
    position = {paper.pk: i for i, paper in enumerate(batch.papers)}
    profile = None
    if model is not None and result.ranker != TRENDING_RANKER:
        profile = subscriber_profiles.profiles_for(model, [subscriber.profile])[0]
    newest = max((p.first_seen for p in batch.papers), default=None)
    lexical = None
    if profile is not None and not profile.empty:
        scores = lexical_part([profile], batch)
        lexical = scores[0] if scores is not None else None
    parts = []
    for pick in result.picks:
        i = position[pick.paper.pk]
        paper = batch.papers[i]
        featured = weights["featured"] if paper.curation == Paper.Curation.FEATURED else 0.0
        common = {
            "paper": pick.paper,
            "reason": pick.reason,
            "final": pick.score,
            "trending": float(trending[i]),
            "curation": float(featured),
            "pinned": paper.curation == Paper.Curation.PINNED,
            "relevance_weight": weights["relevance"],
        }
        if profile is None or profile.empty or profile.scoring is None:
            age = (newest - paper.first_seen).days if newest else 0
            parts.append(ScoreParts(**common, age_tiebreak=-1e-3 * age))
            continue
        calibration = calibration_of(profile)
        lsa, context = _relevance_halves(model.dim, batch.scoring[i], profile.scoring)
        lsa, context = calibration.semantic * lsa, calibration.semantic * context
        own = calibration.lexical * float(lexical[i]) if lexical is not None else 0.0
        parts.append(
            ScoreParts(
                **common,
                relevance=lsa + context + own + calibration.offset,
                relevance_lsa=lsa,
                relevance_context=context,
                relevance_lexical=own,
                relevance_offset=calibration.offset,
            )
        )
    return result, parts


def _relevance_halves(dim: int, row: np.ndarray, vector: np.ndarray) -> tuple[float, float]:
    lsa = float(np.dot(row[:dim], vector[:dim]))
    context = float(np.dot(row[dim:], vector[dim:])) if vector.shape[0] > dim else 0.0
    return lsa, context
