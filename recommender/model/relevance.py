"""Relevance: the semantic and the lexical part on one scale, and the floor of a match.

A profile has two scores for a paper: the semantic one (the blend of LSA and word-context
cosines, profiles.scoring_vector) and the lexical one (lexical.py: how much of the weight of the
person's own words the paper contains). Their raw values are not comparable across parts or
across profiles: a broad profile's cosines run high, a sentence's lexical coverage runs low. So
each is calibrated against the profile's own scores over a fixed sample of stored papers (the
model's reference rows, `features.REFERENCE_PAPERS` of them spread over the corpus):

    calibrated = (raw - median over the sample) / (its `reference_quantile` - that median)

so 0 is a typical stored paper and 1 is a paper as close as the profile's top 1% of them, for
each part. Relevance is `(1 - share) x semantic + share x lexical part` (PROFILE_LEXICAL_*),
so neither part can bury the other; the share is per profile (`lexical_share`): the full
PROFILE_LEXICAL_WEIGHT for a profile of many typed terms or with keywords (or
PROFILE_LEXICAL_KEYWORDS_WEIGHT for the latter, when set), less for one of a word or two. It
stays a per-profile affine map of two dot products: ranking computes it for a chunk as one
dense product, one sparse product and three vectors (`Calibration.semantic`, `.lexical`,
`.offset`).

The floor: a paper matches a profile when its relevance reaches the profile's floor, the
higher of `floor` (in calibrated units) and the relevance of the profile's top `floor_share`
of the reference sample, so a profile matches about as many papers as its own score
distribution says are close, and never ones merely above the median.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from . import lexical, mapped
from .features import FittedModel, reference_sample

# The smallest spread accepted as a calibration scale: a profile whose words never occur in the
# sample (lexical spread 0) must not have its rare matches blown up without bound.
MIN_SPREAD = 1e-3


@dataclass(frozen=True)
class Calibration:
    """relevance = semantic x (semantic dot) + lexical x (lexical dot)
    + embedding x (embedding cosine) + offset."""

    semantic: float
    lexical: float
    offset: float
    floor: float
    # The optional sentence-embedding part (embeddings.py); 0 when off. A default, so profiles
    # cached before it existed still load.
    embedding: float = 0.0

    @classmethod
    def identity(cls, floor: float) -> Calibration:
        """Relevance is the semantic dot itself (no reference sample to calibrate against)."""
        return cls(semantic=1.0, lexical=0.0, offset=0.0, floor=floor)


def _centre_and_spread(scores: np.ndarray, quantile: float) -> tuple[float, float]:
    centre = float(np.median(scores))
    return centre, max(float(np.quantile(scores, quantile)) - centre, MIN_SPREAD)


def lexical_share(effective_terms: float, weights: dict) -> float:
    """The lexical part's share of one profile's relevance: `lexical` for a profile of at least
    `lexical_full_terms` effective terms (lexical.effective_terms), less in proportion for one
    of fewer. A keywords list or a sentence (10-20 terms) gets the full share; "Papers on
    robotics" (one term) a twelfth of it, since a one-word coverage is a yes/no that ranks
    below the semantic score (chosen on topic half A and May, docs/benchmarks.md)."""
    share = min(max(weights["lexical"], 0.0), 1.0)
    full = weights.get("lexical_full_terms", 0.0)
    if full > 0:
        share *= min(1.0, max(effective_terms, 0.0) / full)
    return share


def calibrate(
    semantic_reference: np.ndarray | None,
    lexical_reference: np.ndarray | None,
    *,
    weights: dict,
    effective_terms: float = float("inf"),
    embedding_reference: np.ndarray | None = None,
) -> Calibration:
    """The calibration of one profile from its raw scores over the reference sample.

    `lexical_reference` is None for a profile without words of its own (seeds, categories,
    feedback only): relevance is then its calibrated semantic score alone. `effective_terms`
    (of its lexical weights) sets the lexical part's share (`lexical_share`).
    `embedding_reference` (the optional encoder's cosines, embeddings.py) takes the share
    `embedding` of the whole, the other two keeping theirs of the rest.
    """
    if semantic_reference is None or len(semantic_reference) == 0:
        return Calibration.identity(weights["floor"])
    quantile = weights["reference_quantile"]
    share = 0.0
    if lexical_reference is not None:
        share = lexical_share(effective_terms, weights)
    s_centre, s_spread = _centre_and_spread(semantic_reference, quantile)
    a = (1 - share) / s_spread
    offset = -a * s_centre
    b = 0.0
    if share > 0:
        l_centre, l_spread = _centre_and_spread(lexical_reference, quantile)
        b = share / l_spread
        offset -= b * l_centre
    e = 0.0
    embedding_share = min(max(weights.get("embedding", 0.0), 0.0), 1.0)
    if embedding_reference is not None and len(embedding_reference) and embedding_share > 0:
        e_centre, e_spread = _centre_and_spread(embedding_reference, quantile)
        keep = 1 - embedding_share  # what the other two parts keep between them
        a, b, offset = keep * a, keep * b, keep * offset
        e = embedding_share / e_spread
        offset -= e * e_centre
    reference = a * semantic_reference + offset
    if share > 0:
        reference = reference + b * lexical_reference
    if e > 0:
        reference = reference + e * embedding_reference
    top = float(np.quantile(reference, 1 - weights["floor_share"]))
    return Calibration(
        semantic=a, lexical=b, offset=offset, floor=max(weights["floor"], top), embedding=e
    )


def combine(
    semantic: np.ndarray,
    lexical: np.ndarray | sparse.spmatrix | None,
    calibrations: list[Calibration],
    embedding: np.ndarray | None = None,
) -> np.ndarray:
    """Relevance of a chunk: (profiles x papers) raw scores of the parts -> calibrated sum."""
    a = np.array([c.semantic for c in calibrations], np.float32)[:, None]
    c = np.array([c.offset for c in calibrations], np.float32)[:, None]
    relevance = a * semantic + c
    if lexical is not None:
        b = np.array([c.lexical for c in calibrations], np.float32)[:, None]
        lexical = lexical.toarray() if sparse.issparse(lexical) else lexical
        relevance += b * lexical
    if embedding is not None:
        # (getattr: profiles cached before the part existed have no such field.)
        e = np.array([getattr(c, "embedding", 0.0) for c in calibrations], np.float32)
        relevance += e[:, None] * embedding
    return relevance.astype(np.float32, copy=False)


def lexical_weight(weights: dict, *, keywords: bool) -> float:
    """The lexical share setting that applies to a profile: `lexical_keywords` for one with
    keywords when it is set, else `lexical`."""
    if keywords and weights.get("lexical_keywords") is not None:
        return weights["lexical_keywords"]
    return weights["lexical"]


def calibrate_profile(
    model: FittedModel,
    scoring: np.ndarray | None,
    own: sparse.csr_matrix | None,
    weights: dict,
    *,
    keywords: bool = False,
    embedding: np.ndarray | None = None,
    unseen: tuple[tuple[str, float], ...] = (),
) -> Calibration | None:
    """A built profile's calibration against its scores over the model's reference sample
    (`scoring`: its semantic scoring vector; `own`: its lexical term weights, if any;
    `embedding`: its sentence embedding, when the optional encoder is on).

    A profile with keywords gets the full lexical share however few its terms (`lexical_weight`
    says which setting): keywords were chosen one by one, and are never damped away ("protein
    design, AlphaFold").

    `unseen` (typed terms the vocabulary lacks, lexical.profile_weights) are in none of the
    sample's rows: they add nothing to its scores, only to the profile's count of terms."""
    if scoring is None:
        return None
    weights = {**weights, "lexical": lexical_weight(weights, keywords=keywords)}
    has_terms = own is not None or bool(unseen)
    lexical_rows = lexical.reference_rows(model) if has_terms else None
    lexical_scores = None
    if lexical_rows is not None:
        if own is not None:
            lexical_scores = np.asarray((lexical_rows @ own.T).todense()).ravel()
        else:
            lexical_scores = np.zeros(lexical_rows.shape[0], np.float32)
    return calibrate(
        reference_scoring(model) @ scoring,
        lexical_scores,
        weights=weights,
        effective_terms=float("inf") if keywords else lexical.effective_terms(own, unseen),
        embedding_reference=embedding_reference(model, embedding),
    )


def embedding_reference(model: FittedModel, embedding: np.ndarray | None) -> np.ndarray | None:
    """The profile's embedding cosines over the reference sample (None without that part)."""
    if embedding is None or getattr(model, "reference_embeddings", None) is None:
        return None
    # Widened once per loaded model, not once per profile built (as reference_scoring).
    rows = getattr(model, "_reference_embeddings32", None)
    if rows is None:
        rows = model._reference_embeddings32 = model.reference_embeddings.astype(np.float32)
    return rows @ embedding


def reference_scoring(model: FittedModel) -> np.ndarray:
    """The reference sample's scoring rows (LSA, then word-context), once per loaded model.
    Artifacts from before the sample was kept use the same spread of their corpus rows."""
    width = model.dim + (model.context_vectors.shape[1] if model.has_context else 0)
    cached = getattr(model, "_reference_scoring", None)
    if cached is None or cached.shape[1] != width:  # (a copy of a model with another space)
        index = getattr(model, "reference_index", None)
        if index is None:
            index = reference_sample(len(model.corpus_ids))
        cached = mapped.rows(model.corpus_matrix, index).astype(np.float32)
        if model.has_context:
            context = mapped.rows(model.context_matrix, index).astype(np.float32)
            cached = np.hstack([cached, context])
        model._reference_scoring = np.ascontiguousarray(cached)
    return cached
