from __future__ import annotations

import copy
from datetime import UTC, datetime

import numpy as np
import pytest

from recommender.delivery import digests
from recommender.model import lexical, profiles
from recommender.model.profiles import ProfileSpec
from recommender.models import Digest
from recommender.ranking import candidates, scoring, typed_keywords
from tests.helpers import unsaved_paper

MOMENT = datetime(2026, 7, 1, 8, tzinfo=UTC)


VIDEO_QA = unsaved_paper(
    1,
    "Answering questions about long videos with multimodal language models",
    "A video language model localizes events in time in long video clips.",
)
MEDICAL_QA = unsaved_paper(
    2,
    "Question answering for medical exams with language models",
    "A language model answers clinical questions in text.",
)


def test_a_common_head_noun_of_a_sentence_still_counts(sample_model):
    """The issue's example: "video" is common in the corpus, so the semantic part turns it
    down in a sentence, and question-answering papers without video won there. The lexical
    part counts it by its specificity alone and brings the video paper first."""
    spec = ProfileSpec(
        text=(
            "I follow work on multimodal language models that watch videos: answering "
            "questions about clips, localizing events in time"
        )
    )
    batch = candidates.prepare_candidates([VIDEO_QA, MEDICAL_QA], sample_model)
    semantic_only = profiles.build_profile(sample_model, spec, weights={"lexical": 0.0})
    assert scoring.relevance_of(semantic_only, batch).argmax() == 1  # the failure, reproduced
    built = profiles.build_profile(sample_model, spec)
    assert scoring.relevance_of(built, batch).argmax() == 0
    assert lexical.space(sample_model).key("video") in built.lexical.indices


def test_keywords_a_person_typed_are_never_damped(sample_model):
    """Common words of a sentence are damped in the semantic part; typed keywords never are,
    in either part."""
    damp = {"text_common_word_weight": 0.0}
    built = profiles.build_profile(sample_model, ProfileSpec(keywords=["video"]), weights=damp)
    assert built.parts == ["keywords"]
    space = lexical.space(sample_model)
    assert built.lexical.indices.tolist() == [space.key("video")]
    batch = candidates.prepare_candidates([VIDEO_QA, MEDICAL_QA], sample_model)
    assert scoring.relevance_of(built, batch).argmax() == 0


class _Batch:
    def __init__(self, m: int):
        self.pinned = np.zeros(m, bool)
        self.dense = np.eye(m, dtype=np.float32)


def test_it_picks_matches_first_then_at_most_n_nearest_others(settings):
    weights = {**settings.RANKING_WEIGHTS, "near_misses": 2, "min_relevance": 0.0, "diversity": 0.0}
    scores = np.array([[0.9, 0.2, 0.4, 0.3, 0.1, -0.2], [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]], np.float32)
    floors = np.array([0.5, 0.5], np.float32)
    picks = scoring.select_with_floor(
        scores, scores, floors, np.ones(scores.shape, bool), _Batch(6), limit=4, weights=weights
    )
    # Row 0: one match, then the two nearest others (never the one below min_relevance).
    assert picks[0].tolist() == [0, 2, 3, -1]
    # Row 1: enough matches, no near misses.
    assert picks[1].tolist() == [0, 1, 2, 3]
    weights["near_misses"] = 0
    picks = scoring.select_with_floor(
        scores, scores, floors, np.ones(scores.shape, bool), _Batch(6), limit=4, weights=weights
    )
    assert picks[0].tolist() == [0, -1, -1, -1]


OTHER_TOPICS = [
    ("Neural speech synthesis with a vocoder", "Text-to-speech audio generation for speakers."),
    ("Post-training quantization of language models", "LLM weights in 4 bits, no accuracy loss."),
    ("Graph neural networks for traffic forecasting", "Message passing on road sensor graphs."),
    ("LiDAR point cloud segmentation", "Semantic segmentation of street scenes from LiDAR."),
    ("Federated learning with client drift", "Clients train local models on private data."),
    ("Reinforcement learning for robot grasping", "A robot arm learns to grasp objects."),
]


def _a_day_of_other_topics_and_one_protein_paper(make_paper, settings) -> None:
    settings.RANKING_WEIGHTS = {**settings.RANKING_WEIGHTS, "near_misses": 2, "min_relevance": -10}
    make_paper(
        title="Diffusion models design protein backbones",
        abstract="A diffusion model generates protein structures for protein design.",
    )
    for title, abstract in OTHER_TOPICS:
        make_paper(title=title, abstract=abstract)


def test_a_thin_day_makes_a_shorter_digest_that_says_so(
    installed_model, make_subscriber, make_paper, settings
):
    """Tried as a new user would: a specific interest on a day of other topics gets what
    matches and at most `near_misses` of the nearest others, labelled, with a line saying how
    few matched, instead of a full digest of off-topic papers."""
    _a_day_of_other_topics_and_one_protein_paper(make_paper, settings)
    subscriber = make_subscriber(
        interests_text="diffusion models for protein structure generation",
        keywords=["protein design", "AlphaFold"],
    )
    digest, _ = digests.build_digest(subscriber, moment=MOMENT)
    items = list(digest.items.select_related("paper").order_by("rank"))
    assert digest.status == Digest.Status.BUILT
    assert items[0].paper.title == "Diffusion models design protein backbones"
    assert items[0].reason.startswith("matches your keywords: protein design")
    nearest = [item for item in items if item.reason.startswith("nearest other paper")]
    matched = len(items) - len(nearest)
    assert 1 <= matched < len(OTHER_TOPICS)
    assert len(nearest) <= 2
    assert items[matched:] == nearest  # the nearest others come after every match
    # The small test corpus has no paper saying "AlphaFold": the reader is told first.
    rare, thin = digest.note.split(". ", 1)
    assert rare == (
        "“AlphaFold” is in too few of the papers we have read for related terms to count; "
        "papers are matched on the words as you wrote them"
    )
    assert thin.startswith(
        f"Only {matched} paper{'s' if matched > 1 else ''} matched "
        "“protein design, AlphaFold” this time"
    )
    if nearest:
        assert "shown below, labelled as such" in digest.note


def test_nothing_below_min_relevance_is_sent(
    installed_model, make_subscriber, make_paper, settings
):
    settings.RANKING_WEIGHTS = {**settings.RANKING_WEIGHTS, "near_misses": 3, "min_relevance": 10}
    for title, abstract in OTHER_TOPICS:
        make_paper(title=title, abstract=abstract)
    subscriber = make_subscriber(keywords=["protein design"])
    digest, _ = digests.build_digest(subscriber, moment=MOMENT)
    assert not any(item.reason.startswith("nearest") for item in digest.items.all())


def test_a_thin_day_quotes_a_written_interest_as_the_person_wrote_it(
    installed_model, make_subscriber, make_paper, settings
):
    """A sentence-only interest is named by its own opening words, in the person's order and
    cut at a word, never by the model's terms sorted by specificity ("ct ultrasound
    microscopy delineating organ lesion mri deep l", as a note once read)."""
    _a_day_of_other_topics_and_one_protein_paper(make_paper, settings)
    text = (
        "I'm interested in diffusion models that generate protein structures, "
        "especially backbone design and docking."
    )
    subscriber = make_subscriber(interests_text=text)
    digest, _ = digests.build_digest(subscriber, moment=MOMENT)
    assert "matched “I'm interested in diffusion models that generate protein…” this time" in (
        digest.note
    )


def test_a_label_is_cut_at_a_word():
    assert scoring._clipped("robot grasping", 60) == "robot grasping"
    assert scoring._clipped("new methods, benchmarks and datasets", 20) == "new methods…"
    assert scoring._clipped("a" * 80, 60) == "a" * 60 + "…"


IMAGE_DIFFUSION = [
    ("Diffusion models for image generation", "A diffusion model generates images from text."),
    ("Faster sampling for image diffusion models", "Fewer denoising steps generate images."),
    ("Image editing with diffusion models", "A diffusion model edits images from a prompt."),
    ("Latent diffusion for high-resolution images", "Image generation in a latent space."),
    ("Guidance for diffusion image generation", "Classifier-free guidance for images."),
]


PROTEIN_TITLE = "Diffusion generation of protein backbones"


def _a_week_of_image_diffusion_and_one_protein_paper(make_paper, settings) -> None:
    """The issue's new user: every paper is close to "diffusion models ... generation", one
    has the words they typed. Every paper reaches the floor (floor share 1)."""
    settings.PROFILE_WEIGHTS = {**settings.PROFILE_WEIGHTS, "floor": -10.0, "floor_share": 1.0}
    for title, abstract in IMAGE_DIFFUSION[:3]:
        make_paper(title=title, abstract=abstract)
    make_paper(
        title=PROTEIN_TITLE,
        abstract="A diffusion model generates protein structures for protein design.",
    )
    for title, abstract in IMAGE_DIFFUSION[3:]:
        make_paper(title=title, abstract=abstract)


def test_few_matches_with_the_typed_keywords_are_said_and_shown_first(
    installed_model, make_subscriber, make_paper, settings
):
    """Ten image-diffusion papers for "protein design" was the issue's first-morning failure:
    when few of a digest's matches have any keyword the person typed, the digest says so, and
    those few come first, ahead of papers that score higher on the rest of the interest."""
    _a_week_of_image_diffusion_and_one_protein_paper(make_paper, settings)
    subscriber = make_subscriber(
        interests_text="diffusion models for image generation", keywords=["protein design"]
    )
    settings.RANKING_WEIGHTS = {**settings.RANKING_WEIGHTS, "keyword_mention_share": 0.0}
    # "protein design" is in one of the sample fit's papers, too few for its vocabulary:
    # matched as written (PROFILE_LEXICAL_UNSEEN), it alone takes the protein paper first.
    digest, _ = digests.build_digest(subscriber, moment=MOMENT)
    assert digest.items.order_by("rank").first().paper.title == PROTEIN_TITLE
    digest.delete()

    # Without that, the rest of the interest ranks image papers higher: the line's case.
    settings.PROFILE_WEIGHTS = {**settings.PROFILE_WEIGHTS, "lexical_unseen": ""}
    digest, _ = digests.build_digest(subscriber, moment=MOMENT)
    by_score = [item.paper.title for item in digest.items.order_by("rank")]
    assert by_score[0] != PROTEIN_TITLE  # (so the order below is the line's doing)
    assert PROTEIN_TITLE in by_score
    assert "your keywords" not in digest.note
    digest.delete()

    settings.RANKING_WEIGHTS = {**settings.RANKING_WEIGHTS, "keyword_mention_share": 1 / 3}
    digest, _ = digests.build_digest(subscriber, moment=MOMENT)
    items = list(digest.items.select_related("paper").order_by("rank"))
    assert not any(item.reason.startswith("nearest") for item in items)
    assert [item.paper.title for item in items] == [
        PROTEIN_TITLE,
        *(title for title in by_score if title != PROTEIN_TITLE),
    ]
    assert items[0].reason.startswith("matches your keywords: protein design")
    assert (
        "Only 1 close match has your keywords (“protein design”), shown first; then related papers."
    ) in digest.note


def test_no_keyword_line_when_the_matches_have_the_keywords(
    installed_model, make_subscriber, make_paper, settings
):
    _a_week_of_image_diffusion_and_one_protein_paper(make_paper, settings)
    subscriber = make_subscriber(
        interests_text="diffusion models for protein structure generation",
        keywords=["diffusion model"],
    )
    digest, _ = digests.build_digest(subscriber, moment=MOMENT)
    assert "your keywords" not in digest.note
    reasons = [item.reason for item in digest.items.all()]
    assert sum(reason.startswith("matches your keywords") for reason in reasons) >= 3


def _keyword_case(sample_model):
    papers = [unsaved_paper(i, t, a) for i, (t, a) in enumerate(IMAGE_DIFFUSION)]
    papers.append(
        unsaved_paper(9, "Protein design with language models", "Protein sequence design.")
    )
    batch = candidates.prepare_candidates(papers, sample_model)
    spec = ProfileSpec(text="diffusion models for image generation", keywords=["protein design"])
    profile = profiles.build_profile(sample_model, spec)
    floor = scoring.calibration_of(profile).floor
    return papers, batch, profile, floor


def _select(batch, profile, relevance, limit, weights):
    """The picks production makes (select_with_floor: matches, then nearest others)."""
    floor = scoring.calibration_of(profile).floor
    return scoring.select_with_floor(
        relevance[None, :],
        relevance[None, :],
        np.array([floor], np.float32),
        np.ones((1, len(relevance)), bool),
        batch,
        limit=limit,
        weights=weights,
    )[0]


@pytest.mark.parametrize("near_misses", [1, 2, 3])
def test_the_nearest_papers_with_the_typed_keywords_come_before_related_matches(
    sample_model, settings, near_misses
):
    """When few matches above the floor have the keywords, the nearest papers below it that
    do come next, whether the selection had already taken them as nearest others or not;
    papers below the floor stay within `near_misses`, and the line says where each kind is."""
    weights = {**settings.RANKING_WEIGHTS, "near_misses": near_misses, "min_relevance": -10}
    weights["diversity"], weights["duplicate_similarity"] = 0.0, 2.0
    settings.RANKING_WEIGHTS = weights
    papers, batch, profile, floor = _keyword_case(sample_model)
    # Three image papers above the floor; two image papers and the protein paper below it.
    relevance = np.array([4, 3, 2, -1, -2, -3], np.float32) + floor
    picks = _select(batch, profile, relevance, 10, weights)
    result = scoring.ranked_result(
        sample_model, profile, batch, relevance, picks, relevance, np.ones(6, bool)
    )
    titles = [pick.paper.title for pick in result.picks]
    protein = "Protein design with language models"
    assert titles[0] == protein
    assert result.picks[0].reason.startswith(
        "nearest other paper (not a close match); matches your keywords: protein design"
    )
    assert titles[1:4] == [paper.title for paper in papers[:3]]
    below = [pick for pick in result.picks if not pick.matched]
    assert len(below) == near_misses
    assert titles[4:] == [paper.title for paper in papers[3 : 3 + near_misses - 1]]
    last = {
        1: "",
        2: "; the last is the nearest other paper, labelled as such",
        3: "; the last 2 are the nearest others, labelled as such",
    }[near_misses]
    assert result.messages[-2:] == [
        "No close match has your keywords (“protein design”); 1 nearest other paper has "
        f"them; then related papers{last}.",
        "Only 3 papers matched “protein design” this time.",
    ]


def test_a_full_digest_makes_room_for_the_nearest_paper_with_the_keywords(sample_model, settings):
    weights = {**settings.RANKING_WEIGHTS, "near_misses": 2, "min_relevance": -10}
    weights["diversity"], weights["duplicate_similarity"] = 0.0, 2.0
    settings.RANKING_WEIGHTS = weights
    papers, batch, profile, floor = _keyword_case(sample_model)
    relevance = np.array([5, 4, 3, 2, 1, -1], np.float32) + floor
    picks = _select(batch, profile, relevance, 4, weights)
    assert picks.tolist() == [0, 1, 2, 3]  # a full digest of image papers
    result = scoring.ranked_result(
        sample_model, profile, batch, relevance, picks, relevance, np.ones(6, bool)
    )
    titles = [pick.paper.title for pick in result.picks]
    assert titles == ["Protein design with language models", *(p.title for p in papers[:3])]
    assert not any(message.startswith("Only") for message in result.messages)  # (it was full)
    assert result.messages[-1] == (
        "No close match has your keywords (“protein design”); 1 nearest other paper has them; "
        "then related papers."
    )
    # Without the candidates (open_row), the line is said and nothing is added.
    plain = scoring.ranked_result(sample_model, profile, batch, relevance, picks, relevance)
    assert [p.paper.title for p in plain.picks] == [p.title for p in papers[:4]]
    assert plain.messages[-1] == (
        "No close match has your keywords (“protein design”); these are related papers."
    )


def test_a_keyword_matches_as_a_whole_word(sample_model):
    papers = [
        unsaved_paper(1, "Leveraging average storage", "Caching on average hardware."),
        unsaved_paper(2, "RAG-based question answering", "Retrieval with RAG."),
    ]
    batch = candidates.prepare_candidates(papers, sample_model)
    profile = profiles.build_profile(sample_model, ProfileSpec(keywords=["RAG"]))
    assert not typed_keywords.keyword_mentioned(profile, batch, 0)
    assert typed_keywords.keyword_mentioned(profile, batch, 1)


def test_a_note_keeps_whole_messages_that_fit():
    first, second, third = "a" * 150 + ".", "b" * 140 + ".", "c" * 40 + "."
    result = scoring.RankingResult([], "ranker", [first, second, third])
    # The second fits (151 + 1 + 141 = 293); the third would pass 300 and is left out whole.
    assert result.note == f"{first} {second}"
    assert scoring.RankingResult([], "r", ["x" * 400]).note == "x" * 299 + "…"


# A word in no paper of the sample fit: the vocabulary cannot hold it.
RARE_WORD = "zorbliquant"
WITH_RARE_WORD = unsaved_paper(
    3,
    f"Faster {RARE_WORD} solvers for sparse systems",
    f"We speed up {RARE_WORD} iterations on sparse linear systems with a new preconditioner.",
)
WITHOUT_IT = unsaved_paper(
    4,
    "Faster iterative solvers for sparse linear systems",
    "We speed up Krylov iterations on sparse linear systems with a new preconditioner.",
)


@pytest.mark.parametrize("mode", ["keywords", "all"])
def test_a_typed_keyword_the_vocabulary_lacks_is_matched_as_written(sample_model, mode):
    """A keyword in too few fitted papers for the vocabulary ("AlphaFold") is the most specific
    thing a person wrote; matched as written, the one paper that has it comes first, in the
    relevance and in the digest's reason."""
    spec = ProfileSpec(keywords=[f"{RARE_WORD}s", "sparse linear systems"])
    assert lexical.space(sample_model).key(RARE_WORD) is None
    batch = candidates.prepare_candidates([WITHOUT_IT, WITH_RARE_WORD], sample_model)
    off = profiles.build_profile(sample_model, spec, weights={"lexical_unseen": ""})
    on = profiles.build_profile(sample_model, spec, weights={"lexical_unseen": mode})
    assert off.unseen == ()
    unseen = dict(on.unseen)
    assert RARE_WORD in unseen  # the typed plural folded to the paper's singular
    # It weighs as the rarest vocabulary term would (more than any typed known term here),
    # and all the weights still sum to 1.
    space = lexical.space(sample_model)
    weight = dict(zip(on.lexical.indices.tolist(), on.lexical.data.tolist(), strict=True))
    some_key = on.lexical.indices[0]
    ratio = float(space.idf.max() / space.idf[some_key])
    assert unseen[RARE_WORD] == pytest.approx(weight[some_key] * ratio, rel=1e-5)
    assert sum(unseen.values()) + on.lexical.data.sum() == pytest.approx(1.0)
    lexical_off = scoring.lexical_part([off], batch)[0]
    lexical_on = scoring.lexical_part([on], batch)[0]
    assert lexical_off[0] == pytest.approx(lexical_off[1])  # both have the known words
    assert lexical_on[1] - lexical_on[0] == pytest.approx(unseen[RARE_WORD])
    assert scoring.relevance_of(on, batch).argmax() == 1
    assert "matched on the words as you wrote them" in " ".join(on.messages)
    assert "it counts once more papers use it" in " ".join(off.messages)


def test_an_unseen_term_of_the_text_counts_only_when_the_text_is_asked_for(sample_model):
    spec = ProfileSpec(text=f"Papers on {RARE_WORD} solvers for sparse linear systems")
    keywords_only = profiles.build_profile(
        sample_model, spec, weights={"lexical_unseen": "keywords"}
    )
    every_term = profiles.build_profile(sample_model, spec, weights={"lexical_unseen": "all"})
    assert keywords_only.unseen == ()
    assert RARE_WORD in [stem for stem, _weight in every_term.unseen]
    batch = candidates.prepare_candidates([WITHOUT_IT, WITH_RARE_WORD], sample_model)
    scores = scoring.lexical_part([keywords_only, every_term], batch)
    assert scores[0, 1] == pytest.approx(scores[0, 0])
    assert scores[1, 1] > scores[1, 0]


def test_a_word_the_fit_dropped_as_too_common_is_never_matched_as_written(sample_model):
    model = copy.copy(sample_model)
    model.common_words = frozenset({RARE_WORD})  # as if it were in most papers
    assert lexical.unseen_stem(model, RARE_WORD) is None
    assert lexical.unseen_stem(model, f"fast {RARE_WORD}") is None
    model.common_words = None  # a model fitted before the common words were kept
    assert lexical.unseen_stem(model, RARE_WORD) is None
    model.common_words = frozenset()
    assert lexical.unseen_stem(model, RARE_WORD) == RARE_WORD


def test_a_profile_of_unseen_keywords_alone_is_still_empty_and_says_so(sample_model):
    # Nothing of it is in the semantic space, so there is no relevance to add its matches to:
    # the digest falls back to trending papers, as before, with the reason.
    spec = ProfileSpec(keywords=[RARE_WORD])
    built = profiles.build_profile(sample_model, spec, weights={"lexical_unseen": "keywords"})
    assert built.empty
    assert built.unseen == ()
    assert "None of the words of your interests appear" in " ".join(built.messages)


def test_a_misspelt_unseen_terms_mode_is_a_startup_error(settings):
    from recommender.apps import unseen_terms_mode

    assert unseen_terms_mode(None) == []
    settings.PROFILE_WEIGHTS = {**settings.PROFILE_WEIGHTS, "lexical_unseen": "yes"}
    (error,) = unseen_terms_mode(None)
    assert error.id == "recommender.E002"
    assert "'yes'" in error.msg
    assert "'keywords'" in error.msg
