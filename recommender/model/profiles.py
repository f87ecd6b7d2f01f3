"""Profiles: one vector per subscriber from everything they told us and everything they did.

The parts of an InterestProfile (free text, keywords, arXiv categories, seed papers) and the
subscriber's feedback are each turned into a unit vector in the model's dense space and summed
with the weights of settings.PROFILE_WEIGHTS:

* text and keywords: their TF-IDF (the text's words common to many papers damped when it has
  specific ones, or on a large model every word's LSA length levelled: _semantic_rows) -> LSA
  vector, then query expansion (pseudo-relevance feedback):
  the centroid of the stored papers nearest to it (optionally: with the nearest titles) is
  added, so "papers on robotics" also reaches abstracts about grasping and legged locomotion
  that never say "robotics";
* categories: the centroid of the stored papers listed in each category (kept in the artifact);
* seed papers: the centroid of their vectors, expanded the same way;
* feedback (Rocchio): alpha * profile + beta * centroid(liked, clicks weighted down)
  - gamma * centroid(disliked).

The result is read a second time in the model's word-context space (scoring_vector): the
profile's own words and seed papers there plus the centroid there of its nearest stored papers
in LSA space. Relevance blends the two cosines (PROFILE_CONTEXT_*); a profile with no words or
seeds of its own in that space is scored on LSA alone.

`build_profile` is pure (model + ProfileSpec -> Profile) so the offline evaluation and the
benchmarks build profiles through exactly the code real subscribers go through;
`spec_for_subscriber` does the database part (seed resolution, feedback events).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from scipy import sparse

from . import embeddings, lexical, mapped, query_shaping, relevance
from .features import FittedModel, english_words, l2_normalise, paper_text
from .interest_text import clean_interest_text, language_problem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PaperDoc:
    """A paper a profile refers to (a seed or a feedback target)."""

    key: str
    title: str
    abstract: str


@dataclass
class ProfileSpec:
    """The raw inputs of one profile, already resolved to papers."""

    text: str = ""
    keywords: Sequence[str] = ()
    categories: Sequence[str] = ()
    seeds: Sequence[PaperDoc] = ()
    liked: Sequence[PaperDoc] = ()
    clicked: Sequence[PaperDoc] = ()
    disliked: Sequence[PaperDoc] = ()
    messages: list[str] = field(default_factory=list)

    @property
    def known_keys(self) -> set[str]:
        """Papers the subscriber already knows: never recommended back to them."""
        return {doc.key for doc in [*self.seeds, *self.liked, *self.clicked, *self.disliked]}


@dataclass
class Profile:
    """A built profile: what ranking and explanations need."""

    vector: np.ndarray | None
    # TF-IDF weights of the subscriber's own words (text + keywords), for explanations.
    user_terms: sparse.csr_matrix | None
    keywords: list[str]
    # (title, dense vector) of liked papers and of seed papers, for "similar to ..." reasons.
    liked: list[tuple[str, np.ndarray]]
    seeds: list[tuple[str, np.ndarray]]
    known_keys: set[str]
    parts: list[str]
    messages: list[str]
    # What relevance is computed with: the LSA vector, followed (when the model has a
    # word-context space) by the profile's word-context vector, each scaled by its share of the
    # blend; dotted with a paper's scoring row (ranking.CandidateBatch.scoring) it gives
    # (1 - share) x LSA cosine + share x word-context cosine.
    scoring: np.ndarray | None = None
    # The lexical part (lexical.py): the weights of the person's own terms over stem keys, and
    # those terms for explanations ("matches your keywords: protein design").
    lexical: sparse.csr_matrix | None = None
    # ...and its typed terms the model's vocabulary lacks, matched as written: (stem, weight),
    # the weights summing to 1 with those above (lexical.profile_weights).
    unseen: tuple[tuple[str, float], ...] = ()
    own_terms: list[lexical.OwnTerm] = field(default_factory=list)
    # How the two parts make one relevance, and the floor of a match (relevance.py).
    calibration: relevance.Calibration | None = None
    # The interest text as the person wrote it (spaces folded): how a digest's note names it.
    text: str = ""
    # Its text and keywords read by the optional sentence encoder (embeddings.py), else None.
    embedding: np.ndarray | None = None

    @property
    def empty(self) -> bool:
        return self.vector is None


def _centroid(vectors: np.ndarray) -> np.ndarray | None:
    if len(vectors) == 0:
        return None
    centroid = l2_normalise(vectors.mean(axis=0))
    return centroid if np.any(centroid) else None


def build_profile(model: FittedModel, spec: ProfileSpec, *, weights: dict | None = None) -> Profile:
    """One unit vector for `spec` (None when nothing usable), plus what explanations need."""
    weights = {**settings.PROFILE_WEIGHTS, **(weights or {})}
    messages = list(spec.messages)
    parts: list[tuple[str, float, np.ndarray]] = []
    expand = {"docs": weights["expansion_docs"], "weight": weights["expansion"]}
    expand_text = {
        "docs": weights["text_expansion_docs"],
        "weight": weights["text_expansion"],
        "by_title": weights["text_expansion_by_title"],
    }

    expand_terms = {
        "terms": weights["text_term_expansion_terms"],
        "weight": weights["text_term_expansion"],
        "min_docs": weights["text_term_expansion_min_docs"],
    }

    damp_common = {
        "share": weights["text_common_word_share"],
        "weight": weights["text_common_word_weight"],
        "min_specific": weights["text_common_word_min_specific"],
    }

    text = clean_interest_text(spec.text)
    keywords = [" ".join(k.split()) for k in spec.keywords if k and k.strip()]
    user_terms = None
    # The profile's own words and papers in the word-context space (scoring_vector).
    context_parts: list[tuple[float, np.ndarray | None]] = []
    if text or keywords:
        problem = language_problem(spec.text, english_words(model))
        if problem:
            messages.append(problem)
        text_rows = model.sparse([text, " ".join(keywords)])
        # Keywords are terms the subscriber chose one by one: all of them count fully.
        user_text_row = query_shaping.damp_common_words(model, text_rows[0], **damp_common)
        text_row, context_row = _semantic_rows(model, text_rows[0], user_text_row, weights)
        user_terms = sparse.csr_matrix(user_text_row + text_rows[1])
        for name, row, context in (
            ("text", text_row, context_row),
            ("keywords", text_rows[1], text_rows[1]),
        ):
            if row.nnz == 0:
                continue
            vector = model.dense_from_sparse(
                query_shaping.expand_terms(model, row, **expand_terms)
            )[0]
            if np.any(vector):
                parts.append(
                    (name, weights[name], query_shaping.expand(model, vector, **expand_text))
                )
                if model.has_context:
                    context_parts.append((weights[name], model.context_from_sparse(context)[0]))
        if not any(name in ("text", "keywords") for name, *_ in parts) and not problem:
            messages.append("None of the words of your interests appear in the stored papers.")
        elif rare := lexical.unknown_keywords(model, keywords):
            matched = weights.get("lexical_unseen", "") in ("keywords", "all")
            messages.append(lexical.rare_keywords_note(rare, matched_as_written=matched))

    centroids = [
        model.category_centroids[c] for c in spec.categories if c in model.category_centroids
    ]
    unknown = [c for c in spec.categories if c not in model.category_centroids]
    if unknown:
        messages.append(f"No stored papers in categories {', '.join(unknown)} yet.")
    if centroids:
        parts.append(("categories", weights["categories"], l2_normalise(np.mean(centroids, 0))))

    # The seeds' TF-IDF rows serve both spaces: transformed once.
    seed_rows = _doc_rows(model, spec.seeds)
    seed_vectors = _dense_rows(model, seed_rows)
    seed_centroid = _centroid(seed_vectors)
    if seed_centroid is not None:
        parts.append(
            ("seeds", weights["seeds"], query_shaping.expand(model, seed_centroid, **expand))
        )
        if model.has_context:
            seed_context = _centroid(model.context_from_sparse(seed_rows))
            context_parts.append((weights["seeds"], seed_context))

    base = None
    if parts:
        base = l2_normalise(sum(weight * vector for _name, weight, vector in parts))
    vector, feedback_used = _rocchio(model, base, spec, weights)
    names = [name for name, *_ in parts] + (["feedback"] if feedback_used else [])
    liked_vectors = _dense_docs(model, spec.liked)
    vector = vector if vector is not None and np.any(vector) else None
    scoring = scoring_vector(model, vector, context_parts, weights)
    own, unseen = None, ()
    lexical_on = relevance.lexical_weight(weights, keywords=bool(keywords)) > 0
    if vector is not None and (text or keywords) and lexical_on:
        # The text undamped: in the lexical part every word the person wrote counts by its
        # specificity alone (a common head noun such as "video" included).
        own, unseen = lexical.profile_weights(
            model,
            text,
            keywords,
            idf_power=weights["lexical_idf_power"],
            phrase_weight=weights["lexical_phrase_weight"],
            max_terms=weights["lexical_max_terms"],
            vector=vector,
            topical=weights["lexical_topical"],
            unseen=weights.get("lexical_unseen", ""),
        )
    embedding = None
    if vector is not None:
        embedding = embeddings.profile_embedding(model, spec.text, keywords, weights)
    return Profile(
        vector=vector,
        scoring=scoring,
        lexical=own,
        unseen=unseen,
        own_terms=lexical.own_terms(model, text, keywords) if (text or keywords) else [],
        calibration=relevance.calibrate_profile(
            model,
            scoring,
            own,
            weights,
            keywords=bool(keywords),
            embedding=embedding,
            unseen=unseen,
        ),
        embedding=embedding,
        text=" ".join(spec.text.split()),
        user_terms=user_terms,
        keywords=keywords,
        liked=[(doc.title, v) for doc, v in zip(spec.liked, liked_vectors, strict=True)],
        seeds=[(doc.title, v) for doc, v in zip(spec.seeds, seed_vectors, strict=True)],
        known_keys=spec.known_keys,
        parts=names,
        messages=messages,
    )


def _semantic_rows(
    model: FittedModel, row: sparse.csr_matrix, damped: sparse.csr_matrix, weights: dict
) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """The interest text's rows for the LSA space and for the word-context space.

    Both are the damped row (query_shaping.damp_common_words) without its rare terms, unless
    PROFILE_TEXT_WORD_LENGTHS is "level" and the model was fitted on at least
    `text_level_min_corpus` papers: then the LSA row has its words' lengths levelled
    (query_shaping.level_word_lengths) and both rows drop the terms in fewer than
    `text_level_min_docs` papers, since a word at full length must have a direction fitted on
    enough papers. That cut applies to every text on such a model, levelled or not (it is what
    was measured and chosen). On a smaller corpus it would take the topic's own words
    ("footage", "localizing" on the 1,299-paper sample fit), and levelling lost there
    (docs/benchmarks.md), so such a model keeps the damping.
    """
    share = weights["text_common_word_share"]
    min_docs = weights.get("text_min_docs", 0)
    text_row = damped
    levelled = weights.get("text_word_lengths") == "level" and len(model.corpus_ids) >= weights.get(
        "text_level_min_corpus", 0
    )
    if levelled:
        text_row = query_shaping.level_word_lengths(
            model,
            row,
            share,
            weights["text_common_word_weight"],
            weights["text_common_word_min_specific"],
            modifier_min_docs=weights["text_modifier_min_docs"],
        )
        min_docs = weights["text_level_min_docs"]
    return (
        query_shaping.without_rare_terms(model, text_row, min_docs, share),
        query_shaping.without_rare_terms(model, damped, min_docs, share),
    )


def scoring_vector(
    model: FittedModel,
    vector: np.ndarray | None,
    own: Sequence[tuple[float, np.ndarray | None]],
    weights: dict,
) -> np.ndarray | None:
    """The profile's LSA vector and its word-context vector, each scaled by its blend share.

    The word-context vector is the profile's own words and seed papers read in that space
    (`own`: weight and row of each), plus `context_expansion` times the centroid of the
    word-context rows of the `context_docs` stored papers nearest the profile in LSA space:
    pseudo-relevance feedback read in the second space, so a paper is scored by how much it
    resembles the profile's neighbours there too. Feedback reaches it through those neighbours
    (the LSA vector already leans towards the liked papers).

    A profile with nothing of its own in that space (only categories or feedback, or words too
    rare to have a word-context vector) is scored on LSA alone: its neighbours would be all the
    second half rests on, and on a small corpus they can be off the topic (measured on the
    bundled sample corpus: "legged robot locomotion" then ranked grasping over locomotion).
    """
    if vector is None or not model.has_context:
        return vector
    share = min(max(weights["context"], 0.0), 1.0)
    dimensions = model.context_vectors.shape[1]
    context = l2_normalise(
        sum((w * row for w, row in own if row is not None), np.zeros(dimensions, np.float32))
    )
    if share <= 0 or not np.any(context):
        return np.concatenate([vector, np.zeros(dimensions, np.float32)])
    corpus = query_shaping.corpus32(model)
    docs = min(weights["context_docs"], corpus.shape[0])
    if docs > 0 and weights["context_expansion"] > 0:
        nearest = np.argpartition(-(corpus @ vector), docs - 1)[:docs]
        # Only these rows are read: widened here, the matrix itself stays float16.
        neighbours = mapped.rows(model.context_matrix, nearest).astype(np.float32)
        neighbours = l2_normalise(neighbours.mean(axis=0))
        context = l2_normalise(context + weights["context_expansion"] * neighbours)
    return np.concatenate([(1 - share) * vector, share * context]).astype(np.float32)


def _rocchio(
    model: FittedModel, base: np.ndarray | None, spec: ProfileSpec, weights: dict
) -> tuple[np.ndarray | None, bool]:
    liked = _dense_docs(model, spec.liked)
    clicked = _dense_docs(model, spec.clicked)
    disliked = _dense_docs(model, spec.disliked)
    positive_rows = [*liked, *(weights["click"] * clicked)]
    if not positive_rows and len(disliked) == 0:
        return base, False
    vector = (
        weights["rocchio_alpha"] * base if base is not None else np.zeros(model.dim, np.float32)
    )
    if positive_rows:
        total = len(liked) + weights["click"] * len(clicked)
        vector = vector + weights["rocchio_beta"] * l2_normalise(np.sum(positive_rows, 0) / total)
    if len(disliked) and (base is not None or positive_rows):
        vector = vector - weights["rocchio_gamma"] * l2_normalise(disliked.mean(axis=0))
    return l2_normalise(vector), True


def _doc_rows(model: FittedModel, docs: Sequence[PaperDoc]) -> sparse.csr_matrix | None:
    """The papers' TF-IDF rows (None for no papers: the vectorizer refuses an empty batch)."""
    if not docs:
        return None
    return model.sparse([paper_text(doc.title, doc.abstract) for doc in docs])


def _dense_rows(model: FittedModel, rows: sparse.csr_matrix | None) -> np.ndarray:
    if rows is None:
        return np.zeros((0, model.dim), np.float32)
    return model.dense_from_sparse(rows)


def _dense_docs(model: FittedModel, docs: Sequence[PaperDoc]) -> np.ndarray:
    return _dense_rows(model, _doc_rows(model, docs))
