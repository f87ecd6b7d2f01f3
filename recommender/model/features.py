"""Features: turn paper text (and profile text) into vectors.

Three spaces come out of one fitted model:

* a sparse word TF-IDF space (unigrams + bigrams), used for explanations ("related: ...") and as
  the input of
* a dense LSA space: TruncatedSVD of the TF-IDF matrix, L2-normalised rows. Relevance is
  mostly the cosine in this space. A dense space matches a short interest text ("papers on
  robotics") against abstracts that never use those exact words, and makes scoring 100,000
  subscribers against a day's papers a small dense matrix product;
* a second, word-context space: each word's vector comes from the words around it in the
  corpus (positive PMI of co-occurrence within a few words, reduced by SVD), and a paper is the
  TF-IDF-weighted sum of its words' vectors. LSA sees which words share papers; this sees which
  words share contexts, so the two make different mistakes, and relevance blends both
  (profiles.py, PROFILE_CONTEXT_*).

Every hyperparameter is spelled out below so a refit is reproducible and the artifact's version
string names what produced it. The fitted model also keeps the corpus' dense matrix (float16) and
one centroid per arXiv category, which profiles use for query expansion and for categories.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from . import embeddings, mapped
from .tfidf import Projection, TermWeights

FEATURES_NAME = "tfidf-lsa"

# --- TF-IDF hyperparameters -------------------------------------------------------------------
TFIDF_PARAMS = {
    "input": "content",
    "encoding": "utf-8",
    "decode_error": "replace",
    "strip_accents": "unicode",
    "lowercase": True,
    "analyzer": "word",
    # tokenize() below: words with light plural folding, so "robots" matches "robot".
    "tokenizer": None,
    "token_pattern": None,
    # scikit-learn's English list plus its plural-folded forms ("themselves" -> "themselve"),
    # filled in by fit_model (stop_words()).
    "stop_words": None,
    "ngram_range": (1, 2),
    # max_df drops words in more than half of all abstracts ("model", "results").
    "max_df": 0.5,
    # min_df is set per fit: 2 documents on corpora of 200+ papers, else 1 (see fit_model).
    "max_features": 200_000,
    "norm": "l2",
    "use_idf": True,
    "smooth_idf": True,
    "sublinear_tf": True,
    "dtype": np.float32,
}
# Words start with a letter and may carry digits or inner hyphens ("llama-3", "text-to-speech"
# kept whole); single letters and bare numbers say nothing about a topic.
_TOKEN = re.compile(r"(?u)\b[a-zA-Z][a-zA-Z0-9]*(?:-[a-zA-Z0-9]+)*\b")
# Endings that are not plurals ("analysis", "status", "class", "gaussians" is folded).
_NOT_PLURAL = ("ss", "us", "is", "ys", "as", "os")
# Plurals that add "es" after a sibilant ("meshes", "patches", "boxes", "processes"): without
# this they folded to "meshe" and "patche", which then showed up in explanations.
_SIBILANT_PLURAL = ("ches", "shes", "xes", "sses")
# Words whose singular ends in "che" keep it ("caches" -> "cache").
_CHE_SINGULAR = ("cache", "niche", "avalanche", "headache", "moustache", "psyche", "cliche")


def fold_plural(word: str) -> str:
    """Light, predictable plural folding: "robots" -> "robot", "policies" -> "policy",
    "meshes" -> "mesh".

    A full stemmer would also merge "learning" and "learned"; plural folding alone fixes the
    commonest miss (a reader writes "robots", abstracts say "robot") and keeps words readable in
    explanations.
    """
    if len(word) <= 4 or not word.endswith("s") or word.endswith(_NOT_PLURAL):
        return word
    if word.endswith("ies") and len(word) > 5:
        return word[:-3] + "y"
    if word.endswith(_SIBILANT_PLURAL) and not word.endswith(_CHE_SINGULAR, 0, len(word) - 1):
        return word[:-2]
    return word[:-1]


# LaTeX commands in abstracts (\textbf{...}, \emph, \mathcal) are markup, not topic words; without
# this "textbf" ends up explaining picks.
_LATEX_COMMAND = re.compile(r"\\[a-zA-Z]+")


def tokenize(text: str) -> list[str]:
    text = _LATEX_COMMAND.sub(" ", text)
    return [fold_plural(token) for token in _TOKEN.findall(text)]


TFIDF_PARAMS["tokenizer"] = tokenize


def english_stop_words() -> frozenset[str]:
    """scikit-learn's English stop words. Imported here, when a fit needs them, not when this
    module is: a worker only transforms text and never imports scikit-learn (tfidf.py)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return ENGLISH_STOP_WORDS


def english_words(model: FittedModel) -> frozenset[str]:
    """The English function words the model's fit used: kept in the artifact, so a worker need
    not import scikit-learn for them (artifacts from before: scikit-learn's list)."""
    return getattr(model.vectorizer, "english_words", None) or english_stop_words()


def stop_words() -> list[str]:
    english = english_stop_words()
    return sorted(english | {fold_plural(w) for w in english})


MIN_DF_LARGE_CORPUS = 2
LARGE_CORPUS = 200

# --- LSA (TruncatedSVD) hyperparameters -------------------------------------------------------
# 128 beat 64 and 256 on the quality benchmark (bench/recommender_quality.py, README figures).
SVD_COMPONENTS = 128
# 20 power iterations instead of scikit-learn's 5: the randomized SVD then finds the top topics
# more exactly (text nDCG@10 0.385 against 0.376 on the May validation window, about 30% more fit
# time; README).
SVD_PARAMS = {"algorithm": "randomized", "n_iter": 20, "random_state": 0}

# The first LSA direction of non-negative TF-IDF data is the corpus' common direction (every
# paper loads on it, mostly by length and generic wording), not a topic; it is zeroed so cosines
# compare topics only (bench/recommender_quality.py: seeds +0.023 nDCG@10 on the May validation
# window, text +0.003; README).
DROP_FIRST_COMPONENT = True

# Titles say what a paper is about more densely than abstracts: repeat them.
TITLE_REPEAT = 2


# --- Word-context space hyperparameters ----------------------------------------------------------
# Words within this many positions of each other (after stop words are dropped) co-occur, a pair
# at distance d counting 1/d; only single words in at least `min_papers` papers get a vector.
CONTEXT_PARAMS = {
    "window": 5,
    "min_papers": 5,
    "dimensions": 200,
    # Context counts raised to 0.75 before PMI, so rare context words do not get extreme PMI.
    "context_smoothing": 0.75,
    "n_iter": 5,
    "random_state": 0,
}


# Relevance is calibrated per profile against its scores over this many stored papers, spread
# evenly over the corpus (relevance.py); their TF-IDF rows are kept in the artifact (about 2 MB).
REFERENCE_PAPERS = 2000


class CorpusTooSmall(ValueError):
    """The corpus cannot support a fitted model; callers fall back to trending papers."""


def paper_text(title: str, abstract: str) -> str:
    return " ".join([title] * TITLE_REPEAT + [abstract])


@dataclass
class FittedModel:
    """Everything a fit produces; saved and loaded whole by model_store."""

    # The fitted TF-IDF and LSA transforms (tfidf.py; scikit-learn's own objects in artifacts
    # written before it).
    vectorizer: TermWeights
    svd: Projection | None
    # Dense corpus matrix (rows L2-normalised, float16 to halve memory), aligned with corpus_ids.
    corpus_matrix: np.ndarray
    corpus_ids: list[str]
    # arXiv category -> L2-normalised centroid of its papers in the dense space.
    category_centroids: dict[str, np.ndarray] = field(default_factory=dict)
    # Number of TF-IDF features.
    vocabulary_size: int = 0
    fitted_at: str = ""
    version: str = ""
    # Dense rows of the corpus' titles alone (float16, aligned with corpus_ids): a short interest
    # text finds its neighbours better among short titles than among abstracts.
    title_matrix: np.ndarray | None = None
    # The word-context space (None on tiny corpora and in artifacts from before it existed):
    # the vocabulary ids of the words that have a vector, their vectors (rows, float32), the
    # corpus' common direction (removed from every row), and the corpus' rows (float16).
    context_terms: np.ndarray | None = None
    context_vectors: np.ndarray | None = None
    context_direction: np.ndarray | None = None
    context_matrix: np.ndarray | None = None
    # The reference sample relevance is calibrated on: TF-IDF rows of up to REFERENCE_PAPERS
    # corpus papers and their positions in corpus_ids (None in artifacts from before it).
    reference_rows: sparse.csr_matrix | None = None
    reference_index: np.ndarray | None = None
    # The same papers' sentence embeddings (float16), when the optional encoder is on at fit time
    # (embeddings.py); None otherwise, and relevance then has no embedding part.
    reference_embeddings: np.ndarray | None = None
    # The single words the fit left out as too common (in more than max_df of the papers),
    # counted on the reference sample: a typed word missing from the vocabulary is matched as
    # written only when it is not one of them (lexical.py). None in artifacts from before it.
    common_words: frozenset[str] | None = None

    @property
    def dim(self) -> int:
        return self.corpus_matrix.shape[1]

    @property
    def has_context(self) -> bool:
        return getattr(self, "context_vectors", None) is not None

    def context_from_sparse(self, matrix: sparse.spmatrix) -> np.ndarray | None:
        """Word-context rows of TF-IDF rows (L2-normalised), or None without that space."""
        if not self.has_context:
            return None
        return _context_rows(self._context_sums(matrix), self.context_direction)

    def _context_sums(self, matrix: sparse.spmatrix) -> np.ndarray:
        """Each TF-IDF row's weighted sum of its words' word-context vectors."""
        return mapped.product(
            sparse.csr_matrix(matrix)[:, self.context_terms], self.context_vectors
        )

    def term_rows(self, ids) -> np.ndarray:
        """The LSA loadings (SVD components) of vocabulary terms, one row per id, read without
        mapping the rest of the components (mapped.rows)."""
        by_term = getattr(self.svd, "terms", None)
        if by_term is None:  # scikit-learn's TruncatedSVD, in an artifact from before tfidf.py
            return np.ascontiguousarray(self.svd.components_[:, ids].T)
        return mapped.rows(by_term, ids)

    def scoring_rows(self, rows: sparse.spmatrix, dense: np.ndarray) -> np.ndarray:
        """What relevance is computed on: the LSA rows followed by the word-context rows (the
        LSA rows alone without that space); profiles.Profile.scoring is their counterpart."""
        if not self.has_context:
            return dense
        return np.hstack([dense, self.context_from_sparse(rows)])

    def sparse(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Sparse L2-normalised TF-IDF rows of raw texts."""
        return self.vectorizer.transform(list(texts)).astype(np.float32).tocsr()

    def dense_from_sparse(self, matrix: sparse.spmatrix) -> np.ndarray:
        if self.svd is None:
            dense = matrix.toarray().astype(np.float32)
        else:
            dense = self.svd.transform(matrix).astype(np.float32)
        return l2_normalise(dense)

    def dense(self, texts: Sequence[str]) -> np.ndarray:
        """Dense L2-normalised rows of raw texts (an all-zero row for a text with no known word)."""
        return self.dense_from_sparse(self.sparse(texts))

    def transform_papers(
        self, papers: Iterable[tuple[str, str]]
    ) -> tuple[sparse.csr_matrix, np.ndarray]:
        """(sparse, dense) rows of (title, abstract) pairs; no refit needed for new papers."""
        rows = self.sparse([paper_text(title, abstract) for title, abstract in papers])
        return rows, self.dense_from_sparse(rows)

    def feature_names(self) -> np.ndarray:
        if not hasattr(self, "_feature_names"):
            self._feature_names = self.vectorizer.get_feature_names_out()
        return self._feature_names


def l2_normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def fit_model(
    papers: Sequence[tuple[str, str, str, Sequence[str]]],
    *,
    min_papers: int,
    components: int = SVD_COMPONENTS,
) -> FittedModel:
    """Fit TF-IDF + LSA on (id, title, abstract, categories) tuples.

    Raises CorpusTooSmall when there are fewer than `min_papers` papers or no usable words.
    """
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    if len(papers) < min_papers:
        raise CorpusTooSmall(
            f"only {len(papers)} papers stored; at least {min_papers} are needed to fit a model"
        )
    texts = [paper_text(title, abstract) for _id, title, abstract, _cats in papers]
    min_df = MIN_DF_LARGE_CORPUS if len(papers) >= LARGE_CORPUS else 1
    # max_df only makes sense with enough documents; on a tiny corpus it could drop everything.
    max_df = TFIDF_PARAMS["max_df"] if len(papers) >= LARGE_CORPUS else 1.0
    vectorizer = TfidfVectorizer(
        **{**TFIDF_PARAMS, "stop_words": stop_words(), "min_df": min_df, "max_df": max_df}
    )
    try:
        tfidf = vectorizer.fit_transform(texts).astype(np.float32).tocsr()
    except ValueError as error:  # "empty vocabulary; perhaps the documents only contain stop words"
        raise CorpusTooSmall(f"the stored papers yield no usable words ({error})") from error
    n_features = tfidf.shape[1]
    # TruncatedSVD needs fewer components than features and documents.
    k = min(components, n_features - 1, len(papers) - 1)
    svd = None
    if k >= 2:
        svd = TruncatedSVD(n_components=k, **SVD_PARAMS)
        # On tiny corpora the rank can be below k; scikit-learn then divides by a zero variance
        # while computing explained_variance_ratio_ (unused here).
        with np.errstate(divide="ignore", invalid="ignore"):
            dense = svd.fit_transform(tfidf).astype(np.float32)
        # float32 halves the artifact; transform() works the same with it.
        svd.components_ = svd.components_.astype(np.float32)
        if DROP_FIRST_COMPONENT and k > 2:
            # transform() of new papers and profiles then gives 0 in that column too.
            svd.components_[0] = 0.0
            dense[:, 0] = 0.0
        dense = l2_normalise(dense)
    else:
        dense = l2_normalise(tfidf.toarray())
    # Only what transforms need is kept (not scikit-learn's objects: tfidf.py); the vectorizer's
    # stop_words_, every n-gram min_df/max_df/max_features cut, was by far its biggest part.
    model = FittedModel(
        vectorizer=TermWeights.of(vectorizer, english_stop_words()),
        svd=Projection.of(svd) if svd is not None else None,
        corpus_matrix=dense.astype(np.float16),
        corpus_ids=[paper_id for paper_id, *_rest in papers],
        vocabulary_size=n_features,
    )
    model.category_centroids = category_centroids(dense, [cats for *_r, cats in papers])
    model.reference_index = reference_sample(len(papers))
    model.reference_rows = tfidf[model.reference_index]
    model.common_words = common_words(model, [texts[i] for i in model.reference_index], max_df)
    if embeddings.enabled():
        model.reference_embeddings = embeddings.embed_papers(
            [(papers[i][1], papers[i][2]) for i in model.reference_index]
        ).astype(np.float16)
    model.title_matrix = model.dense([title for _id, title, *_rest in papers]).astype(np.float16)
    if len(papers) >= LARGE_CORPUS:
        fit_context_space(model, texts, tfidf)
    return model


def common_words(model: FittedModel, sample: Sequence[str], max_df: float) -> frozenset[str]:
    """The single words of `sample` (the reference sample's texts) outside the vocabulary that
    are in more than `max_df` of its papers: the words the fit dropped as too common, told
    apart from those it dropped as too rare. A sample of 2,000 papers puts a word's share within
    about 0.01 of the corpus's, so only a word at the cut itself can land on the other side."""
    if max_df >= 1.0 or not sample:
        return frozenset()
    analyzer = model.vectorizer.build_analyzer()
    vocabulary = model.vectorizer.vocabulary_
    counts: dict[str, int] = {}
    for text in sample:
        for word in {t for t in analyzer(text) if " " not in t and t not in vocabulary}:
            counts[word] = counts.get(word, 0) + 1
    return frozenset(word for word, n in counts.items() if n > max_df * len(sample))


def reference_sample(papers: int) -> np.ndarray:
    """Positions of the reference sample: evenly spread, so it stands for the whole corpus
    whatever order the papers come in."""
    count = min(REFERENCE_PAPERS, papers)
    return np.unique(np.linspace(0, papers - 1, count).astype(np.int64))


def fit_context_space(model: FittedModel, texts: Sequence[str], tfidf: sparse.csr_matrix) -> None:
    """Fit the word-context space on the corpus texts (in place); skipped when too few words.

    Word vectors: positive PMI of co-occurrence counts within `window` words, factorised by a
    truncated SVD (rows U * sqrt(S), unit length). A paper's row is the sum of its words'
    vectors weighted by its TF-IDF row, minus the corpus' common direction (every paper loads on
    it; like LSA's first direction it says nothing about topics), L2-normalised.
    """
    params = CONTEXT_PARAMS
    analyzer = model.vectorizer.build_analyzer()
    vocabulary = model.vectorizer.vocabulary_
    papers_with = np.diff(sparse.csc_matrix(tfidf).indptr)
    # Single words in enough papers, by token; the token streams are kept as compact int arrays
    # (a 150,000-paper refit has about 20 million tokens).
    eligible = {
        token: term
        for token, term in vocabulary.items()
        if " " not in token and papers_with[term] >= params["min_papers"]
    }
    ids = array("q")
    lengths = array("q")
    for text in texts:
        # The analyzer yields the text's single words in order, then its bigrams.
        before = len(ids)
        ids.extend(eligible[token] for token in analyzer(text) if token in eligible)
        lengths.append(len(ids) - before)
    terms, local = np.unique(np.frombuffer(ids, dtype=np.int64), return_inverse=True)
    del ids
    dimensions = min(params["dimensions"], len(terms) - 1)
    if dimensions < 2:
        return
    local = local.astype(np.int32)
    paper_of = np.repeat(
        np.arange(len(lengths), dtype=np.int32), np.frombuffer(lengths, dtype=np.int64)
    )
    n = len(terms)
    # Counts of (word, word `distance` places later) pairs, summed over distances; made
    # symmetric once at the end (each intermediate sum is a copy, so fewer sums, less memory).
    counts = sparse.csr_matrix((n, n), dtype=np.float32)
    for distance in range(1, params["window"] + 1):
        same_paper = paper_of[:-distance] == paper_of[distance:]
        counts = counts + sparse.csr_matrix(
            (
                np.full(int(same_paper.sum()), 1.0 / distance, np.float32),
                (local[:-distance][same_paper], local[distance:][same_paper]),
            ),
            shape=(n, n),
        )
    del local, paper_of
    counts = (counts + counts.T).tocoo()
    word_totals = np.asarray(counts.sum(axis=1)).ravel()
    context_totals = np.asarray(counts.sum(axis=0)).ravel() ** params["context_smoothing"]
    pmi = np.log(
        counts.data
        * np.float32(context_totals.sum())
        / (word_totals[counts.row] * context_totals[counts.col]).astype(np.float32)
    )
    positive = pmi > 0
    ppmi = sparse.csr_matrix(
        (pmi[positive], (counts.row[positive], counts.col[positive])), shape=(n, n)
    )
    del counts, pmi, positive
    from sklearn.utils.extmath import randomized_svd

    u, s, _vt = randomized_svd(
        ppmi, dimensions, n_iter=params["n_iter"], random_state=params["random_state"]
    )
    model.context_terms = terms
    model.context_vectors = l2_normalise((u * np.sqrt(s)).astype(np.float32))
    # The corpus' sums give both the common direction and, without it, the corpus' rows.
    summed = model._context_sums(tfidf)
    _u, _s, common = randomized_svd(summed, 1, random_state=params["random_state"])
    model.context_direction = common[0].astype(np.float32)
    model.context_matrix = _context_rows(summed, model.context_direction).astype(np.float16)


def _context_rows(summed: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Word-context rows from their sums: the common direction removed, L2-normalised."""
    return l2_normalise((summed - np.outer(summed @ direction, direction)).astype(np.float32))


# Categories with fewer papers than this get no centroid (too noisy to stand for a field).
MIN_CATEGORY_PAPERS = 3
_CATEGORY = re.compile(r"^[a-z-]+(\.[A-Za-z-]+)?$")


def category_centroids(
    dense: np.ndarray, categories: Sequence[Sequence[str]]
) -> dict[str, np.ndarray]:
    members: dict[str, list[int]] = {}
    for row, cats in enumerate(categories):
        for cat in set(cats or ()):
            if _CATEGORY.match(cat):  # arXiv categories only, not ACM/MSC codes
                members.setdefault(cat, []).append(row)
    return {
        cat: l2_normalise(dense[rows].mean(axis=0)).astype(np.float32)
        for cat, rows in members.items()
        if len(rows) >= MIN_CATEGORY_PAPERS
    }


def describe(model: FittedModel) -> str:
    svd = f"svd{model.svd.n_components}" if model.svd is not None else "nosvd"
    context = f"-ctx{model.context_vectors.shape[1]}" if model.has_context else ""
    # (The optional sentence encoder's part: its reference sample embedded at the fit.)
    encoder = "-minilm" if getattr(model, "reference_embeddings", None) is not None else ""
    return (
        f"{FEATURES_NAME}-{svd}{context}{encoder}-{model.vocabulary_size}f-{len(model.corpus_ids)}d"
    )
