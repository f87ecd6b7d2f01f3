from __future__ import annotations

import numpy as np
from django.conf import settings
from django.test import override_settings

from accounts.models import InterestProfile
from accounts.references import resolve_pasted, unmatched_references
from recommender.model import profiles, query_shaping
from recommender.model.profiles import PaperDoc, ProfileSpec
from recommender.models import FeedbackEvent
from recommender.ranking import subscriber_profiles

GRASPING = PaperDoc("g", "Learning robot grasping", "A robot arm learns to grasp objects.")
SPEECH = PaperDoc("s", "Neural speech synthesis", "A vocoder for text-to-speech audio.")


def _cos(model, vector, doc):
    return float(model.dense([f"{doc.title} {doc.abstract}"])[0] @ vector)


def test_it_points_a_text_profile_at_matching_papers(sample_model):
    built = profiles.build_profile(sample_model, ProfileSpec(text="papers on robot manipulation"))
    assert built.parts == ["text"]
    assert _cos(sample_model, built.vector, GRASPING) > _cos(sample_model, built.vector, SPEECH)


def test_it_drops_request_words_from_interest_text():
    assert profiles.clean_interest_text("I'd like recent papers on robot grasping") == (
        "I on robot grasping"
    )


def test_contractions_leave_no_one_letter_words_in_interest_text():
    # Split at the apostrophe they left "m", "t", "s", "ve": terms of the vocabulary.
    text = "I\u2019m into tensor methods; I don't use the model's code and I've seen O'Brien's"
    assert profiles.clean_interest_text(text) == (
        "I into tensor methods I use the model code and I seen O Brien"
    )


def test_it_combines_every_part_of_a_profile(sample_model):
    spec = ProfileSpec(
        text="speech",
        keywords=["robot grasping"],
        categories=["cs.RO"],
        seeds=[GRASPING],
        liked=[SPEECH],
    )
    built = profiles.build_profile(sample_model, spec)
    assert built.parts == ["text", "keywords", "categories", "seeds", "feedback"]
    assert np.isclose(np.linalg.norm(built.vector), 1.0)
    assert built.known_keys == {"g", "s"}


def test_it_makes_no_vector_for_an_empty_profile(sample_model):
    built = profiles.build_profile(sample_model, ProfileSpec())
    assert built.empty


def test_it_says_when_interest_text_is_not_english(sample_model):
    for text in ("机器人抓取和操作的学习方法", "apprentissage des robots pour la manipulation"):
        built = profiles.build_profile(sample_model, ProfileSpec(text=text))
        assert any("does not look like English" in m for m in built.messages), text
    built = profiles.build_profile(sample_model, ProfileSpec(text="robots for the home"))
    assert not built.messages


def test_it_says_when_no_word_is_known(sample_model):
    built = profiles.build_profile(sample_model, ProfileSpec(text="zzyzx qwxq"))
    assert built.empty
    assert "None of the words" in built.messages[0]


def test_it_reports_categories_without_papers(sample_model):
    built = profiles.build_profile(sample_model, ProfileSpec(categories=["cs.RO", "astro-ph.XX"]))
    assert built.parts == ["categories"]
    assert "astro-ph.XX" in built.messages[0]


def test_it_moves_toward_liked_and_away_from_disliked_papers(sample_model):
    base = profiles.build_profile(sample_model, ProfileSpec(text="deep learning"))
    liked = profiles.build_profile(sample_model, ProfileSpec(text="deep learning", liked=[SPEECH]))
    disliked = profiles.build_profile(
        sample_model, ProfileSpec(text="deep learning", disliked=[SPEECH])
    )
    assert _cos(sample_model, liked.vector, SPEECH) > _cos(sample_model, base.vector, SPEECH)
    assert _cos(sample_model, disliked.vector, SPEECH) < _cos(sample_model, base.vector, SPEECH)


def test_it_resolves_seed_ids_links_and_titles(make_paper):
    first = make_paper(arxiv_id="2606.01234", title="Scaling Robot Grasping")
    second = make_paper(arxiv_id="2606.04321", title="Tiny Speech Models")
    third = make_paper(arxiv_id="2606.05555", title="Graph Transformers, Revisited!")
    pasted = [
        "2606.01234v3",
        "https://arxiv.org/abs/2606.04321",
        "graph transformers revisited",
        "2612.99999",
        "A Paper Nobody Wrote",
    ]
    found = resolve_pasted(pasted)
    missing = unmatched_references(pasted, found)
    assert {p.pk for p in found} == {first.pk, second.pk, third.pk}
    assert missing == ["2612.99999", "A Paper Nobody Wrote"]


def test_it_builds_a_subscriber_spec_with_seeds_feedback_and_messages(make_subscriber, make_paper):
    seed = make_paper(arxiv_id="2606.01234", title="Scaling Robot Grasping")
    up, down, clicked = make_paper(), make_paper(), make_paper()
    subscriber = make_subscriber(interests_text="robots", seed_references=["2606.01234", "nope"])
    for paper, kind in ((up, "up"), (down, "down"), (clicked, "click")):
        FeedbackEvent.objects.create(subscriber=subscriber, paper=paper, kind=kind)
    FeedbackEvent.objects.create(subscriber=subscriber, paper=up, kind="click")

    spec = subscriber_profiles.spec_for_subscriber(
        InterestProfile.objects.get(subscriber=subscriber)
    )
    assert [doc.key for doc in spec.seeds] == [str(seed.pk)]
    assert [doc.key for doc in spec.liked] == [str(up.pk)]  # a later click keeps the thumbs-up
    assert [doc.key for doc in spec.disliked] == [str(down.pk)]
    assert [doc.key for doc in spec.clicked] == [str(clicked.pk)]
    assert spec.messages == ["Seed papers not found in our library (ignored): “nope”."]


def test_it_can_expand_interest_text_by_nearest_titles(sample_model):
    spec = ProfileSpec(text="robot manipulation")
    by_text = profiles.build_profile(sample_model, spec)
    by_title = profiles.build_profile(sample_model, spec, weights={"text_expansion_by_title": True})
    plain = profiles.build_profile(sample_model, spec, weights={"text_expansion": 0.0})
    assert not np.allclose(by_text.vector, by_title.vector)
    for built in (by_text, by_title):
        assert 0.5 < float(built.vector @ plain.vector) < 0.999
        assert _cos(sample_model, built.vector, GRASPING) > _cos(sample_model, built.vector, SPEECH)


def test_it_reuses_a_built_profile_until_the_profile_or_its_feedback_changes(
    installed_model, make_subscriber, make_paper, monkeypatch
):
    subscriber = make_subscriber(interests_text="robot grasping")
    builds = []
    real_build = profiles.build_profile
    monkeypatch.setattr(
        profiles, "build_profile", lambda *a, **k: builds.append(1) or real_build(*a, **k)
    )

    def built():
        interest = InterestProfile.objects.get(subscriber=subscriber)
        return subscriber_profiles.profiles_for(installed_model, [interest])[0]

    first = built()
    assert np.allclose(built().vector, first.vector)
    assert len(builds) == 1  # the second call came from the cache
    FeedbackEvent.objects.create(subscriber=subscriber, paper=make_paper(), kind="up")
    assert built().parts == ["text", "feedback"]
    interest = InterestProfile.objects.get(subscriber=subscriber)
    interest.interests_text = "speech synthesis"
    interest.save()
    assert not np.allclose(built().vector, first.vector)
    assert len(builds) == 3
    # Changed profile weights (an operator's PROFILE_* setting) are used at once.
    built()
    assert len(builds) == 3
    with override_settings(PROFILE_WEIGHTS={**settings.PROFILE_WEIGHTS, "text_expansion": 0.0}):
        built()
    assert len(builds) == 4


def test_it_expands_interest_text_with_the_nearest_vocabulary_terms(sample_model):
    row = sample_model.sparse(["speech"])
    expanded = query_shaping.expand_terms(sample_model, row, terms=5, weight=0.5, min_docs=2)
    names = sample_model.feature_names()
    added = {names[i] for i in expanded.indices} - {names[i] for i in row.indices}
    assert 0 < len(added) <= 5
    assert any("speech" in term or "audio" in term or "speaker" in term for term in added)
    # The text's own words keep (at least) their weight; the added terms weigh half the text.
    assert np.all(expanded[0, row.indices].toarray() >= row.data - 1e-6)
    assert np.isclose(np.linalg.norm((expanded - row).toarray()), 0.5, atol=1e-4)
    off = query_shaping.expand_terms(sample_model, row, terms=0, weight=0.5, min_docs=2)
    assert (off != row).nnz == 0

    spec = ProfileSpec(text="speech")
    built = profiles.build_profile(sample_model, spec)
    plain = profiles.build_profile(sample_model, spec, weights={"text_term_expansion": 0.0})
    assert not np.allclose(built.vector, plain.vector)
    assert _cos(sample_model, built.vector, SPEECH) > _cos(sample_model, built.vector, GRASPING)


def test_it_damps_common_words_of_a_sentence_but_keeps_a_short_text_whole(sample_model):
    names = sample_model.feature_names()
    frequent = query_shaping.document_frequencies(sample_model) > 0.02 * len(
        sample_model.corpus_ids
    )
    damp = {"share": 0.02, "weight": 0.1, "min_specific": 2}

    sentence = sample_model.sparse(["a robust method for robot grasping with tactile sensing"])[0]
    damped = query_shaping.damp_common_words(sample_model, sentence, **damp)
    before = dict(zip(sentence.indices, sentence.data, strict=True))
    after = dict(zip(damped.indices, damped.data, strict=True))
    assert {names[i] for i in before if frequent[i]} >= {"method", "robust", "sensing"}
    assert {names[i] for i in before if not frequent[i]} >= {"robot", "grasping"}
    for term, weight in before.items():
        expected = weight * 0.1 if frequent[term] else weight
        assert np.isclose(after[term], expected)

    # Texts whose only rare terms are phrases of common words keep every word: here the
    # phrases "vision language" and "image segmentation" are the topic, not filler.
    short = sample_model.sparse(["vision language models for image segmentation"])[0]
    short_names = {names[i]: frequent[i] for i in short.indices}
    assert not short_names["vision language"]
    assert not short_names["image segmentation"]
    assert all(common for name, common in short_names.items() if " " not in name)
    assert (query_shaping.damp_common_words(sample_model, short, **damp) != short).nnz == 0
    # A weight of 1 turns it off.
    off = query_shaping.damp_common_words(sample_model, sentence, **{**damp, "weight": 1.0})
    assert (off != sentence).nnz == 0

    # build_profile uses it for interest text, and keywords (the subscriber's own terms) keep
    # every word at full weight.
    text = ProfileSpec(text="a robust method for robot grasping with tactile sensing")
    undamped = {"text_common_word_weight": 1.0}
    assert not np.allclose(
        profiles.build_profile(sample_model, text).vector,
        profiles.build_profile(sample_model, text, weights=undamped).vector,
    )
    keywords = ProfileSpec(keywords=["robust method", "robot grasping", "tactile sensing"])
    assert np.allclose(
        profiles.build_profile(sample_model, keywords).vector,
        profiles.build_profile(sample_model, keywords, weights=undamped).vector,
    )


def test_levelled_lengths_make_each_word_count_by_its_weight_alone_except_common_modifiers(
    sample_model,
):
    shape = {"share": 0.02, "weight": 0.1, "min_specific": 2}
    names = sample_model.feature_names()
    frequent = query_shaping.document_frequencies(sample_model) > 0.02 * len(
        sample_model.corpus_ids
    )
    text = "a robust language model method for robot grasping with tactile sensing"
    sentence = sample_model.sparse([text])[0]
    levelled = query_shaping.level_word_lengths(
        sample_model, sentence, **shape, modifier_min_docs=2
    )
    before = dict(zip(sentence.indices, sentence.data, strict=True))
    after = dict(zip(levelled.indices, levelled.data, strict=True))
    assert set(after) == set(before)
    terms = list(before)
    lengths = dict(zip(terms, np.linalg.norm(sample_model.term_rows(terms), axis=1), strict=True))
    # "language" begins the phrase "language model", which the corpus uses: a common modifier,
    # it keeps the damping; the other words' contributions in LSA space (weight x length) now
    # stand to one another as their TF-IDF weights do.
    modifier = next(i for i in terms if names[i] == "language")
    assert frequent[modifier]
    assert any(names[i] == "language model" for i in terms)
    contribution = {i: after[i] * lengths[i] / before[i] for i in terms if lengths[i] > 0}
    plain = [v for i, v in contribution.items() if i != modifier]
    assert np.allclose(plain, plain[0], rtol=1e-4)
    assert np.isclose(contribution[modifier], 0.1 * plain[0], rtol=1e-4)
    # A common word that modifies nothing ("method") is not damped, as damp_common_words would.
    method = next(i for i in terms if names[i] == "method")
    assert frequent[method]
    assert np.isclose(contribution[method], plain[0], rtol=1e-4)

    # A phrase fewer papers use than the threshold makes no modifier: "language" then counts
    # like the other words.
    unmodified = query_shaping.level_word_lengths(
        sample_model, sentence, **shape, modifier_min_docs=10**6
    )
    free = dict(zip(unmodified.indices, unmodified.data, strict=True))
    assert np.isclose(free[modifier] * lengths[modifier] / before[modifier], plain[0], rtol=1e-4)

    # Where the damping would not apply (no specific single words, or no common word), the
    # row is returned as it is.
    short = sample_model.sparse(["vision language models for image segmentation"])[0]
    rare = sample_model.sparse(["robot grasping tactile"])[0]
    assert not frequent[rare.indices].any()
    for row in (short, rare):
        same = query_shaping.level_word_lengths(sample_model, row, **shape, modifier_min_docs=2)
        assert (same != row).nnz == 0

    # build_profile uses it for interest text with PROFILE_TEXT_WORD_LENGTHS "level" on a
    # model fitted on at least PROFILE_TEXT_LEVEL_MIN_CORPUS papers; a smaller one (this
    # 996-paper sample, against the 5,000 set here) keeps the damping. Keywords are not touched.
    spec = ProfileSpec(text=text)
    damped = profiles.build_profile(sample_model, spec, weights={"text_word_lengths": "damp"})
    level = {"text_word_lengths": "level", "text_level_min_corpus": 5_000}
    assert np.allclose(
        damped.vector, profiles.build_profile(sample_model, spec, weights=level).vector
    )
    # The defaults level from 20,000 papers on: this model keeps the damping.
    assert np.allclose(damped.vector, profiles.build_profile(sample_model, spec).vector)
    level["text_level_min_corpus"] = len(sample_model.corpus_ids)
    assert not np.allclose(
        damped.vector, profiles.build_profile(sample_model, spec, weights=level).vector
    )
    keywords = ProfileSpec(keywords=["robust method", "robot grasping", "tactile sensing"])
    assert np.allclose(
        profiles.build_profile(sample_model, keywords).vector,
        profiles.build_profile(sample_model, keywords, weights=level).vector,
    )


def _speech_and_graph_papers():
    from datetime import date

    from recommender.models import Paper

    return [
        Paper(
            arxiv_id="2601.00001",
            title="Recognising speech",
            first_seen=date(2026, 1, 5),
            abstract="Automatic speech recognition of long utterances from many speakers.",
        ),
        Paper(
            arxiv_id="2601.00002",
            title="Knowledge graphs",
            first_seen=date(2026, 1, 5),
            abstract="Link prediction in a directed knowledge graph with an ontology.",
        ),
    ]


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def test_it_blends_lsa_and_word_context_relevance(sample_model):
    from recommender.ranking import candidates

    weights = settings.PROFILE_WEIGHTS
    share, docs = weights["context"], weights["context_docs"]
    assert 0 < share < 1
    dim = sample_model.dim
    built = profiles.build_profile(sample_model, ProfileSpec(text="speech"))
    # Its word-context half: its own word there, plus its nearest stored papers (found in LSA
    # space) read there.
    own = sample_model.context_from_sparse(sample_model.sparse(["speech"]))[0]
    corpus = sample_model.corpus_matrix.astype(np.float32)
    nearest = np.argsort(-(corpus @ built.vector))[:docs]
    neighbours = _unit(sample_model.context_matrix[nearest].astype(np.float32).mean(axis=0))
    context = _unit(own + weights["context_expansion"] * neighbours)
    assert np.allclose(built.scoring[:dim], (1 - share) * built.vector, atol=1e-6)
    assert np.allclose(built.scoring[dim:], share * context, atol=1e-3)

    batch = candidates.prepare_candidates(_speech_and_graph_papers(), sample_model)
    relevance = batch.scoring @ built.scoring
    lsa = batch.dense @ built.vector
    word_context = sample_model.context_from_sparse(batch.sparse) @ context
    assert np.allclose(relevance, (1 - share) * lsa + share * word_context, atol=1e-3)
    assert relevance[0] > relevance[1]


def test_it_scores_a_profile_with_nothing_of_its_own_in_word_context_on_lsa_alone(
    sample_model,
):
    from recommender.ranking import candidates

    batch = candidates.prepare_candidates(_speech_and_graph_papers(), sample_model)
    # Categories only, and words too rare in the sample corpus to have a word-context vector.
    for spec in (ProfileSpec(categories=["eess.AS"]), ProfileSpec(text="robot")):
        built = profiles.build_profile(sample_model, spec)
        assert not np.any(built.scoring[sample_model.dim :])
        assert np.allclose(batch.scoring @ built.scoring, batch.dense @ built.vector, atol=1e-6)


def test_it_reads_the_profiles_own_words_in_the_word_context_space(sample_model):
    dim = sample_model.dim
    own_only = {"context_expansion": 0.0, "context": 0.5}
    built = profiles.build_profile(sample_model, ProfileSpec(text="speech"), weights=own_only)
    own = sample_model.context_from_sparse(sample_model.sparse(["speech"]))[0]
    assert np.allclose(built.scoring[dim:], 0.5 * own, atol=1e-5)
    seeded = profiles.build_profile(sample_model, ProfileSpec(seeds=[SPEECH]), weights=own_only)
    seed = sample_model.context_from_sparse(
        sample_model.sparse([f"{SPEECH.title} {SPEECH.title} {SPEECH.abstract}"])
    )[0]
    assert np.allclose(seeded.scoring[dim:], 0.5 * seed, atol=1e-5)


def test_it_scores_on_lsa_alone_when_the_blend_is_off_or_the_artifact_predates_it(sample_model):
    import copy

    from recommender.ranking import candidates

    spec = ProfileSpec(text="speech recognition")
    off = profiles.build_profile(sample_model, spec, weights={"context": 0.0})
    batch = candidates.prepare_candidates(_speech_and_graph_papers(), sample_model)
    assert np.allclose(batch.scoring @ off.scoring, batch.dense @ off.vector, atol=1e-6)

    old = copy.copy(sample_model)  # an artifact saved before the word-context space existed
    for name in ("context_terms", "context_vectors", "context_direction", "context_matrix"):
        old.__dict__.pop(name, None)
    assert not old.has_context
    built = profiles.build_profile(old, spec)
    assert built.scoring is built.vector
    old_batch = candidates.prepare_candidates(_speech_and_graph_papers(), old)
    assert old_batch.scoring is old_batch.dense
    assert (old_batch.scoring @ built.scoring)[0] > (old_batch.scoring @ built.scoring)[1]


def test_a_chunks_profile_inputs_are_read_in_two_queries_and_build_the_same_profiles(
    installed_model, make_subscriber, make_paper
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    seed = make_paper(arxiv_id="2606.01234", title="Scaling Robot Grasping")
    liked, disliked = make_paper(title="Legged robots"), make_paper(title="Speech synthesis")

    def chunk(prefix: str, size: int) -> list[InterestProfile]:
        for n in range(size):
            subscriber = make_subscriber(
                f"{prefix}{n}@example.com",
                interests_text="robot grasping" if n % 2 else "speech recognition",
                seed_references=["2606.01234", "nope"] if n % 3 == 0 else [],
            )
            FeedbackEvent.objects.create(subscriber=subscriber, paper=liked, kind="up")
            FeedbackEvent.objects.create(subscriber=subscriber, paper=disliked, kind="down")
        return list(InterestProfile.objects.filter(subscriber__email__startswith=prefix))

    queries = {}
    for size in (3, 9):
        interests = chunk(f"size{size}-", size)
        with CaptureQueriesContext(connection) as captured:
            specs = subscriber_profiles.specs_for_subscribers(interests)
        queries[size] = len(captured)
        fresh = [InterestProfile.objects.get(pk=i.pk) for i in interests]
        assert specs == [subscriber_profiles.spec_for_subscriber(i) for i in fresh]
        assert [d.key for d in specs[0].seeds] == [str(seed.pk)]
        for spec, interest in zip(specs, fresh, strict=True):
            batch = profiles.build_profile(installed_model, spec)
            alone_spec = subscriber_profiles.spec_for_subscriber(interest)
            alone = profiles.build_profile(installed_model, alone_spec)
            assert np.array_equal(batch.scoring, alone.scoring)
    assert queries == {3: 2, 9: 2}


def test_it_says_which_keywords_are_too_rare_to_match_on(sample_model):
    spec = ProfileSpec(text="robot manipulation", keywords=["robot grasping", "AlphaFold3x"])
    built = profiles.build_profile(sample_model, spec)
    assert built.messages == [
        "“AlphaFold3x” is in too few of the papers we have read for related terms to count; "
        "papers are matched on the words as you wrote them."
    ]
    assert [term.label for term in built.own_terms if term.keyword] == ["robot grasping"]
    # With matching as written off, the keyword counts for nothing, and the note says that.
    off = profiles.build_profile(sample_model, spec, weights={"lexical_unseen": ""})
    assert off.messages == [
        "“AlphaFold3x” is in too few of the papers we have read to match on yet; it counts "
        "once more papers use it."
    ]
    known = profiles.build_profile(sample_model, ProfileSpec(keywords=["robot grasping"]))
    assert known.messages == []


def test_it_leaves_a_texts_rarest_terms_out_of_its_semantic_row_only(sample_model):
    """Terms in a handful of papers have LSA vectors fitted on those papers: they are left out
    of the text's semantic row (not of keywords, not of the lexical part, not of what
    explanations name), unless nothing would be left, or nothing specific."""
    documents = query_shaping.document_frequencies(sample_model)
    names = sample_model.feature_names()
    vocabulary = sample_model.vectorizer.vocabulary_
    share = 0.02 * len(sample_model.corpus_ids)  # specific: in at most 2% of the papers
    # On the 996 sample papers: "lidar" and "audio" are specific and in 5 or more papers,
    # "footage", "music" and "drone" in fewer than 5.
    assert all(5 <= documents[vocabulary[w]] <= share for w in ("lidar", "audio"))
    assert all(documents[vocabulary[w]] < 5 for w in ("footage", "music", "drone"))
    text = "lidar and audio with footage of music drones"
    row = sample_model.sparse([text])[0]
    common = {names[i] for i in row.indices if documents[i] >= 4.5}

    cut = query_shaping.without_rare_terms(sample_model, row, 5, 0.02)
    assert {names[i] for i in cut.indices} == common
    assert {"lidar", "audio"} <= common
    assert not {"footage", "music", "drone"} & common
    assert np.allclose(cut.data, row.data[documents[row.indices] >= 4.5])
    assert (query_shaping.without_rare_terms(sample_model, row, 0, 0.02) != row).nnz == 0
    # Nothing left, or no specific word left: the row stays whole ("protein" is in 2 of the
    # sample's papers, and it is the topic).
    only_rare = sample_model.sparse(["footage"])[0]
    assert (
        query_shaping.without_rare_terms(sample_model, only_rare, 5, 0.02) != only_rare
    ).nnz == 0
    protein = sample_model.sparse(["diffusion models for protein structure generation"])[0]
    assert documents[vocabulary["protein"]] < 5
    assert (query_shaping.without_rare_terms(sample_model, protein, 5, 0.02) != protein).nnz == 0
    # The limit is at most 1% of the corpus, at least 2 papers: on 996 papers, 5 stays 5 and
    # 20 becomes 9.
    nine = query_shaping.without_rare_terms(sample_model, row, 20, 0.02)
    assert {names[i] for i in nine.indices} == {
        names[i] for i in row.indices if documents[i] >= 8.5
    }

    spec = ProfileSpec(text=text)
    built = profiles.build_profile(sample_model, spec)
    kept = profiles.build_profile(sample_model, spec, weights={"text_min_docs": 0})
    assert not np.allclose(built.vector, kept.vector)
    # The lexical part and the explanations' words still have every word the person wrote
    # (the lexical weights move with the profile's meaning, lexical_topical; its terms do not).
    assert built.lexical.indices.tolist() == kept.lexical.indices.tolist()
    assert (built.user_terms != kept.user_terms).nnz == 0
    # Keywords are never cut: a rare keyword still points the profile.
    keyword = ProfileSpec(keywords=["footage"])
    assert np.allclose(
        profiles.build_profile(sample_model, keyword).vector,
        profiles.build_profile(sample_model, keyword, weights={"text_min_docs": 0}).vector,
    )
