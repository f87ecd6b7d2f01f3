"""Explanations: the one line under each pick that says why it was chosen."""

from __future__ import annotations

import functools
import math
import re
import weakref
from typing import NamedTuple

import numpy as np
from django.conf import settings
from scipy import sparse

from ..model import profiles
from ..model.features import FittedModel
from ..models import Paper
from .candidates import CandidateBatch


def matching_terms(
    model: FittedModel,
    profile: profiles.Profile,
    row: sparse.csr_matrix | _Row,
    *,
    limit: int = 3,
    loadings: np.ndarray | None = None,
    specific: np.ndarray | None = None,
) -> list[str]:
    """The words shared by profile and paper that contribute most, the subscriber's own first.

    A term's contribution is its TF-IDF weight in the paper times its weight in the profile: the
    subscriber's own words (text, keywords) count fully, the terms the expanded profile leans on
    (its LSA loadings) count `explain_related_terms`, so "robotics" can explain a paper with
    "manipulation" and "grasping". `loadings` are the row's terms' LSA loadings when the caller
    has them (a batch reads its papers' terms once: _term_loadings), and `specific` which of
    them are not generic (specific_terms), when known.
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
        rows = loadings if loadings is not None else model.term_rows(indices)
        related = np.maximum(rows @ profile.vector, 0.0)
        if related.max() > 0:
            related = related / related.max()
    weights = settings.RANKING_WEIGHTS
    contribution = values * (
        own / max(own.max(), 1e-9) + weights["explain_related_terms"] * related
    )
    if specific is None:
        specific = specific_terms(model, indices)
    contribution[~specific] = 0.0
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


def specific_terms(model: FittedModel, indices: np.ndarray) -> np.ndarray:
    """Which of the terms `indices` may explain a pick: words in more than a tenth of all
    papers ("learning", "training") explain nothing. (The smoothed idf of a word in that share
    of papers is 1 + ln(1 / share).)"""
    share = settings.RANKING_WEIGHTS["explain_max_paper_share"]
    generic_idf = 1 + math.log(1 / min(max(share, 1e-6), 1.0))
    return np.asarray(model.vectorizer.idf_)[indices] >= generic_idf


def own_matches(profile: profiles.Profile, batch: CandidateBatch, index: int) -> list[str]:
    """The person's own keywords and words found in a paper: keywords first (a keyword matches
    when the paper has all its words, in any form), then the text's phrases, then its words,
    the most specific first; words inside a matched phrase are not repeated."""
    paper = _paper(batch, index)
    # A keyword the model does not know (too rare when it was fitted) still matches verbatim,
    # as a whole word ("RAG" is not in "average", "GAN" not in "organ").
    literal = [k for k in profile.keywords if _whole_words(k.lower()).search(paper.text)]
    if not profile.own_terms or batch.terms is None:
        return literal
    present = paper.keys
    found = [term for term in profile.own_terms if term.keys <= present]
    keywords = [term.label for term in found if term.keyword]
    keywords += [k for k in literal if k not in keywords]
    phrases = [term.label for term in found if not term.keyword and " " in term.label]
    covered = {word for label in keywords + phrases for word in label.lower().split()}
    words = [
        term.label
        for term in found
        if not term.keyword and " " not in term.label and term.label not in covered
    ]
    return keywords + phrases + words


@functools.lru_cache(maxsize=4096)
def _whole_words(phrase: str) -> re.Pattern:
    """`phrase` found only where it is not inside a longer word: no letter, digit or hyphen
    before it, no letter after it ("rag" is not in "average"; "alphafold" is in "alphafold2"
    and "rag" in "rag-based", a version or a compound of the same thing)."""
    return re.compile(rf"(?<![\w-]){re.escape(phrase)}(?![^\W\d_])")


def explain(
    model: FittedModel | None,
    profile: profiles.Profile | None,
    batch: CandidateBatch,
    index: int,
    own: list[str] | None = None,
) -> str:
    """Why a paper was picked: the person's own keywords and words first, then related terms,
    then the liked or seed paper it resembles (`own`: own_matches of the paper, when the caller
    has it already)."""
    paper = batch.papers[index]
    parts = []
    if paper.curation == Paper.Curation.PINNED:
        parts.append("pinned by the editors")
    elif paper.curation == Paper.Curation.FEATURED:
        parts.append("featured by the editors")
    if model is not None and profile is not None and not profile.empty:
        if own is None:
            own = own_matches(profile, batch, index)
        keywords = [label for label in own if label in profile.keywords]
        words = [label for label in own if label not in profile.keywords]
        if keywords:
            parts.append("matches your keywords: " + ", ".join(keywords[:3]))
        if words and len(keywords) < 3:
            parts.append("matches your words: " + ", ".join(words[: 3 - len(keywords)]))
        if len(own) < 3:
            said = {word for label in own for word in label.lower().split()}
            row = _paper(batch, index).row
            loadings = _term_loadings(model, batch, index, row) if model.svd is not None else None
            specific = batch.explained.get(("specific", index))
            if specific is None:  # the same for every reader of the paper
                specific = batch.explained[("specific", index)] = specific_terms(model, row.indices)
            related = [
                t
                for t in matching_terms(model, profile, row, loadings=loadings, specific=specific)
                if not set(t.split()) <= said
            ]
            if related:
                parts.append("related: " + ", ".join(related[: 3 - len(own)]))
        similar = _most_similar(profile, batch.dense[index])
        if similar:
            parts.append(similar)
    signals = _signals(paper)
    if signals and (len(parts) < 2 or profile is None or profile.empty):
        parts.append("trending: " + signals)
    if not parts:
        parts.append("close to your interests" if profile and not profile.empty else "new")
    return "; ".join(parts)[:300]


class _Row(NamedTuple):
    """A paper's TF-IDF row as its two arrays (what matching_terms reads of a CSR row)."""

    indices: np.ndarray
    data: np.ndarray


class _PaperWords(NamedTuple):
    text: str  # title and abstract, lower case
    keys: set  # the lexical stem keys the paper contains (empty without a lexical side)
    row: _Row | None


def _paper(batch: CandidateBatch, index: int) -> _PaperWords:
    """What explanations read of a paper, once per batch (a chunk explains each paper for many
    readers: slicing its rows and lowering its text per reader was a third of the cost)."""
    known = batch.explained.get(index)
    if known is None:
        paper = batch.papers[index]
        keys = set(batch.terms.rows[index].indices.tolist()) if batch.terms is not None else set()
        row = None
        if batch.sparse is not None:
            start, end = batch.sparse.indptr[index], batch.sparse.indptr[index + 1]
            row = _Row(batch.sparse.indices[start:end], batch.sparse.data[start:end])
        text = f"{paper.title} {paper.abstract}".lower()
        known = batch.explained[index] = _PaperWords(text, keys, row)
    return known


def _term_loadings(model: FittedModel, batch: CandidateBatch, index: int, row: _Row) -> np.ndarray:
    """The LSA loadings of a paper's terms, cut from those of every term of the batch, read once
    per batch: read per reader and paper, the scattered reads of the memory-mapped components
    (mapped.rows) were most of the chunk's ranking time. Where a paper's terms sit among them
    is found once per paper (a chunk explains each paper for a dozen readers on average)."""
    # Kept beside the per-paper entries (keyed by the paper's position) under names of their own.
    union = batch.explained.get("term_loadings")
    if union is None:
        union = batch.explained["term_loadings"] = _batch_loadings(model, batch)
    used, rows = union
    positions = batch.explained.get(("term_positions", index))
    if positions is None:
        positions = batch.explained[("term_positions", index)] = np.searchsorted(used, row.indices)
    return rows[positions]


# The last batch's terms and their loadings: the chunks of one morning share their candidates,
# so a worker reads them once, not once per chunk. One entry, so no more memory is held than
# while a chunk is explained.
# (Keyed by the model object itself, weakly, as unsaved models all have the version "".)
_last_loadings: tuple[weakref.ref, np.ndarray, np.ndarray] | None = None


def _batch_loadings(model: FittedModel, batch: CandidateBatch) -> tuple[np.ndarray, np.ndarray]:
    """Every term of the batch's papers (sorted) and their LSA loadings."""
    global _last_loadings
    used = np.unique(batch.sparse.indices)
    last = _last_loadings
    if last is not None and last[0]() is model and np.array_equal(last[1], used):
        return last[1], last[2]
    _last_loadings = None  # let the old rows go before the new ones are read
    rows = model.term_rows(used)
    _last_loadings = (weakref.ref(model), used, rows)
    return used, rows


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
