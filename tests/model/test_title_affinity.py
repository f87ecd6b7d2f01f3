"""A common word of an interest text kept when it names papers: the fit's title counts,
lexical.title_affinity and profiles._damp_common_words with `title_affinity`."""

from __future__ import annotations

import copy
import gzip
import json
import re

import numpy as np

from recommender.model import features, lexical, profiles

from ..conftest import SAMPLE_PAPERS

DAMP = {"share": 0.02, "weight": 0.1, "min_specific": 2}
# The example: "videos" is common (4 % of the sample papers) and its head noun.
SENTENCE = (
    "I follow work on multimodal language models that watch videos: answering questions about "
    "clips, localizing events in time, and handling long footage efficiently."
)


def _titles() -> list[str]:
    with gzip.open(SAMPLE_PAPERS, "rt", encoding="utf-8") as handle:
        return [json.loads(line)["title"] for line in handle]


def _without_title_counts(model):
    """A copy of the model as an artifact from before the fit counted titles."""
    old = copy.copy(model)
    old.title_document_frequencies = None
    for memo in ("_title_affinity", "_document_frequencies"):
        old.__dict__.pop(memo, None)
    return old


def test_the_fit_counts_the_titles_each_term_is_in(sample_model):
    counts = sample_model.title_document_frequencies
    vocabulary = sample_model.vectorizer.vocabulary_
    assert counts.shape == (sample_model.vocabulary_size,)
    # A title is part of its paper's text: no term is in more titles than papers.
    assert np.all(counts <= features.document_frequencies(sample_model) + 0.5)
    # A word the analyzer reads as written: its titles counted one by one.
    titles = _titles()
    by_hand = sum(bool(re.search(r"\bsegmentation\b", t, re.IGNORECASE)) for t in titles)
    assert by_hand > 5
    assert counts[vocabulary["segmentation"]] == by_hand
    assert counts[vocabulary["propose"]] == 0


def test_a_topic_word_is_in_the_titles_of_more_of_its_papers_than_filler(sample_model):
    affinity = lexical.title_affinity(sample_model)
    vocabulary = sample_model.vectorizer.vocabulary_
    topic = {w: affinity[vocabulary[w]] for w in ("video", "segmentation", "diffusion", "agent")}
    filler = {w: affinity[vocabulary[w]] for w in ("method", "propose", "approach")}
    assert min(topic.values()) > 0.25, topic
    assert max(filler.values()) < 0.05, filler
    # Read by stem: "videos", which the analyzer keeps apart, counts as "video" does.
    assert affinity[vocabulary["videos"]] == affinity[vocabulary["video"]]
    # An artifact from before the counts has none, and damping is then as before.
    assert lexical.title_affinity(_without_title_counts(sample_model)) is None


def test_a_common_word_keeps_its_title_affinity_share_of_its_weight(sample_model):
    row = sample_model.sparse([SENTENCE])[0]
    names = sample_model.feature_names()
    common = features.document_frequencies(sample_model)[row.indices] > 0.02 * len(
        sample_model.corpus_ids
    )
    affinity = lexical.title_affinity(sample_model)[row.indices]
    flat = profiles._damp_common_words(sample_model, row, **DAMP)
    graded = profiles._damp_common_words(sample_model, row, **DAMP, title_affinity=0.5)
    before = dict(zip(row.indices, row.data, strict=True))
    after_flat = dict(zip(flat.indices, flat.data, strict=True))
    after = dict(zip(graded.indices, graded.data, strict=True))
    by_name = {names[i]: i for i in row.indices}
    # "videos" is common here and names papers: kept at its share; "question" less so.
    assert common[list(row.indices).index(by_name["videos"])]
    assert after[by_name["videos"]] > 3 * after_flat[by_name["videos"]]
    for position, term in enumerate(row.indices):
        if not common[position]:
            assert np.isclose(after[term], before[term])  # specific words are never touched
            continue
        keep = min(max(affinity[position] / 0.5, 0.1), 1.0)
        assert np.isclose(after[term], before[term] * keep)
        assert after[term] >= after_flat[term] - 1e-7
    # Off (0), or on a model without title counts: the flat damping, unchanged.
    off = profiles._damp_common_words(sample_model, row, **DAMP, title_affinity=0.0)
    assert (off != flat).nnz == 0
    old = _without_title_counts(sample_model)
    assert (profiles._damp_common_words(old, row, **DAMP, title_affinity=0.5) != flat).nnz == 0


def test_build_profile_reads_the_setting_and_keywords_are_never_damped(sample_model):
    text = profiles.ProfileSpec(text=SENTENCE)
    flat = profiles.build_profile(sample_model, text)
    graded = profiles.build_profile(
        sample_model, text, weights={"text_common_word_title_affinity": 0.5}
    )
    assert not np.allclose(flat.vector, graded.vector)
    keywords = profiles.ProfileSpec(keywords=["video question answering", "long videos"])
    assert np.allclose(
        profiles.build_profile(sample_model, keywords).vector,
        profiles.build_profile(
            sample_model, keywords, weights={"text_common_word_title_affinity": 0.5}
        ).vector,
    )
