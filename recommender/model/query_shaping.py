"""Shaping a profile's query before it is scored: which of its words count, and what is added.

These are the steps `profiles.build_profile` applies to the TF-IDF row of an interest text, and
to its LSA vector, before the vector is stored on the profile:

* `damp_common_words` turns down a sentence's filler words (common to many papers) when the
  sentence has specific words, or `level_word_lengths` (PROFILE_TEXT_WORD_LENGTHS "level")
  evens out every word's LSA length instead, keeping the damping for common modifiers only;
* `without_rare_terms` drops terms so rare that their LSA vectors are noise;
* `expand_terms` adds the vocabulary terms nearest to the text (query term expansion);
* `expand` adds the centroid of the nearest stored papers (pseudo-relevance feedback).

They read the model only (idf, SVD, the corpus' rows) and cache what they derive on the loaded
model, so a worker pays for each derived matrix once.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from . import mapped
from .features import FittedModel, l2_normalise


def expand(
    model: FittedModel, vector: np.ndarray, docs: int, weight: float, *, by_title: bool = False
) -> np.ndarray:
    """Pseudo-relevance feedback: add the centroid of the `docs` stored papers nearest.

    With `by_title` the neighbours are found by their titles (a short interest text is closer
    in kind to a title than to an abstract); the centroid is always of the full papers.
    """
    corpus = corpus32(model)
    if docs <= 0 or weight <= 0 or corpus.shape[0] == 0:
        return vector
    docs = min(docs, corpus.shape[0])
    search = titles32(model) if by_title else None
    sims = (search if search is not None else corpus) @ vector
    top = np.argpartition(-sims, docs - 1)[:docs]
    centroid = l2_normalise(corpus[top].mean(axis=0))
    return l2_normalise(vector + weight * centroid)


def expand_terms(
    model: FittedModel, row: sparse.csr_matrix, terms: int, weight: float, min_docs: int
) -> sparse.csr_matrix:
    """Query term expansion: add the `terms` vocabulary terms nearest to the text in LSA space.

    A term's LSA vector is its column of the SVD components scaled by the singular values; the
    nearest ones to a short text are the words papers on that topic use ("speech synthesis" ->
    "text-to-speech", "tts model"). They are added to the TF-IDF row with weight
    similarity x idf (together `weight` times the row's length) before it is projected, so a
    one- or two-word interest text is matched through a dozen related words, not only through
    its own. Terms in fewer than `min_docs` papers (at most 1% of the corpus) are not used: their
    vectors are noise. Without an SVD (tiny corpora) the row is returned unchanged.
    """
    svd = model.svd
    if terms <= 0 or weight <= 0 or svd is None or row.nnz == 0:
        return row
    query = model.dense_from_sparse(row)[0]
    if not np.any(query):
        return row
    term_ids, term_vectors = term_space(model, min_docs)
    terms = min(terms, len(term_ids))
    if terms <= 0:
        return row
    sims = query @ term_vectors
    best = np.argpartition(-sims, terms - 1)[:terms]
    top = term_ids[best]
    added = np.maximum(sims[best], 0.0) * model.vectorizer.idf_[top]
    norm = np.linalg.norm(added)
    if norm == 0:
        return row
    extra = sparse.csr_matrix(
        (weight * np.sqrt((row.data**2).sum()) * added / norm, (np.zeros(terms, int), top)),
        shape=row.shape,
        dtype=np.float32,
    )
    return (row + extra).tocsr()


def damp_common_words(
    model: FittedModel, row: sparse.csr_matrix, share: float, weight: float, min_specific: int
) -> sparse.csr_matrix:
    """The TF-IDF row of a text with its common terms (in more than `share` of the stored
    papers) scaled by `weight`, when at least `min_specific` of its single words are rarer.

    In LSA space a frequent word has a long vector and a rare one a short vector, so in a
    sentence the filler ("covers all aspects of computer graphics") outweighs the topic
    (computer vision, not graphics); idf alone does not correct it. Only single words count as
    specific: in "audio and speech processing" the rare phrases "audio speech" and "speech
    processing" are made of the common words, which are the topic, not filler, so a text like
    that, or one made only of common words, is kept whole.
    """
    if weight >= 1.0:
        return row
    found = _common_terms(model, row, share, min_specific)
    if found is None:
        return row
    common, _singles = found
    damped = row.copy()
    damped.data = damped.data * np.where(common, weight, 1.0).astype(damped.data.dtype)
    damped.eliminate_zeros()
    return damped


def level_word_lengths(
    model: FittedModel,
    row: sparse.csr_matrix,
    share: float,
    weight: float,
    min_specific: int,
    modifier_min_docs: int,
) -> sparse.csr_matrix:
    """The TF-IDF row of a text with every term's weight divided by the length of its LSA
    loadings (times the row's median length), so that in LSA space each word counts by its
    idf alone: the other cure for what `damp_common_words` treats.

    The damping turns a common word down to `weight` whatever its role, so a sentence's topic
    can go with the filler ("video" in "models that watch videos", "diffusion" in "steering
    diffusion image generators"), and its specific side words lead the profile. Here a common
    word keeps an ordinary length, and only a common word that modifies the next one keeps the
    damping: the first word of a two-word phrase of the text that at least `modifier_min_docs`
    stored papers use ("computer" in "computer graphics", "language" in "language model").
    Applied where the damping would be (a common word and at least `min_specific` specific
    single words); any other text is returned unchanged.
    """
    found = _common_terms(model, row, share, min_specific)
    if found is None or model.svd is None:
        return row
    common, singles = found
    documents = document_frequencies(model)[row.indices]
    lengths = np.linalg.norm(model.term_rows(row.indices), axis=1)
    known = lengths > 0
    if not known.any():
        return row
    scale = np.where(known, np.median(lengths[known]) / np.where(known, lengths, 1.0), 1.0)
    names = model.feature_names()[row.indices].astype(str)
    modifying = {
        name.split(" ", 1)[0]
        for name, single, docs in zip(names, singles, documents, strict=True)
        if not single and docs >= modifier_min_docs
    }
    modifier = common & singles & np.isin(names, list(modifying))
    scale = scale * np.where(modifier, weight, 1.0)
    out = row.copy()
    out.data = (out.data * scale).astype(out.data.dtype)
    out.eliminate_zeros()
    return out


def _common_terms(
    model: FittedModel, row: sparse.csr_matrix, share: float, min_specific: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Where a text's common words need treating (damp_common_words, level_word_lengths):
    (which of its terms are common, which are single words) when it has a common term (in more
    than `share` of the stored papers) and at least `min_specific` rarer single words, else
    None."""
    if row.nnz == 0:
        return None
    common = document_frequencies(model)[row.indices] > share * len(model.corpus_ids)
    if not common.any():
        return None
    singles = single_words(model, row)
    if (singles & ~common).sum() < min_specific:
        return None
    return common, singles


def single_words(model: FittedModel, row: sparse.csr_matrix) -> np.ndarray:
    """Which of the row's terms are single words (not two-word phrases)."""
    return np.char.find(model.feature_names()[row.indices].astype(str), " ") < 0


def without_rare_terms(
    model: FittedModel, row: sparse.csr_matrix, min_docs: int, common_share: float = 1.0
) -> sparse.csr_matrix:
    """The row without its terms in fewer than min(`min_docs`, 1 % of the corpus, at least 2)
    stored papers, whose LSA vectors are fitted on those few papers (the rule of the term
    expansion). Unchanged when that would leave nothing, or would take every specific single
    word of the text (one in at most `common_share` of the papers, as damp_common_words
    counts them): on a small corpus the topic itself can be that rare ("protein" in 4 of the
    996 sample papers), and a row of filler is worse than a noisy one."""
    if min_docs <= 0 or row.nnz == 0:
        return row
    documents = document_frequencies(model)[row.indices]
    floor = min(min_docs, max(2, len(model.corpus_ids) // 100))
    kept = documents >= floor - 0.5
    if kept.all() or not kept.any():
        return row
    specific = single_words(model, row) & (documents <= common_share * len(model.corpus_ids))
    if specific.any() and not (specific & kept).any():
        return row
    out = row.copy()
    out.data = np.where(kept, out.data, 0).astype(out.data.dtype)
    out.eliminate_zeros()
    return out


def document_frequencies(model: FittedModel) -> np.ndarray:
    """Each vocabulary term's number of papers, recovered from the smoothed idf
    (idf = ln((1 + n) / (1 + df)) + 1), once per loaded model."""
    cached = getattr(model, "_document_frequencies", None)
    if cached is None:
        n = len(model.corpus_ids)
        cached = (1 + n) * np.exp(1 - model.vectorizer.idf_.astype(np.float64)) - 1
        model._document_frequencies = cached
    return cached


# Terms per block when the term space is built (term_space): its temporaries stay a few MB.
TERM_BLOCK = 4096


def term_space(model: FittedModel, min_docs: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids of the usable terms, their unit-length LSA vectors as columns), once per loaded model.

    Only terms in enough papers are kept (about a quarter of a 200,000-term vocabulary), so the
    similarity of a text to every candidate term is one (dim x usable terms) product: a profile
    no longer pays for the whole vocabulary. Only their rows of the components are read, in
    blocks, into the result itself (pieces joined at the end doubled the worker's peak).
    """
    cached = getattr(model, "_term_space", None)
    if cached is not None and cached[0] == min_docs:
        return cached[1], cached[2]
    docs = document_frequencies(model)
    singular = model.svd.singular_values_[:, None].astype(np.float32)
    frequent = np.flatnonzero(docs >= min(min_docs, max(2, len(model.corpus_ids) // 100)) - 0.5)
    vectors = np.empty((len(singular), len(frequent)), np.float32)
    kept = np.zeros(len(frequent), bool)
    for start in range(0, len(frequent), TERM_BLOCK):
        ids = frequent[start : start + TERM_BLOCK]
        # (dim x block) in C order, so each column's sum of squares adds in the same order.
        scaled = np.ascontiguousarray(model.term_rows(ids).T) * singular
        norms = np.sqrt((scaled**2).sum(axis=0))
        kept[start : start + len(ids)] = norms > 0
        vectors[:, start : start + len(ids)] = scaled / np.where(norms > 0, norms, 1)
    if not kept.all():  # terms with no loading at all (rare): dropped
        vectors = np.ascontiguousarray(vectors[:, kept])
    model._term_space = (min_docs, frequent[kept], vectors)
    return frequent[kept], vectors


def float32_matrix(model: FittedModel, name: str) -> np.ndarray | None:
    """The model's matrix `name` as float32 (None when the artifact predates that matrix).

    The artifact keeps these matrices in float16 (half the file); scoring needs float32. The
    first use replaces the float16 matrix on the model by its float32 version, so a worker holds
    each matrix once, in the precision it computes in (store.save writes float16 again). Only
    matrices in use are widened: the titles' rows stay float16 while title expansion is off.
    """
    stored = getattr(model, name, None)
    if stored is None or stored.dtype == np.float32:
        return stored
    widened = mapped.widened(stored, np.float32)
    setattr(model, name, widened)
    return widened


def corpus32(model: FittedModel) -> np.ndarray:
    """The corpus' LSA rows as float32."""
    return float32_matrix(model, "corpus_matrix")


def titles32(model: FittedModel) -> np.ndarray | None:
    """The corpus' titles' LSA rows as float32 (artifacts from before titles were kept: None)."""
    return float32_matrix(model, "title_matrix")
