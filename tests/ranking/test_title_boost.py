"""The lexical part's title-field boost: the coverage of a profile's terms by a paper's title
alone, calibrated on its own, adds to relevance (PROFILE_LEXICAL_TITLE)."""

from __future__ import annotations

import copy
from datetime import date

import numpy as np
import pytest

from recommender.model import lexical, profiles
from recommender.model import store as model_store
from recommender.model.profiles import ProfileSpec
from recommender.models import Paper
from recommender.ranking import candidates, scoring


def _paper(number: int, title: str, abstract: str) -> Paper:
    return Paper(
        arxiv_id=f"2602.{number:05d}", title=title, abstract=abstract, first_seen=date(2026, 2, 3)
    )


# The same words in both papers; only one says "speech synthesis" in its title.
IN_TITLE = _paper(
    1,
    "Speech synthesis with a neural vocoder",
    "We train a neural vocoder on recorded voices and compare it with earlier systems.",
)
IN_BODY = _paper(
    2,
    "A neural vocoder trained on recorded voices",
    "We apply it to speech synthesis and compare it with earlier systems.",
)
NEITHER = _paper(
    3,
    "Graph neural networks for molecule property prediction",
    "Message passing over molecular graphs predicts properties of compounds.",
)


@pytest.fixture
def boost(settings):
    def set_boost(weight: float) -> None:
        settings.PROFILE_WEIGHTS = {**settings.PROFILE_WEIGHTS, "lexical_title": weight}

    return set_boost


def _parts(model, spec: ProfileSpec, papers: list[Paper]):
    """The built profile, its coverage by the papers and by their titles, and its relevance."""
    batch = candidates.prepare_candidates(papers, model)
    built = profiles.build_profile(model, spec)
    coverage, titles = batch.terms.both([built.lexical])
    return built, coverage[0], titles, scoring.relevance_of(built, batch)


def test_a_title_match_ranks_above_a_body_only_match(sample_model, boost):
    spec = ProfileSpec(keywords=["speech synthesis"])
    boost(0.0)
    _built, coverage, titles, relevance_off = _parts(sample_model, spec, [IN_TITLE, IN_BODY])
    assert titles is None
    assert coverage[0] == pytest.approx(coverage[1])  # the whole papers cannot tell them apart
    boost(0.5)
    built, coverage_on, titles, relevance_on = _parts(sample_model, spec, [IN_TITLE, IN_BODY])
    assert np.array_equal(coverage_on, coverage)
    assert titles[0, 0] > 0 == titles[0, 1]
    assert built.calibration.title > 0
    assert relevance_on[0] > relevance_on[1]
    assert relevance_on[0] - relevance_on[1] > relevance_off[0] - relevance_off[1]


def test_typed_keywords_are_never_damped_by_the_boost(sample_model, boost):
    """The boost adds to title matches; it takes nothing from the person's keywords: their
    weights are the same, and a paper that has them in its abstract only still ranks above one
    without them, with the lexical part's full share."""
    spec = ProfileSpec(keywords=["speech synthesis"])
    boost(0.0)
    without, *_ = _parts(sample_model, spec, [IN_BODY, NEITHER])
    boost(0.75)
    built, coverage, _titles, relevance = _parts(sample_model, spec, [IN_BODY, NEITHER])
    assert np.array_equal(built.lexical.indices, without.lexical.indices)
    assert np.array_equal(built.lexical.data, without.lexical.data)
    assert coverage[0] > 0 == coverage[1]
    assert relevance[0] > relevance[1]
    assert built.calibration.lexical == pytest.approx(without.calibration.lexical)
    # One typed phrase is two effective terms or fewer, yet it keeps the full lexical share
    # (the same phrase as text gets a sixth of it), and with it the full title factor.
    assert lexical.effective_terms(built.lexical) < 3
    as_text = profiles.build_profile(sample_model, ProfileSpec(text="speech synthesis"))
    assert built.calibration.lexical > as_text.calibration.lexical
    assert built.calibration.title > as_text.calibration.title


def test_an_artifact_without_reference_titles_scores_without_the_boost(sample_model, boost):
    """It cannot calibrate the title part, so neither its profiles nor its candidates use it."""
    old = copy.copy(sample_model)
    old.reference_title_rows = None
    old._lexical_reference_titles = None
    boost(0.5)
    assert lexical.title_weight(old, {"lexical_title": 0.5}) == 0.0
    spec = ProfileSpec(keywords=["speech synthesis"])
    built, _coverage, titles, _ = _parts(old, spec, [IN_TITLE, IN_BODY])
    assert titles is None
    assert built.calibration.title == 0.0
    boost(0.0)
    assert built.calibration == profiles.build_profile(sample_model, spec).calibration


def test_the_artifact_keeps_the_reference_titles_memory_mapped(installed_model, boost):
    boost(0.5)
    loaded = model_store.load_current()
    rows, titles = loaded.reference_rows, loaded.reference_title_rows
    assert titles.shape == rows.shape
    assert isinstance(titles.data, np.memmap)
    assert np.array_equal(titles.indices, installed_model.reference_title_rows.indices)
    assert np.array_equal(titles.data, installed_model.reference_title_rows.data)
    # A title's words are among its paper's words (the paper's text holds its title).
    assert (lexical.paper_rows(loaded, titles) > lexical.paper_rows(loaded, rows)).nnz == 0
    spec = ProfileSpec(text="neural speech synthesis", keywords=["vocoder"])
    from_file = profiles.build_profile(loaded, spec)
    in_memory = profiles.build_profile(installed_model, spec)
    assert from_file.calibration == in_memory.calibration
    assert (
        from_file.calibration
        != profiles.build_profile(installed_model, spec, weights={"lexical_title": 0.0}).calibration
    )
