from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from recommender.model import features, query_shaping
from tests.helpers import SAMPLE_PAPERS


def test_it_fits_word_tfidf_and_a_unit_norm_lsa_space(sample_model):
    assert sample_model.vectorizer.ngram_range == (1, 2)
    assert sample_model.vectorizer.sublinear_tf is True
    assert "the" in sample_model.vectorizer.stop_words
    assert sample_model.svd.n_components == 64
    norms = np.linalg.norm(sample_model.corpus_matrix.astype(np.float32), axis=1)
    assert np.allclose(norms[norms > 0], 1.0, atol=1e-2)
    assert len(sample_model.corpus_ids) == sample_model.corpus_matrix.shape[0]


def test_it_transforms_new_papers_without_a_refit(sample_model):
    vocabulary_before = dict(sample_model.vectorizer.vocabulary_)
    rows, dense = sample_model.transform_papers(
        [
            ("Grasping with a robot arm", "A robot learns manipulation policies for grasping."),
            ("Quantizing language models", "Post-training quantization of LLM weights to 4 bits."),
        ]
    )
    assert sample_model.vectorizer.vocabulary_ == vocabulary_before
    assert rows.shape[0] == 2
    assert dense.shape == (2, sample_model.dim)
    robots = sample_model.dense(["robot manipulation and grasping"])[0]
    assert dense[0] @ robots > dense[1] @ robots


def test_it_refuses_a_corpus_too_small_to_fit():
    papers = [(str(i), "A title", "An abstract", []) for i in range(5)]
    with pytest.raises(features.CorpusTooSmall, match="only 5 papers"):
        features.fit_model(papers, min_papers=50)


def test_it_refuses_a_corpus_without_usable_words():
    papers = [(str(i), "the and of", "it is a", []) for i in range(60)]
    with pytest.raises(features.CorpusTooSmall, match="no usable words"):
        features.fit_model(papers, min_papers=50)


def test_it_keeps_category_centroids_for_arxiv_categories_only(sample_model):
    assert "cs.RO" in sample_model.category_centroids
    assert not any(cat[0].isupper() for cat in sample_model.category_centroids)  # no "I.2.7"
    robotics = sample_model.dense(["robot manipulation locomotion"])[0]
    centroids = sample_model.category_centroids
    assert robotics @ centroids["cs.RO"] > robotics @ centroids["cs.CL"]


def test_it_keeps_the_artifact_small(installed_model):
    from recommender.model import store as model_store

    # Only what transforms need (tfidf.py), not scikit-learn's list of every n-gram it cut.
    assert not hasattr(installed_model.vectorizer, "stop_words_")
    assert installed_model.svd.components_.dtype == np.float32
    # A worker holds the corpus rows once, widened to float32 where it computes with them...
    loaded = model_store.load_current()
    assert query_shaping.corpus32(loaded) is loaded.corpus_matrix
    assert loaded.corpus_matrix.dtype == np.float32
    # ...and the artifact keeps them in float16, even when saved from a widened model.
    model_store.save(loaded)
    model_store.clear_cache()
    again = model_store.load_current()
    assert again.corpus_matrix.dtype == np.float16
    assert again.context_matrix is None or again.context_matrix.dtype == np.float16
    assert np.array_equal(again.corpus_matrix, loaded.corpus_matrix)


def test_it_keeps_title_vectors_for_expanding_short_interest_texts(sample_model):
    with gzip.open(SAMPLE_PAPERS, "rt", encoding="utf-8") as handle:
        titles = {r["id"]: r["title"] for r in map(json.loads, handle)}
    matrix = sample_model.title_matrix.astype(np.float32)
    assert matrix.shape == sample_model.corpus_matrix.shape
    sims = matrix @ sample_model.dense(["robotic manipulation"])[0]
    robotic = np.array(["robot" in titles[pid].lower() for pid in sample_model.corpus_ids])
    assert robotic.sum() >= 5
    assert sims[robotic].mean() > sims[~robotic].mean() + 0.2


def test_it_ignores_latex_markup_and_folds_plurals():
    from recommender.model.features import tokenize

    tokens = tokenize(r"We propose \textbf{Event-VLA} for robots with $\mathcal{O}(n)$ cost")

    assert "Event-VLA" in tokens
    assert "robot" in tokens
    assert not {"textbf", "mathcal"} & set(tokens)


def test_it_folds_plurals_to_readable_singulars():
    from recommender.model.features import fold_plural

    pairs = {
        "robots": "robot",
        "policies": "policy",
        "meshes": "mesh",
        "patches": "patch",
        "approaches": "approach",
        "boxes": "box",
        "processes": "process",
        "classes": "class",
        "caches": "cache",
        "niches": "niche",
        "responses": "response",
        "sizes": "size",
        "analysis": "analysis",
        "bus": "bus",
        "loss": "loss",
    }
    assert {word: fold_plural(word) for word in pairs} == pairs


def test_it_zeroes_the_common_first_lsa_direction(sample_model):
    assert not np.any(sample_model.svd.components_[0])
    assert not np.any(sample_model.corpus_matrix[:, 0])
    dense = sample_model.dense(["robot manipulation", "speech synthesis"])
    assert not np.any(dense[:, 0])
    assert np.allclose(np.linalg.norm(dense, axis=1), 1.0, atol=1e-5)


def _context_vector(model, word: str) -> np.ndarray:
    term = model.vectorizer.vocabulary_[word]
    row = np.searchsorted(model.context_terms, term)
    assert model.context_terms[row] == term, f"{word!r} has no word-context vector"
    return model.context_vectors[row]


def test_it_fits_a_word_context_space_from_neighbouring_words(sample_model):
    assert sample_model.has_context
    vectors = sample_model.context_vectors
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    # Words used in the same contexts get close vectors, unrelated fields do not.
    speech = _context_vector(sample_model, "speech")
    assert speech @ _context_vector(sample_model, "speaker") > 0.5
    assert speech @ _context_vector(sample_model, "speaker") > speech @ _context_vector(
        sample_model, "graph"
    )
    corpus = sample_model.context_matrix
    assert corpus.dtype == np.float16
    assert corpus.shape == (len(sample_model.corpus_ids), vectors.shape[1])


def test_it_gives_papers_unit_word_context_rows_without_the_common_direction(sample_model):
    rows, _dense = sample_model.transform_papers(
        [
            ("Recognising speech", "Automatic speech recognition of long utterances."),
            ("Knowledge graphs", "Link prediction in a directed knowledge graph."),
        ]
    )
    context = sample_model.context_from_sparse(rows)
    assert np.allclose(np.linalg.norm(context, axis=1), 1.0, atol=1e-5)
    assert np.allclose(context @ sample_model.context_direction, 0.0, atol=1e-5)
    # No word in common with either paper: the closeness comes from the words' contexts.
    speakers = sample_model.context_from_sparse(sample_model.sparse(["speaker transcription"]))[0]
    assert context[0] @ speakers > context[1] @ speakers + 0.2


def test_it_fits_no_word_context_space_on_a_tiny_corpus():
    topics = ["robot grasping arm", "speech audio synthesis", "graph neural network"]
    papers = [
        (str(i), f"Paper {i} on {topics[i % 3]}", f"We study {topics[i % 3]} methods.", [])
        for i in range(60)
    ]
    model = features.fit_model(papers, min_papers=50, components=8)
    assert not model.has_context
    assert model.context_from_sparse(model.sparse(["robot"])) is None
