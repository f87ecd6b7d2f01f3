from __future__ import annotations

import copy

import numpy as np
import pytest

from recommender.model import lexical, profiles, stems


@pytest.mark.parametrize(
    ("forms", "stem"),
    [
        (("localizing", "localization", "localized", "localize"), "local"),
        (("segmentation", "segmenting", "segmented"), "segment"),
        (("generative", "generation", "generating", "generated"), "gener"),
    ],
)
def test_it_folds_word_forms_to_one_stem(forms, stem):
    assert {stems.stem(form) for form in forms} == {stem}


def own_weights(model, text, keywords, **options):
    """A profile's known-term weights (lexical.profile_weights without its unseen terms)."""
    return lexical.profile_weights(model, text, keywords, **options)[0]


def test_it_keeps_short_words_whole():
    assert stems.stem("data") == "data"
    assert stems.stem("used") == "used"  # "us" would be too short a stem


def test_it_folds_plurals_the_tokenizer_leaves_when_the_vocabulary_has_the_singular():
    words = {"video", "day"}
    assert stems.stem_term("videos", words) == stems.stem_term("video", words)
    assert stems.stem_term("days", words) == "day"
    # Without the singular in the vocabulary, a word ending so stays as it is.
    assert stems.stem_term("analysis", words) == "analysis"


def test_a_compound_of_two_hyphen_joined_words_is_the_phrase_of_those_words():
    assert stems.stem_term("tensor-product") == stems.stem_term("tensor product")
    assert stems.stem_term("real-world") == "real world"
    assert stems.stem_term("self-driving") == stems.stem_term("self driving") == "self driv"
    # A part that no phrase of the analyzer has (a number, one letter), or three parts: whole.
    for whole in ("llama-3", "u-net", "text-to-image"):
        assert stems.stem_term(whole) == whole


def test_a_typed_compound_matches_a_paper_that_writes_its_words_apart(sample_model):
    space = lexical.space(sample_model)
    assert space.key("vision-language") is not None
    assert space.key("vision-language") == space.key("vision language")
    own = own_weights(
        sample_model, "", ["vision-language"], idf_power=1.0, phrase_weight=1.0, max_terms=64
    )
    apart, other = lexical.paper_rows(
        sample_model,
        sample_model.sparse(["A vision language benchmark", "A speech recognition benchmark"]),
    )
    assert (apart @ own.T).toarray()[0, 0] > 0
    assert (other @ own.T).toarray()[0, 0] == 0


def test_its_profile_vector_weighs_rarer_terms_more_and_sums_to_one(sample_model):
    vector = own_weights(
        sample_model, "", ["speech synthesis", "model"], idf_power=1, phrase_weight=1, max_terms=64
    )
    space = lexical.space(sample_model)
    weights = dict(zip(vector.indices.tolist(), vector.data.tolist(), strict=True))
    assert np.isclose(sum(weights.values()), 1.0)
    speech, model = space.key("speech"), space.key("model")
    assert weights[speech] > weights[model]  # "model" is in far more papers than "speech"
    # Each keyword is read on its own: no phrase spans two keywords.
    terms = lexical.profile_terms(sample_model, "", ["speech synthesis", "model"])
    assert "speech synthesis" in terms
    assert "synthesis model" not in terms


def test_it_keeps_only_the_strongest_terms(sample_model):
    text = "speech recognition with transformers for robots grasping objects in kitchens"
    full = own_weights(sample_model, text, [], idf_power=1, phrase_weight=1, max_terms=64)
    pruned = own_weights(sample_model, text, [], idf_power=1, phrase_weight=1, max_terms=3)
    assert full.nnz > 3
    assert pruned.nnz == 3
    strongest = set(full.indices[np.argsort(-full.data)[:3]].tolist())
    assert set(pruned.indices.tolist()) == strongest


def test_it_lists_the_persons_keywords_first_then_their_most_specific_words(sample_model):
    terms = lexical.own_terms(sample_model, "speech models", ["robot grasping"])
    assert terms[0].label == "robot grasping"
    assert terms[0].keyword
    words = [term for term in terms if not term.keyword and " " not in term.label]
    assert [term.label for term in words] == ["speech", "model"]


def test_a_batch_scores_profiles_as_the_plain_sparse_product(sample_model):
    texts = [
        "Robot grasping with tactile sensing. A robot hand learns to grasp objects.",
        "Neural speech synthesis. A vocoder for text-to-speech audio.",
        "Graph neural networks for molecules. Message passing on molecular graphs.",
    ]
    papers = lexical.paper_rows(sample_model, sample_model.sparse(texts))
    batch = lexical.BatchTerms.of(papers)

    def vector(text: str, keywords: list[str]):
        return own_weights(sample_model, text, keywords, idf_power=1, phrase_weight=1, max_terms=64)

    profiles = [
        vector("robot grasping", []),
        None,  # a profile without words of its own
        vector("speech audio and zebra migration", ["graph neural networks"]),
    ]
    scores = batch.scores(profiles)
    size = papers.shape[1]
    for row, profile in zip(scores, profiles, strict=True):
        expected = (
            np.zeros(len(texts)) if profile is None else (papers @ profile.T).toarray().ravel()
        )
        assert np.allclose(row, expected, atol=1e-6)
    assert scores[0].argmax() == 0
    assert scores[2][0] == 0.0
    assert profiles[2].shape[1] == size


def _weights(model, vector) -> dict[str, float]:
    space = lexical.space(model)
    by_key = dict(zip(vector.indices.tolist(), vector.data.tolist(), strict=True))
    return {word: by_key.get(space.key(word), 0.0) for word in ("speech", "recognition", "new")}


def test_a_sentences_filler_weighs_less_than_its_head_nouns(sample_model):
    """A text word far from the profile's meaning ("new") loses weight against the words the
    profile is about ("speech", "recognition"); with `topical` at 0 they weigh by idf alone."""
    text = "new speech recognition"
    meaning = profiles.build_profile(sample_model, profiles.ProfileSpec(text=text)).vector
    plain = own_weights(sample_model, text, [], idf_power=1, phrase_weight=1, max_terms=64)
    topical = own_weights(
        sample_model,
        text,
        [],
        idf_power=1,
        phrase_weight=1,
        max_terms=64,
        vector=meaning,
        topical=0.5,
    )
    before, after = _weights(sample_model, plain), _weights(sample_model, topical)
    assert after["new"] / after["speech"] < before["new"] / before["speech"]
    assert after["new"] / after["recognition"] < before["new"] / before["recognition"]


def test_keywords_keep_their_idf_weight_whatever_the_profiles_meaning(sample_model):
    keywords = ["new speech recognition"]
    meaning = profiles.build_profile(sample_model, profiles.ProfileSpec(keywords=keywords)).vector
    common = {"idf_power": 1, "phrase_weight": 1, "max_terms": 64}
    plain = own_weights(sample_model, "", keywords, **common)
    topical = own_weights(sample_model, "", keywords, **common, vector=meaning, topical=1.0)
    assert np.allclose(plain.toarray(), topical.toarray())


def test_it_counts_how_many_terms_a_profiles_weights_amount_to(sample_model):
    common = {"idf_power": 1, "phrase_weight": 1, "max_terms": 64}
    one = own_weights(sample_model, "robotics", [], **common)
    many = own_weights(
        sample_model, "", ["speech recognition", "robot grasping", "image segmentation"], **common
    )
    assert lexical.effective_terms(one) == pytest.approx(1.0)
    assert 5 < lexical.effective_terms(many) <= many.nnz
    assert lexical.effective_terms(None) == 0.0


def test_the_fit_keeps_the_words_it_dropped_as_too_common_not_the_rare_ones(sample_model):
    from recommender.model import features

    sample = ["graph neural networks", "graph kernels", "graph drawing", "protein folding"]
    # "graph" is in 3 of 4 texts: past a max_df of 0.5; "protein" in 1 of 4 is not.
    known = {"neural", "network", "kernel", "drawing", "folding", "neural network"}
    model = copy.copy(sample_model)
    model.vectorizer = copy.copy(sample_model.vectorizer)
    model.vectorizer.vocabulary_ = {term: i for i, term in enumerate(sorted(known))}
    assert features.common_words(model, sample, 0.5) == frozenset({"graph"})
    assert features.common_words(model, sample, 1.0) == frozenset()  # a small fit drops none
    assert sample_model.common_words is not None  # kept by every fit


def test_without_unseen_matching_a_term_the_vocabulary_lacks_counts_for_nothing(sample_model):
    common = {"idf_power": 1.0, "phrase_weight": 1.0, "max_terms": 64}
    text = "I'm interested in zorbliquant solvers for sparse linear systems"
    own, unseen = lexical.profile_weights(sample_model, text, ["fast solvers"], **common)
    without, _ = lexical.profile_weights(
        sample_model, text.replace("zorbliquant ", ""), ["fast solvers"], **common
    )
    assert unseen == ()
    assert own.indices.tolist() == without.indices.tolist()
    assert own.data.tolist() == without.data.tolist()
    # ...and with it, the term is kept by its stem and takes its share of the weight.
    matched, unseen = lexical.profile_weights(
        sample_model, text, ["fast solvers"], unseen="all", **common
    )
    assert "zorbliquant" in [stem for stem, _ in unseen]
    assert matched.data.sum() + sum(w for _, w in unseen) == pytest.approx(1.0)
    assert matched.data.sum() < 1.0


def test_a_batch_finds_each_unseen_term_in_every_paper_that_has_it(sample_model):
    texts = [
        "zorbliquant solvers and quuxitron meshes",
        "plain sparse solvers",
        "zorbliquants on quuxitron grids",
    ]
    batch = lexical.BatchTerms.of(
        lexical.paper_rows(sample_model, sample_model.sparse(texts)), texts, sample_model
    )
    profiles_terms = [(("zorbliquant", 0.25), ("quuxitron", 0.5)), (), (("quuxitron", 0.125),)]
    scores = batch.unseen_scores(profiles_terms)
    assert scores.tolist() == [[0.75, 0.0, 0.75], [0.0, 0.0, 0.0], [0.125, 0.0, 0.125]]
    assert batch.unseen_scores([(), ()]) is None  # no profile has one: nothing to add


def test_a_papers_unseen_terms_are_kept_per_model_and_redone_in_another_process(sample_model):
    model = copy.copy(sample_model)
    model._unseen_hashes = (0, {"stale": np.array([1], np.int64)})  # another process's seed
    fresh = lexical.unseen_hashes(model, "zorbliquant solvers")
    assert hash("zorbliquant") in fresh.tolist()
    assert "stale" not in model._unseen_hashes[1]
    assert lexical.unseen_hashes(model, "zorbliquant solvers") is fresh  # kept
