"""Lexical relevance: the words and phrases a person typed, matched as they are.

The semantic part of relevance (LSA and word-context, profiles.py) matches meaning, which is
what lets "robotics" reach a grasping paper, but it also lets a specific interest drift to
whatever its words usually come with: "multimodal models that watch videos, answering
questions" drifted to question-answering papers without video. This part keeps what the person
wrote:

* the profile's own terms (the words and two-word phrases of its text and of each keyword, as
  the model's analyzer reads them: stop words out, plurals folded) are weighted by how specific
  they are (idf ** `idf_power`); a phrase counts `phrase_weight` times a single word, since a
  paper that says "temporal grounding" is about it more surely than one that says both words
  apart; keywords are never damped (they were chosen one by one); in a sentence every content
  word counts by its specificity alone, so a common but topical head noun ("video") is not
  turned down the way the semantic part turns down filler;
* words are matched through a light stemmer on top of the plural folding ("localizing",
  "localization", "localized" meet), applied to the model's vocabulary once per loaded model, so
  neither the artifact nor the papers' rows change;
* a paper's lexical score is its TF-IDF row (folded to stems) dotted with the profile's unit
  term vector, pruned to its `max_terms` strongest terms: one sparse product per chunk.

How the two parts are put on one scale is in `calibrate` (profiles.py applies it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from .features import FittedModel
from .stems import stem_term


@dataclass
class LexicalSpace:
    """The model's vocabulary folded to stem keys, built once per loaded model.

    A key is found from its stem's hash (Python's string hash, 64 bits, of this process) in a
    sorted array, not in a dict of the stems: the dict held 150,000 new strings, 23 MiB of every
    worker, for a few dozen lookups per profile. The keys are numbered as before (in the order
    of their first vocabulary term), so every product adds the same terms in the same order.
    Two different stems of the vocabulary with one hash are detected when the space is built
    (it then falls back to the dict); a typed word whose stem is in no vocabulary term but
    shares a hash with one would be taken for it, a chance of about 1 in 10^14 per lookup.
    """

    folding: sparse.csr_matrix  # vocabulary x keys, one 1 per row
    # Per key: the lowest idf of its vocabulary terms, i.e. that of its commonest form: a stem
    # is as common as all its forms together, so its rarest form's idf would overrate it.
    idf: np.ndarray
    # The vocabulary (term -> column): its single words are what stem_term checks plurals in.
    vocabulary: dict
    hashes: np.ndarray  # sorted stem hashes
    hashed_keys: np.ndarray  # the key of each hash
    keys: dict[str, int] | None = None  # only when two stems share a hash
    hash_seed: int = 0  # hash() of a fixed string in the process that built it

    @property
    def size(self) -> int:
        return self.idf.shape[0]

    def key(self, term: str) -> int | None:
        """The key of a term as the analyzer yields it (None when no form of it is known)."""
        stemmed = stem_term(term, self.vocabulary)
        if self.keys is not None:
            return self.keys.get(stemmed)
        wanted = hash(stemmed)
        at = int(np.searchsorted(self.hashes, wanted))
        if at < len(self.hashes) and self.hashes[at] == wanted:
            return int(self.hashed_keys[at])
        return None


_SEED_PROBE = "paper-digest lexical space"


def space(model: FittedModel) -> LexicalSpace:
    cached = getattr(model, "_lexical_space", None)
    # String hashes differ between processes: a space pickled with a model is rebuilt.
    if cached is None or getattr(cached, "hash_seed", None) != hash(_SEED_PROBE):
        cached = model._lexical_space = _build_space(model)
    return cached


def _build_space(model: FittedModel) -> LexicalSpace:
    names = model.feature_names()
    vocabulary = model.vectorizer.vocabulary_
    hashes = np.fromiter(
        (hash(stem_term(str(name), vocabulary)) for name in names), np.int64, count=len(names)
    )
    unique, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    # Keys numbered by their first term, as a dict filled in vocabulary order numbers them.
    by_first = np.argsort(first, kind="stable")
    number = np.empty(len(unique), np.int64)
    number[by_first] = np.arange(len(unique))
    columns = number[inverse.ravel()]
    keys = None
    if _hashes_collide(names, vocabulary, inverse.ravel(), first):
        keys = {}
        columns = np.fromiter(
            (keys.setdefault(stem_term(str(n), vocabulary), len(keys)) for n in names),
            dtype=np.int64,
            count=len(names),
        )
    size = int(columns.max()) + 1 if len(columns) else 0
    folding = sparse.csr_matrix(
        (np.ones(len(names), np.float32), (np.arange(len(names)), columns)),
        shape=(len(names), size),
    )
    idf = np.full(size, np.inf, np.float32)
    np.minimum.at(idf, columns, model.vectorizer.idf_.astype(np.float32))
    return LexicalSpace(
        folding=folding,
        idf=idf,
        vocabulary=vocabulary,
        hashes=unique,
        hashed_keys=number,
        keys=keys,
        hash_seed=hash(_SEED_PROBE),
    )


def _hashes_collide(names, vocabulary, inverse: np.ndarray, first: np.ndarray) -> bool:
    """Whether two different stems share a hash: every term's stem is compared with the stem
    of the first term of its hash (only for hashes of more than one term)."""
    counts = np.bincount(inverse, minlength=len(first))
    for i in np.flatnonzero(counts[inverse] > 1).tolist():
        first_name = str(names[first[inverse[i]]])
        if stem_term(str(names[i]), vocabulary) != stem_term(first_name, vocabulary):
            return True
    return False


def paper_rows(model: FittedModel, rows: sparse.spmatrix) -> sparse.csr_matrix:
    """Which stem keys each paper contains (1 or 0), from its TF-IDF rows.

    Presence, not TF-IDF weight: a profile's lexical score is then the share of the weight of
    its own terms that the paper contains (a coverage in [0, 1]). On the topic set this beat
    the TF-IDF-weighted dot product once fused with the semantic part (docs/benchmarks.md).
    """
    folded = (sparse.csr_matrix(rows) @ space(model).folding).tocsr()
    folded.data[:] = 1.0
    return folded


def reference_rows(model: FittedModel) -> sparse.csr_matrix | None:
    """The model's reference sample folded to stem keys (None for artifacts without one)."""
    cached = getattr(model, "_lexical_reference", None)
    if cached is None:
        rows = getattr(model, "reference_rows", None)
        if rows is None:
            return None
        cached = paper_rows(model, rows)
        model._lexical_reference = cached
    return cached


@dataclass(frozen=True)
class OwnTerm:
    """One thing the person typed, for explanations: a keyword, or a word or phrase of their
    text, with the stem keys a paper must contain to match it."""

    label: str
    keys: frozenset[int]
    keyword: bool
    # How specific it is (the highest idf of its keys): explanations name the most specific
    # of the person's words first.
    specificity: float = 0.0


def own_terms(model: FittedModel, text: str, keywords: Sequence[str]) -> list[OwnTerm]:
    """The person's keywords (each matched when a paper contains all its words) and the words and
    phrases of their text that the model knows, keywords first."""
    lexical = space(model)
    analyzer = model.vectorizer.build_analyzer()
    out: list[OwnTerm] = []
    for keyword in keywords:
        words = [term for term in analyzer(keyword) if " " not in term]
        keys = {lexical.key(word) for word in words}
        if words and None not in keys:
            specificity = float(max(lexical.idf[list(keys)]))
            out.append(OwnTerm(keyword, frozenset(keys), True, specificity))
    seen: set[str] = set()
    from_text = []
    for term in analyzer(text) if text else []:
        key = lexical.key(term)
        if key is not None and term not in seen:
            seen.add(term)
            from_text.append(OwnTerm(term, frozenset({key}), False, float(lexical.idf[key])))
    return out + sorted(from_text, key=lambda term: -term.specificity)


def unknown_keywords(model: FittedModel, keywords: Sequence[str]) -> list[str]:
    """The keywords with a word that no form of is in the model's vocabulary ("AlphaFold",
    in one of 67,802 papers, under the fit's two-paper minimum): own_terms and profile_weights
    can only leave them out, so the person is told (rare_keywords_note)."""
    lexical = space(model)
    analyzer = model.vectorizer.build_analyzer()
    return [
        keyword
        for keyword in keywords
        if any(lexical.key(word) is None for word in analyzer(keyword) if " " not in word)
    ]


def rare_keywords_note(keywords: Sequence[str], *, matched_as_written: bool = False) -> str:
    """Said, not hidden: a keyword the model has no word for is matched only as written
    (PROFILE_LEXICAL_UNSEEN), or, with that off, counts for nothing until the nightly refit
    meets it in enough papers."""
    shown = ", ".join(f"“{keyword}”" for keyword in keywords[:3])
    verb = "is" if len(keywords) == 1 else "are"
    if matched_as_written:
        return (
            f"{shown} {verb} in too few of the papers we have read for related terms to "
            "count; papers are matched on the words as you wrote them."
        )
    return (
        f"{shown} {verb} in too few of the papers we have read to match on yet; "
        "it counts once more papers use it."
    )


def profile_terms(model: FittedModel, text: str, keywords: Sequence[str]) -> list[str]:
    """The words and two-word phrases of a profile's text and keywords as the model's analyzer
    reads them (each keyword on its own, so a phrase never spans two keywords)."""
    analyzer = model.vectorizer.build_analyzer()
    terms = list(analyzer(text)) if text else []
    for keyword in keywords:
        terms += analyzer(keyword)
    return terms


@dataclass
class BatchTerms:
    """A batch of papers on the lexical side, computed once per batch: which keys each paper
    contains (`rows`, papers x keys, for explanations), and for scoring the same as a
    (present keys x papers) matrix with each key's position in it (-1: in no paper).

    That matrix is sparse: dense, a day's 336 papers with their 16,000 present keys took 22 MiB
    of every worker, 99 % zeros; the sparse product adds the same terms in the same order."""

    rows: sparse.csr_matrix
    position: np.ndarray
    columns: sparse.csr_matrix
    # The papers' texts and the model that reads them, for the typed terms its vocabulary lacks
    # (`unseen_scores`); the index of the papers' own such terms is built on first use.
    texts: Sequence[str] = ()
    model: FittedModel | None = None
    _unseen: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @classmethod
    def of(
        cls, rows: sparse.csr_matrix, texts: Sequence[str] = (), model: FittedModel | None = None
    ) -> BatchTerms:
        present = np.unique(rows.indices)
        position = np.full(rows.shape[1], -1, np.int64)
        position[present] = np.arange(len(present))
        columns = sparse.csr_matrix(rows[:, present].T, dtype=np.float32)
        return cls(rows=rows, position=position, columns=columns, texts=texts, model=model)

    def _unseen_index(self) -> tuple[np.ndarray, np.ndarray]:
        """(sorted stem hashes, paper of each) of every term of the papers outside the
        vocabulary: a few hundred per paper, as two arrays (a dict of their strings would hold
        a weekly window's 300,000 of them in every worker)."""
        if self._unseen is None:
            per_paper = [unseen_hashes(self.model, text) for text in self.texts]
            keys = np.concatenate([np.zeros(0, np.int64), *per_paper])
            papers = np.repeat(np.arange(len(per_paper)), [len(h) for h in per_paper])
            order = np.argsort(keys, kind="stable")
            self._unseen = (keys[order], papers[order])
        return self._unseen

    def unseen_scores(self, unseen: Sequence[Sequence[tuple[str, float]]]) -> np.ndarray | None:
        """(profiles x papers) the weight of each profile's unseen terms (profile_weights) that
        each paper contains; None when no profile has any (the usual case: no index is built)."""
        if not any(unseen) or self.model is None:
            return None
        hashes, papers = self._unseen_index()
        width = self.rows.shape[0]
        rows = np.array([row for row, terms in enumerate(unseen) for _ in terms], np.int64)
        wanted = np.array([hash(stemmed) for terms in unseen for stemmed, _ in terms], np.int64)
        weights = np.array([weight for terms in unseen for _, weight in terms], np.float64)
        # Every (profile term, paper that has it) pair at once: a sentence has a dozen such
        # terms (most of its two-word phrases), so a chunk looks up thousands.
        start = np.searchsorted(hashes, wanted, side="left")
        found = np.searchsorted(hashes, wanted, side="right") - start
        term = np.repeat(np.arange(len(wanted)), found)
        offset = np.arange(len(term)) - np.repeat(np.cumsum(found) - found, found)
        cell = rows[term] * width + papers[start[term] + offset]
        out = np.bincount(cell, weights=weights[term], minlength=len(unseen) * width)
        return out.reshape(len(unseen), width).astype(np.float32)

    def scores(self, profiles: Sequence[sparse.csr_matrix | None]) -> np.ndarray:
        """(profiles x papers) lexical scores of profiles' term rows (None: no terms).

        The rows are stacked from their arrays with their keys renumbered to the batch's present
        ones (keys in no paper dropped), then multiplied by the columns: a few ms for 500
        profiles x 300 papers, where scipy's vstack alone took 12-18 ms."""
        kept = [row for row in profiles if row is not None]
        if not kept:
            return np.zeros((len(profiles), self.columns.shape[1]), np.float32)
        # len(data), not .nnz: scipy's nnz property recounts, 500 times a chunk.
        lengths = np.array([len(row.data) if row is not None else 0 for row in profiles], np.int64)
        keys = self.position[np.concatenate([row.indices for row in kept])]
        data = np.concatenate([row.data for row in kept]).astype(np.float32, copy=False)
        inside = keys >= 0
        ends = np.concatenate([[0], np.cumsum(inside)])[np.concatenate([[0], np.cumsum(lengths)])]
        stacked = sparse.csr_matrix(
            (data[inside], keys[inside], ends), shape=(len(profiles), self.columns.shape[0])
        )
        return np.asarray((stacked @ self.columns).toarray(), dtype=np.float32)


# Papers whose terms outside the vocabulary a loaded model keeps (unseen_hashes): a weekly
# window's 2,000 papers fit, at about 1 KB each, so each chunk a worker scores reuses them.
_UNSEEN_CACHE_SIZE = 5_000


def unseen_hashes(model: FittedModel, text: str) -> np.ndarray:
    """The distinct stem hashes of a paper's terms outside the model's vocabulary, kept on the
    loaded model by text (Python's string hashes hold within one process, as the model does)."""
    seed, cache = getattr(model, "_unseen_hashes", (None, None))
    # (A model pickled in another process carries that process's hashes: started afresh.)
    if seed != hash(_SEED_PROBE) or len(cache) >= _UNSEEN_CACHE_SIZE:
        cache = {}
        model._unseen_hashes = (hash(_SEED_PROBE), cache)
    cached = cache.get(text)
    if cached is None:
        analyzer = model.vectorizer.build_analyzer()
        vocabulary = model.vectorizer.vocabulary_
        stems = {stem_term(t, vocabulary) for t in analyzer(text) if t not in vocabulary}
        cached = cache[text] = np.fromiter((hash(s) for s in stems), np.int64, count=len(stems))
    return cached


def topicality(model: FittedModel, terms: Sequence[str], vector: np.ndarray | None) -> np.ndarray:
    """How close each term sits to a profile's meaning: the cosine of its LSA loadings with the
    profile's vector, clipped at 0 and divided by the profile's closest term's (1 for that
    term; all 1 when nothing is known). A sentence's head nouns ("benchmarks", "agents") score
    high, its filler ("realistic", "complete", "well") low."""
    closeness = np.ones(len(terms), np.float32)
    if vector is None or model.svd is None or not len(terms):
        return closeness
    vocabulary = model.vectorizer.vocabulary_
    columns = [vocabulary.get(term, -1) for term in terms]
    known = np.array([column >= 0 for column in columns])
    if not known.any():
        return closeness
    loadings = model.term_rows([c for c in columns if c >= 0]).T
    norms = np.linalg.norm(loadings, axis=0)
    cosine = np.divide(vector @ loadings, norms, out=np.zeros_like(norms), where=norms > 0)
    cosine = np.maximum(cosine, 0.0)
    if cosine.max() <= 0:
        return closeness
    closeness[:] = 0.0
    closeness[known] = cosine / cosine.max()
    return closeness


# Which typed terms missing from the vocabulary are matched as written (PROFILE_LEXICAL_UNSEEN).
UNSEEN_MODES = ("", "keywords", "all")


def profile_weights(
    model: FittedModel,
    text: str,
    keywords: Sequence[str],
    *,
    idf_power: float,
    phrase_weight: float,
    max_terms: int,
    vector: np.ndarray | None = None,
    topical: float = 0.0,
    unseen: str = "",
) -> tuple[sparse.csr_matrix | None, tuple[tuple[str, float], ...]]:
    """The profile's term weights: over stem keys (None when no term is known), and for the
    typed terms the vocabulary lacks, their stems with their weights; all summing to 1.

    A term weighs idf ** idf_power (times phrase_weight for a two-word phrase); a term of the
    text (never a keyword: those were chosen one by one) also (1 - topical) + topical x its
    `topicality` to the profile's LSA `vector`; only the `max_terms` strongest are kept, so a
    chunk's sparse product stays small.

    `unseen` ("keywords" or "all": also the text's) says which typed terms outside the
    vocabulary count (`unseen_stem`): the fit dropped them as too rare ("AlphaFold", in one of
    67,802 papers; on a small fit "homomorphic encryption", in one of 1,033), which makes them
    the most specific thing the person wrote. Each weighs as the rarest vocabulary term does.
    The reference sample holds at most a paper or two with such a term, so calibrating on the
    known terms alone (relevance.py) is what their scores over it would give.
    """
    lexical = space(model)
    analyzer = model.vectorizer.build_analyzer()
    text_terms = list(analyzer(text)) if text else []
    closeness = topicality(model, text_terms, vector) if topical > 0 else None
    weighted: list[tuple[str, float, bool]] = []
    for i, term in enumerate(text_terms):
        factor = 1.0 if closeness is None else (1 - topical) + topical * float(closeness[i])
        weighted.append((term, factor, False))
    for keyword in keywords:
        weighted += [(term, 1.0, True) for term in analyzer(keyword)]
    rarest = float(lexical.idf.max()) if lexical.size else 0.0
    weights: dict[int | str, float] = {}
    for term, factor, keyword in weighted:
        key: int | str | None = lexical.key(term)
        idf = float(lexical.idf[key]) if key is not None else rarest
        if key is None and (unseen == "all" or (unseen == "keywords" and keyword)):
            key = unseen_stem(model, term)
        if key is None:
            continue
        weight = idf**idf_power * factor
        if " " in term:
            weight *= phrase_weight
        weights[key] = max(weights.get(key, 0.0), weight)
    if not weights:
        return None, ()
    names = list(weights)
    values = np.fromiter(weights.values(), dtype=np.float32, count=len(names))
    # (Summed in the order the weights were found, or strongest first when pruned: as before
    # unseen terms existed, so known-only profiles keep their exact weights.)
    kept = np.arange(len(names))
    if len(names) > max_terms:
        kept = np.argsort(-values, kind="stable")[:max_terms]
    values = values / values[kept].sum()
    known = sorted((names[i], float(values[i])) for i in kept if isinstance(names[i], int))
    rare = tuple(sorted((names[i], float(values[i])) for i in kept if isinstance(names[i], str)))
    if not known:
        return None, rare
    keys = np.array([k for k, _ in known], dtype=np.int64)
    data = np.array([v for _, v in known], dtype=np.float32)
    own = sparse.csr_matrix((data, keys, np.array([0, len(keys)])), shape=(1, lexical.size))
    return own, rare


def unseen_stem(model: FittedModel, term: str) -> str | None:
    """The stem of a typed term the vocabulary lacks, when it is to be matched as written:
    not when the fit dropped one of its words as too common (features.common_words), and never
    with a model from before those words were kept (it cannot tell the two apart)."""
    common = getattr(model, "common_words", None)
    if common is None or any(word in common for word in term.split(" ")):
        return None
    return stem_term(term, space(model).vocabulary)


def effective_terms(
    own: sparse.csr_matrix | None, unseen: Sequence[tuple[str, float]] = ()
) -> float:
    """How many terms a profile's lexical weights amount to (1 / sum of squared weights): 1 for
    "Papers on robotics", 10-20 for a keywords list or a sentence. With few terms the lexical
    score is nearly a yes/no, which ranks worse than the semantic score (relevance.py)."""
    weights = [] if own is None else [own.data.astype(np.float64)]
    weights.append(np.array([w for _, w in unseen], np.float64))
    squares = sum(float(np.square(w).sum()) for w in weights)
    return 1.0 / squares if squares > 0 else 0.0
