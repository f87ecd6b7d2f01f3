"""The LSA loadings explanations read: once for the chunks of one morning, never another model's."""

from __future__ import annotations

import copy

import numpy as np

from recommender.model import profiles
from recommender.model.profiles import ProfileSpec
from recommender.ranking import candidates, explanations
from tests.ranking.test_relevance_floor import MEDICAL_QA, VIDEO_QA


def _profile(model) -> profiles.Profile:
    return profiles.build_profile(model, ProfileSpec(text="question answering in long videos"))


def _explain_all(model, papers, profile) -> list[str]:
    batch = candidates.prepare_candidates(papers, model)
    return [explanations.explain(model, profile, batch, i) for i in range(len(papers))]


def test_chunks_with_the_same_candidates_read_the_loadings_once(sample_model, monkeypatch):
    profile = _profile(sample_model)
    reads = []
    real = type(sample_model).term_rows

    def counted(model, indices):
        reads.append(len(indices))
        return real(model, indices)

    monkeypatch.setattr(type(sample_model), "term_rows", counted)
    monkeypatch.setattr(explanations, "_last_loadings", None)
    papers = [VIDEO_QA, MEDICAL_QA]
    first = _explain_all(sample_model, papers, profile)
    assert len(reads) == 1
    # The next chunk: the same candidates, no read.
    assert _explain_all(sample_model, papers, profile) == first
    assert len(reads) == 1
    _explain_all(sample_model, [MEDICAL_QA], profile)  # other candidates: read afresh
    assert len(reads) == 2

    # Another model (unsaved models share the version ""), with other loadings: its own rows.
    other = copy.copy(sample_model)
    other.svd = copy.copy(sample_model.svd)
    other.svd.terms = -np.asarray(sample_model.svd.terms)
    profile = _profile(other)
    reads.clear()
    _explain_all(other, [MEDICAL_QA], profile)
    assert len(reads) == 1
    used, rows = explanations._last_loadings[1:]
    assert np.allclose(rows, real(other, used))
