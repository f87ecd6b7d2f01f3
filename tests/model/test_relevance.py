from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from recommender.model import relevance

WEIGHTS = {"lexical": 0.3, "reference_quantile": 0.99, "floor": 0.5, "floor_share": 0.03}


def test_it_puts_each_part_on_the_profiles_own_scale():
    rng = np.random.default_rng(0)
    semantic = rng.normal(0.1, 0.05, 2000)
    coverage = np.where(rng.random(2000) < 0.05, 1.0, 0.0)  # 5% of papers hold the term
    calibration = relevance.calibrate(semantic, coverage, weights=WEIGHTS)
    median, top = np.median(semantic), np.quantile(semantic, 0.99)
    # A typical paper without the term is at 0; one as close as the top 1% on both parts at 1.
    at = lambda s, lex: calibration.semantic * s + calibration.lexical * lex + calibration.offset  # noqa: E731
    assert at(median, 0.0) == pytest.approx(0.0, abs=1e-6)
    assert at(top, 1.0) == pytest.approx(1.0, abs=1e-6)
    # The shares: the lexical part alone moves relevance by 0.3, the semantic part by 0.7.
    assert at(median, 1.0) == pytest.approx(0.3, abs=1e-6)
    assert at(top, 0.0) == pytest.approx(0.7, abs=1e-6)


def test_its_floor_is_the_higher_of_the_setting_and_the_profiles_top_share():
    rng = np.random.default_rng(1)
    semantic = rng.normal(0.1, 0.05, 2000)
    coverage = np.zeros(2000)
    calibration = relevance.calibrate(semantic, coverage, weights={**WEIGHTS, "floor": -5.0})
    reference = calibration.semantic * semantic + calibration.offset
    assert calibration.floor == pytest.approx(np.quantile(reference, 0.97), rel=1e-5)
    high = relevance.calibrate(semantic, coverage, weights={**WEIGHTS, "floor": 3.0})
    assert high.floor == 3.0


def test_it_does_not_blow_up_words_no_stored_paper_has():
    semantic = np.linspace(0, 0.5, 2000)
    calibration = relevance.calibrate(semantic, np.zeros(2000), weights=WEIGHTS)
    assert calibration.lexical == pytest.approx(0.3 / relevance.MIN_SPREAD)
    assert np.isfinite(calibration.offset)


def test_a_profile_without_words_of_its_own_is_calibrated_on_the_semantic_part_alone():
    semantic = np.linspace(0, 0.5, 2000)
    calibration = relevance.calibrate(semantic, None, weights=WEIGHTS)
    assert calibration.lexical == 0.0
    spread = np.quantile(semantic, 0.99) - np.median(semantic)
    assert calibration.semantic == pytest.approx(1 / spread)


def test_it_combines_a_chunk_as_two_products_and_an_affine_map():
    calibrations = [
        relevance.Calibration(2.0, 1.0, -0.5, 0.5),
        relevance.Calibration(1.0, 0.0, 0.1, 0.5),
    ]
    semantic = np.array([[0.2, 0.4], [0.3, 0.1]], np.float32)
    lexical = sparse.csr_matrix(np.array([[1.0, 0.0], [1.0, 1.0]], np.float32))
    combined = relevance.combine(semantic, lexical, calibrations)
    assert np.allclose(combined, [[0.9, 0.3], [0.4, 0.2]])


def test_a_one_word_interest_leans_on_meaning_and_a_list_of_terms_gets_the_full_lexical_share():
    """ "Papers on robotics" (one term: its lexical score is a yes/no) gets a twelfth of the
    lexical share; a keywords list or a sentence of a dozen terms or more gets all of it."""
    rng = np.random.default_rng(2)
    semantic = rng.normal(0.1, 0.05, 2000)
    coverage = np.where(rng.random(2000) < 0.05, 1.0, 0.0)
    weights = {**WEIGHTS, "lexical_full_terms": 12.0}

    def lexical_share(calibration):  # what containing every term adds to a typical paper
        median = np.median(semantic)
        without = calibration.semantic * median + calibration.offset
        return calibration.semantic * median + calibration.lexical + calibration.offset - without

    one = relevance.calibrate(semantic, coverage, weights=weights, effective_terms=1.0)
    six = relevance.calibrate(semantic, coverage, weights=weights, effective_terms=6.0)
    many = relevance.calibrate(semantic, coverage, weights=weights, effective_terms=20.0)
    assert lexical_share(one) == pytest.approx(0.3 / 12, abs=1e-6)
    assert lexical_share(six) == pytest.approx(0.15, abs=1e-6)
    assert lexical_share(many) == pytest.approx(0.3, abs=1e-6)


def test_a_keyword_keeps_the_full_lexical_share_however_few_its_terms(sample_model):
    """The same one word typed as a keyword weighs the full lexical share; typed as interest
    text it gets a twelfth of it (keywords are never damped away)."""
    from recommender.model import lexical, profiles

    built = profiles.build_profile(sample_model, profiles.ProfileSpec(keywords=["robotics"]))
    weights = {**WEIGHTS, "lexical_full_terms": 12.0}
    assert lexical.effective_terms(built.lexical) == pytest.approx(1.0)
    as_text = relevance.calibrate_profile(sample_model, built.scoring, built.lexical, weights)
    as_keyword = relevance.calibrate_profile(
        sample_model, built.scoring, built.lexical, weights, keywords=True
    )
    # relevance = (1 - share) / spread x semantic + share / spread x lexical + offset, with the
    # same spreads for both: the ratios are those of the shares.
    assert as_keyword.lexical / as_text.lexical == pytest.approx(0.3 / (0.3 / 12), rel=1e-4)
    assert as_keyword.semantic / as_text.semantic == pytest.approx(0.7 / (1 - 0.3 / 12), rel=1e-4)


def test_a_profile_with_keywords_takes_the_keyword_share_when_one_is_set(sample_model):
    from recommender.model import profiles

    built = profiles.build_profile(sample_model, profiles.ProfileSpec(keywords=["robotics"]))
    weights = {**WEIGHTS, "lexical_full_terms": 12.0}
    plain = relevance.calibrate_profile(
        sample_model, built.scoring, built.lexical, weights, keywords=True
    )
    own = {**weights, "lexical_keywords": 0.6}
    keyed = relevance.calibrate_profile(
        sample_model, built.scoring, built.lexical, own, keywords=True
    )
    assert keyed.lexical / plain.lexical == pytest.approx(0.6 / 0.3, rel=1e-4)
    assert keyed.semantic / plain.semantic == pytest.approx(0.4 / 0.7, rel=1e-4)
    # A profile without keywords keeps `lexical`, whatever the keyword share.
    as_text = relevance.calibrate_profile(sample_model, built.scoring, built.lexical, weights)
    as_text_too = relevance.calibrate_profile(sample_model, built.scoring, built.lexical, own)
    assert as_text_too == as_text


def test_a_keyword_share_keeps_the_lexical_part_of_keyword_profiles_when_the_other_is_off(
    sample_model,
):
    from recommender.model import profiles

    spec = profiles.ProfileSpec(keywords=["robotics"])
    off = profiles.build_profile(sample_model, spec, weights={"lexical": 0.0})
    assert off.lexical is None
    assert off.calibration.lexical == 0
    kept = profiles.build_profile(
        sample_model, spec, weights={"lexical": 0.0, "lexical_keywords": 0.4}
    )
    assert kept.lexical is not None
    assert kept.calibration.lexical > 0
    # Unset, the keyword share is the general one.
    assert (
        relevance.lexical_weight({"lexical": 0.3, "lexical_keywords": None}, keywords=True) == 0.3
    )
