"""Candidates: which papers a digest may hold, with the rows ranking needs, computed once per batch.

The one home of candidate selection: scoring, digests and previews all take their papers from
`recent_papers` / `candidate_window` and turn them into a `CandidateBatch` with
`prepare_candidates`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from django.conf import settings
from django.db.models import Max, QuerySet
from django.utils import timezone
from scipy import sparse

from accounts.models import Subscriber

from ..model import embeddings, lexical
from ..model.features import FittedModel, paper_text
from ..models import DigestItem, Paper


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
    # The papers on the lexical side (model/lexical.BatchTerms): the stem keys each contains,
    # for explanations and for a chunk's lexical product.
    terms: lexical.BatchTerms | None = None
    # The papers' sentence embeddings, when the optional encoder is on and the model was fitted
    # with it (model/embeddings.py); None otherwise.
    embeddings: np.ndarray | None = None
    # Per-paper parts explanations read, filled as they are first needed (explanations.py).
    explained: dict = field(default_factory=dict, init=False, repr=False, compare=False)


def paper_key(paper: Paper) -> str:
    return str(paper.pk) if paper.pk is not None else (paper.arxiv_id or paper.title_key)


_vectors: dict[tuple, tuple] = {}


_VECTOR_CACHE_SIZE = 50_000


def paper_vectors(
    model: FittedModel, papers: Sequence[Paper]
) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """Sparse, dense and scoring rows of `papers`, transformed with the current model (no refit
    needed).

    Rows are cached per process by model version and paper text, so a day's papers are
    transformed once however many chunks a worker scores (the scoring rows' word-context
    half read 20,000 word vectors per chunk when it was not).
    """
    # (Whether the model has the word-context space is part of the key: the scoring rows differ.)
    space = (model.version, model.has_context)
    keys = [(space, paper_key(p), hash((p.title, p.abstract))) for p in papers]
    missing = [i for i, key in enumerate(keys) if key not in _vectors]
    if missing:
        if len(_vectors) + len(missing) > _VECTOR_CACHE_SIZE:
            _vectors.clear()
        rows, dense = model.transform_papers((papers[i].title, papers[i].abstract) for i in missing)
        scoring = model.scoring_rows(rows, dense)
        for j, i in enumerate(missing):
            _vectors[keys[i]] = (rows[j], dense[j], scoring[j])
    cached = [_vectors[key] for key in keys]
    if not cached:
        rows = sparse.csr_matrix((0, len(model.feature_names())), dtype=np.float32)
        dense = np.zeros((0, model.dim), np.float32)
        return rows, dense, model.scoring_rows(rows, dense)
    dense = np.stack([d for _, d, _ in cached])
    # Without the word-context space the scoring rows are the LSA rows themselves.
    scoring = np.stack([s for _, _, s in cached]) if model.has_context else dense
    return sparse.vstack([row for row, _, _ in cached]).tocsr(), dense, scoring


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
    rows, dense, scoring = paper_vectors(model, papers) if model is not None else (None,) * 3
    return CandidateBatch(
        terms=(
            lexical.BatchTerms.of(
                lexical.paper_rows(model, rows),
                texts=[paper_text(p.title, p.abstract) for p in papers],
                model=model,
            )
            if model is not None
            else None
        ),
        papers=papers,
        keys=[paper_key(p) for p in papers],
        sparse=rows,
        dense=dense,
        scoring=scoring,
        prior=prior.astype(np.float32),
        pinned=np.array([p.curation == Paper.Curation.PINNED for p in papers], bool),
        hidden=np.array([p.curation == Paper.Curation.HIDDEN for p in papers], bool),
        embeddings=paper_embeddings(model, papers),
    )


def paper_embeddings(model: FittedModel | None, papers: Sequence[Paper]) -> np.ndarray | None:
    """The papers' sentence embeddings (cached per process by text), or None when the optional
    encoder is off or the model was fitted without it."""
    if model is None or getattr(model, "reference_embeddings", None) is None:
        return None
    if not embeddings.enabled():
        return None
    return embeddings.embed_papers([(p.title, p.abstract) for p in papers])


def recent_papers(*, days: int, today: date | None = None) -> QuerySet[Paper]:
    """Papers first listed in the `days` listing days up to the newest sane one, hidden ones
    left out.

    The window ends at the newest listing day held that is not after `today` (default: the
    clock): a late ingestion or a replayed archive still yields its latest papers, and a row
    dated in the future (which ingestion now rejects, but older rows may hold) can no longer
    move the window past every real paper and empty the digests.
    """
    today = today or timezone.now().date()
    newest = Paper.objects.filter(first_seen__lte=today).aggregate(newest=Max("first_seen"))[
        "newest"
    ]
    if newest is None:
        return Paper.objects.none()
    return Paper.objects.filter(
        first_seen__gt=newest - timedelta(days=days), first_seen__lte=newest
    ).exclude(curation=Paper.Curation.HIDDEN)


def candidate_window(subscribers: list[Subscriber]) -> tuple[list[Paper], list[np.ndarray]]:
    """The recent papers of a batch of subscribers, and for each one the mask of those open to
    them: inside their frequency's lookback window and not sent to them before.

    Loaded once per batch (one Celery chunk, or a single subscriber) so the candidates are
    fetched and transformed once, whatever the number of subscribers.
    """
    lookbacks = [settings.DIGEST_LOOKBACK_DAYS[s.profile.frequency] for s in subscribers]
    candidates = list(recent_papers(days=max(lookbacks)))
    newest = max((p.first_seen for p in candidates), default=None)
    received: dict[int, set[int]] = {}
    for subscriber_id, paper_id in DigestItem.objects.filter(
        digest__subscriber__in=subscribers, paper_id__in=[p.pk for p in candidates]
    ).values_list("digest__subscriber_id", "paper_id"):
        received.setdefault(subscriber_id, set()).add(paper_id)
    # Per subscriber as array operations: a chunk is 500 readers x about a thousand papers.
    days = np.array([p.first_seen.toordinal() for p in candidates], dtype=np.int64)
    ids = np.array([p.pk for p in candidates], dtype=np.int64)
    allowed = []
    for subscriber, lookback in zip(subscribers, lookbacks, strict=True):
        mask = days > newest.toordinal() - lookback if newest else np.zeros(0, bool)
        sent = received.get(subscriber.pk)
        if sent:
            mask &= ~np.isin(ids, np.fromiter(sent, dtype=np.int64, count=len(sent)))
        allowed.append(mask)
    return candidates, allowed
