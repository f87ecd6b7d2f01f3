"""The fitted TF-IDF and LSA transforms as plain arrays, so a worker never imports scikit-learn.

A fit uses scikit-learn's TfidfVectorizer and TruncatedSVD (features.fit_model); what it keeps
of them is what a worker needs to turn new text into rows: the vocabulary, the idf weights and
the analyzer's settings (`TermWeights`), and the SVD components (`Projection`). Importing
scikit-learn costs a worker process about 70 MiB of its resident memory (scipy.stats,
scipy.optimize and the rest come with it) for two small transforms, so they are done here.

Both give the same numbers as scikit-learn's transforms, operation for operation (checked on
every text of the shared dump, docs/benchmarks.md "Worker memory"): the same analyzer steps in
the same order, counts as float32, sublinear tf (ln + 1) and the idf product in float32, each
row divided by its L2 norm summed in double in the row's order, then the sparse rows times the
transposed components (held transposed: `Projection`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from . import mapped

# The vectorizer settings these transforms implement; a fit with any other is refused.
SUPPORTED = {
    "input": "content",
    "analyzer": "word",
    "lowercase": True,
    "strip_accents": "unicode",
    "preprocessor": None,
    "norm": "l2",
    "use_idf": True,
    "binary": False,
}


def strip_accents(text: str) -> str:
    """Accents removed (NFKD, combining marks dropped); ASCII text is returned as it is."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@dataclass
class TermWeights:
    """A fitted TF-IDF vectorizer's vocabulary and weights, with its transform."""

    vocabulary_: dict[str, int]
    idf_: np.ndarray
    tokenizer: Callable[[str], list[str]]
    stop_words: frozenset[str]
    ngram_range: tuple[int, int]
    sublinear_tf: bool
    # The words the fit took as English function words (before plural folding): the profile's
    # language check counts them.
    english_words: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, vectorizer, english_words: Iterable[str] = ()) -> TermWeights:
        """The parts of a fitted scikit-learn TfidfVectorizer a transform needs."""
        params = vectorizer.get_params()
        unsupported = {k: params[k] for k, v in SUPPORTED.items() if params[k] != v}
        if unsupported or not callable(params["tokenizer"]):
            raise ValueError(f"TermWeights cannot reproduce a vectorizer with {unsupported}")
        return cls(
            vocabulary_=vectorizer.vocabulary_,
            idf_=vectorizer.idf_,
            tokenizer=params["tokenizer"],
            stop_words=frozenset(params["stop_words"] or ()),
            ngram_range=tuple(params["ngram_range"]),
            sublinear_tf=params["sublinear_tf"],
            english_words=frozenset(english_words),
        )

    def build_analyzer(self) -> Callable[[str], list[str]]:
        return self.analyze

    def analyze(self, text: str) -> list[str]:
        """The text's terms: lower-cased, accents stripped, tokenized, stop words dropped, then
        its single words followed by its n-grams in order."""
        words = self.tokenizer(strip_accents(text.lower()))
        tokens = [word for word in words if word not in self.stop_words]
        low, high = self.ngram_range
        terms = list(tokens) if low == 1 else []
        for n in range(max(low, 2), min(high, len(tokens)) + 1):
            terms.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        return terms

    def get_feature_names_out(self) -> np.ndarray:
        names = np.empty(len(self.vocabulary_), dtype=object)
        for term, column in self.vocabulary_.items():
            names[column] = term
        return names

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """L2-normalised TF-IDF rows (float32) of `texts`."""
        if isinstance(texts, str):
            raise ValueError("transform takes a sequence of texts, not one string")
        columns: list[int] = []
        counts: list[int] = []
        indptr = [0]
        for text in texts:
            counter: dict[int, int] = {}
            for term in self.analyze(text):
                column = self.vocabulary_.get(term)
                if column is not None:
                    counter[column] = counter.get(column, 0) + 1
            columns.extend(counter)
            counts.extend(counter.values())
            indptr.append(len(columns))
        rows = sparse.csr_matrix(
            (
                np.asarray(counts, dtype=np.float32),
                np.asarray(columns, dtype=np.int32),
                np.asarray(indptr, dtype=np.int32),
            ),
            shape=(len(indptr) - 1, len(self.vocabulary_)),
        )
        rows.sort_indices()
        data = rows.data
        if self.sublinear_tf:
            np.log(data, out=data)
            data += 1.0
        data *= self.idf_[rows.indices]
        _normalise_rows(data, rows.indptr)
        return rows


def _normalise_rows(data: np.ndarray, indptr: np.ndarray) -> None:
    """Each row's values divided by its L2 norm, in place; the squares (float32) are summed in
    double one by one in the row's order, as scikit-learn's normalize does, so the rounding is
    the same. Rows are short (a paper has a few hundred terms): the Python sum is cheap."""
    squares = (data * data).tolist()
    for start, end in zip(indptr[:-1].tolist(), indptr[1:].tolist(), strict=True):
        total = 0.0
        for value in squares[start:end]:
            total += value
        if total == 0.0:
            continue
        data[start:end] = data[start:end].astype(np.float64) / np.sqrt(total)


@dataclass
class Projection:
    """A fitted TruncatedSVD's components (and singular values), with its transform.

    The components are kept transposed, one row of `dim` values per vocabulary term: scipy's
    sparse-by-dense product reads its dense operand in C order, and scikit-learn handed it the
    transposed (F-order) view of its (dim x terms) matrix, so every transform copied all of it
    (98 MiB on the full dump) before multiplying. The product itself is the same.
    """

    terms: np.ndarray  # (terms x dim), C order
    singular_values_: np.ndarray

    @classmethod
    def of(cls, svd) -> Projection:
        return cls(
            terms=np.ascontiguousarray(svd.components_.T), singular_values_=svd.singular_values_
        )

    @property
    def components_(self) -> np.ndarray:
        """(dim x terms), as scikit-learn lays them out (a view)."""
        return self.terms.T

    @property
    def n_components(self) -> int:
        return self.terms.shape[1]

    def transform(self, rows: sparse.spmatrix) -> np.ndarray:
        # Only the rows of the terms present are read (mapped.py: not the whole mapped array).
        return mapped.product(rows, self.terms)
