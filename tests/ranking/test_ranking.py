from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from accounts.models import InterestProfile
from recommender.delivery import digests, sending
from recommender.models import Digest, DigestItem, FeedbackEvent, Paper
from recommender.ranking import candidates, scoring, subscriber_profiles, subscribers

MOMENT = datetime(2026, 7, 1, 8, tzinfo=UTC)
ROBOT_TEXTS = [
    (
        "Dexterous robot grasping with tactile sensing",
        "A robot hand learns manipulation policies to grasp objects from touch.",
    ),
    (
        "Legged robot locomotion over rough terrain",
        "A quadruped robot learns locomotion and whole-body manipulation policies in simulation.",
    ),
    (
        "Sim-to-real transfer for robot manipulation",
        "Manipulation policies trained in simulation transfer to a real robot arm.",
    ),
    (
        "Mobile robot navigation in crowds",
        "A mobile robot plans paths among pedestrians with an embodied navigation policy.",
    ),
]
OTHER_TEXTS = [
    ("Neural speech synthesis with a vocoder", "Text-to-speech audio generation."),
    ("Post-training quantization of language models", "LLM weights in 4 bits."),
    ("Protein structure prediction", "Folding proteins with transformers."),
    ("Graph neural networks for molecules", "Message passing on molecular graphs."),
]


@pytest.fixture
def papers(make_paper):
    return {
        title: make_paper(title=title, abstract=abstract)
        for title, abstract in ROBOT_TEXTS + OTHER_TEXTS
    }


def _robotics_reader(make_subscriber, email="robots@example.com", **extra):
    fields = {"interests_text": "robot manipulation and locomotion", **extra}
    return make_subscriber(email, **fields)


def _titles(digest: Digest) -> list[str]:
    return [item.paper.title for item in digest.items.select_related("paper")]


def test_it_ranks_matching_papers_first_and_labels_the_digest(
    installed_model, make_subscriber, papers
):
    subscriber = _robotics_reader(make_subscriber)
    digest, created = digests.build_digest(subscriber, moment=MOMENT)
    assert created
    assert digest.ranker == installed_model.version
    assert set(_titles(digest)[:4]) == {title for title, _ in ROBOT_TEXTS}


def test_it_never_shows_hidden_papers(installed_model, make_subscriber, papers):
    hidden = papers[ROBOT_TEXTS[0][0]]
    hidden.curation = Paper.Curation.HIDDEN
    hidden.save()
    subscriber = _robotics_reader(make_subscriber)
    ranked = subscribers.rank_papers(subscriber.profile, Paper.objects.all(), limit=10)
    assert hidden not in [pick.paper for pick in ranked]
    assert ranked  # the others are still there


def test_it_puts_pinned_papers_first_even_off_topic(installed_model, make_subscriber, papers):
    pinned = papers[OTHER_TEXTS[2][0]]
    pinned.curation = Paper.Curation.PINNED
    pinned.save()
    subscriber = _robotics_reader(make_subscriber)
    digest, _ = digests.build_digest(subscriber, moment=MOMENT)
    first = digest.items.get(rank=1)
    assert first.paper == pinned
    assert first.reason.startswith("pinned by the editors")


def test_it_boosts_featured_papers(installed_model, make_subscriber, make_paper, settings):
    title, abstract = ROBOT_TEXTS[0]
    plain = make_paper(title=title, abstract=abstract + " Variant A.")
    featured = make_paper(title=title, abstract=abstract + " Variant A.")
    featured.curation = Paper.Curation.FEATURED
    featured.save()
    settings.RANKING_WEIGHTS = {**settings.RANKING_WEIGHTS, "duplicate_similarity": 1.1}
    subscriber = _robotics_reader(make_subscriber)
    ranked = subscribers.rank_papers(subscriber.profile, [plain, featured], limit=2)
    assert [pick.paper for pick in ranked] == [featured, plain]
    assert "featured by the editors" in ranked[0].reason


def test_it_blends_in_upvotes_and_comments(installed_model, make_subscriber, make_paper):
    title, abstract = ROBOT_TEXTS[1]
    quiet = make_paper(title=title, abstract=abstract)
    popular = make_paper(title=title + " ", abstract=abstract, upvotes=120, num_comments=9)
    subscriber = _robotics_reader(make_subscriber)
    result = subscribers.rank_with_details(
        subscriber.profile, [quiet, popular], limit=2, model=installed_model
    )
    assert result.picks[0].paper == popular


def test_it_decays_trending_with_age(settings):
    weights = settings.RANKING_WEIGHTS
    new = Paper(title="a", abstract="b", upvotes=50, first_seen=date(2026, 7, 1))
    old = Paper(title="a", abstract="b", upvotes=50, first_seen=date(2026, 6, 25))
    scores = candidates.trending_scores([new, old], weights)
    assert scores[0] > 2 * scores[1] > 0


def test_it_leaves_out_papers_already_received(installed_model, make_subscriber, papers):
    subscriber = _robotics_reader(make_subscriber)
    first, _ = digests.build_digest(subscriber, moment=MOMENT)
    second, _ = digests.build_digest(subscriber, moment=datetime(2026, 7, 2, 8, tzinfo=UTC))
    assert first.items.exists()
    assert not set(_titles(first)) & set(_titles(second))


def test_it_leaves_out_seed_and_feedback_papers(installed_model, make_subscriber, papers):
    seed, liked = papers[ROBOT_TEXTS[0][0]], papers[ROBOT_TEXTS[1][0]]
    subscriber = _robotics_reader(make_subscriber, seed_references=[seed.arxiv_id])
    FeedbackEvent.objects.create(subscriber=subscriber, paper=liked, kind="up")
    ranked = subscribers.rank_papers(subscriber.profile, Paper.objects.all(), limit=10)
    shown = [pick.paper for pick in ranked]
    assert seed not in shown
    assert liked not in shown


def test_it_drops_near_duplicates(installed_model, make_subscriber, make_paper, papers):
    title, abstract = ROBOT_TEXTS[2]
    copies = [make_paper(title=title, abstract=abstract) for _ in range(5)]
    subscriber = _robotics_reader(make_subscriber)
    ranked = subscribers.rank_papers(subscriber.profile, Paper.objects.all(), limit=10)
    shown = [pick.paper.title for pick in ranked]
    assert shown.count(title) == 1
    assert len(copies) == 5


def test_it_explains_picks_with_matching_words(installed_model, make_subscriber, papers):
    subscriber = _robotics_reader(make_subscriber, keywords=["legged"])
    ranked = subscribers.rank_papers(subscriber.profile, Paper.objects.all(), limit=10)
    reasons = {pick.paper.title: pick.reason for pick in ranked}
    assert reasons[ROBOT_TEXTS[1][0]].startswith("matches your keywords: legged")
    assert "robot" in reasons[ROBOT_TEXTS[0][0]]


def test_it_explains_picks_similar_to_a_liked_paper(
    installed_model, make_subscriber, make_paper, papers
):
    liked = make_paper(
        title="Quadruped robot locomotion on rough terrain",
        abstract="A legged robot learns locomotion policies in simulation.",
    )
    subscriber = _robotics_reader(make_subscriber)
    FeedbackEvent.objects.create(subscriber=subscriber, paper=liked, kind="up")
    ranked = subscribers.rank_papers(subscriber.profile, Paper.objects.all(), limit=10)
    reasons = {pick.paper.title: pick.reason for pick in ranked}
    # The reader's own words come first, the liked paper last.
    own, *_middle, similar = reasons[ROBOT_TEXTS[1][0]].split("; ")
    assert own.startswith("matches your words: ")
    assert "robot" in own
    assert similar == "similar to a paper you liked: “Quadruped robot locomotion on rough terrain”"


def test_it_falls_back_to_trending_without_a_model(make_subscriber, make_paper):
    make_paper(title="Quiet paper", upvotes=0)
    loud = make_paper(title="Loud paper", upvotes=300, num_comments=20)
    subscriber = _robotics_reader(make_subscriber)
    digest, _ = digests.build_digest(subscriber, moment=MOMENT)
    assert digest.ranker == scoring.TRENDING_RANKER
    assert "No recommender model is fitted yet" in digest.note
    assert "trending papers instead" in digest.note
    first = digest.items.get(rank=1)
    assert first.paper == loud
    assert first.reason == "trending: 300 upvotes, 20 comments"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "Your profile has nothing we can match yet"),
        ({"interests_text": "qqzx vvbn"}, "None of the words of your interests"),
        ({"interests_text": "机器人抓取和操作的学习方法"}, "does not look like English"),
        ({"seed_references": ["2699.99999"]}, "Seed papers not found in our library"),
    ],
)
def test_it_falls_back_to_trending_for_a_profile_with_nothing_usable(
    installed_model, make_subscriber, papers, fields, message
):
    subscriber = make_subscriber(**fields)
    digest, _ = digests.build_digest(subscriber, moment=MOMENT)
    assert digest.ranker == scoring.TRENDING_RANKER
    assert message in digest.note
    assert digest.items.count() == len(papers)


def test_it_uses_the_known_words_of_a_non_english_profile_and_says_so(
    installed_model, make_subscriber, papers
):
    subscriber = make_subscriber(interests_text="des robots pour la manipulation et le jardin")
    digest, _ = digests.build_digest(subscriber, moment=MOMENT)
    assert digest.ranker == installed_model.version
    assert "does not look like English" in digest.note
    assert _titles(digest)[0] in {title for title, _ in ROBOT_TEXTS}


def test_it_skips_a_digest_when_nothing_is_relevant(
    installed_model, make_subscriber, make_paper, settings
):
    settings.RANKING_WEIGHTS = {**settings.RANKING_WEIGHTS, "min_relevance": 0.5}
    make_paper(title="Protein structure prediction", abstract="Folding proteins.")
    subscriber = _robotics_reader(make_subscriber)
    digest, _ = digests.build_digest(subscriber, moment=MOMENT)
    assert digest.status == Digest.Status.SKIPPED
    assert digest.note.startswith("No new papers matched these interests.")


def test_it_scores_a_chunk_of_subscribers_in_one_batch(
    installed_model, make_subscriber, papers, monkeypatch
):
    robots = _robotics_reader(make_subscriber)
    speech = make_subscriber("speech@example.com", interests_text="speech synthesis vocoder")
    weekly = make_subscriber("weekly@example.com", interests_text="quantization of LLM weights")
    weekly.profile.frequency = InterestProfile.Frequency.WEEKLY
    weekly.profile.save()
    transforms = []
    original = installed_model.transform_papers
    monkeypatch.setattr(
        installed_model,
        "transform_papers",
        lambda rows: transforms.append(1) or original(rows),
    )
    ranked = _rank_chunk([robots, speech, weekly])
    assert len(transforms) <= 1  # the chunk's papers are transformed once, not per subscriber
    assert ranked[robots.pk].picks[0].paper.title in {t for t, _ in ROBOT_TEXTS}
    assert ranked[speech.pk].picks[0].paper.title == OTHER_TEXTS[0][0]
    assert ranked[weekly.pk].picks[0].paper.title == OTHER_TEXTS[1][0]
    counts = sending.build_and_send([robots, speech, weekly], moment=MOMENT)
    assert counts["sent"] == 3
    assert (
        DigestItem.objects.filter(digest__subscriber=speech, rank=1).get().paper.title
        == (OTHER_TEXTS[0][0])
    )


def _rank_chunk(subscribers):
    """The chunk's batch ranking, keyed by subscriber."""
    rows = digests.open_digests(subscribers, moment=MOMENT)
    ranked = sending.rank_chunk(rows)
    return {row.subscriber_id: ranked[row.pk] for row in rows}


def test_it_keeps_a_chunk_going_when_one_profile_breaks(
    installed_model, make_subscriber, papers, monkeypatch
):
    broken = make_subscriber("broken@example.com", interests_text="robots")
    fine = _robotics_reader(make_subscriber)
    real_build = subscriber_profiles.profiles.build_profile

    def flaky(model, spec):
        if spec.text == "robots":  # the broken subscriber's
            raise RuntimeError("bad row")
        return real_build(model, spec)

    monkeypatch.setattr(subscriber_profiles.profiles, "build_profile", flaky)
    ranked = _rank_chunk([broken, fine])
    assert ranked[broken.pk].ranker == scoring.TRENDING_RANKER
    assert ranked[fine.pk].ranker == installed_model.version


def test_it_previews_an_unsaved_profile(installed_model, papers):
    picks = subscribers.preview_papers(interests_text="legged robot locomotion", limit=3)
    assert picks[0].paper.title == ROBOT_TEXTS[1][0]
    assert len(picks) <= 3


def test_its_explanation_thresholds_are_settings(
    installed_model, make_subscriber, make_paper, papers, settings
):
    liked = make_paper(
        title="Quadruped robot locomotion on rough terrain",
        abstract="A legged robot learns locomotion policies in simulation.",
    )
    subscriber = _robotics_reader(make_subscriber)  # no keywords: those are always named
    FeedbackEvent.objects.create(subscriber=subscriber, paper=liked, kind="up")
    settings.RANKING_WEIGHTS = {
        **settings.RANKING_WEIGHTS,
        "explain_similar_paper": 1.01,  # no paper is that similar
        "explain_max_paper_share": 1e-6,  # every word is "too common" to explain
    }
    ranked = subscribers.rank_papers(subscriber.profile, Paper.objects.all(), limit=10)
    reasons = [pick.reason for pick in ranked]
    assert reasons
    assert not any("similar to" in reason or "matches:" in reason for reason in reasons)


def test_it_chooses_among_the_mmr_pool_only(settings):
    dense = np.eye(4, dtype=np.float32)
    scores = np.array([[0.9, 0.8, 0.7, 0.6]], np.float32)
    eligible, pinned = np.ones((1, 4), bool), np.zeros(4, bool)
    weights = {**settings.RANKING_WEIGHTS, "diversity": 0.0, "mmr_pool": 2}
    picks = scoring.select_batch(scores, eligible, pinned, dense, limit=2, weights=weights)
    wider = scoring.select_batch(
        scores, eligible, pinned, dense, limit=3, weights={**weights, "mmr_pool": 4}
    )
    # A pool smaller than the digest is widened to the digest's size, never cut short.
    narrow = scoring.select_batch(scores, eligible, pinned, dense, limit=3, weights=weights)
    assert picks.tolist() == [[0, 1]]
    assert wider.tolist() == narrow.tolist() == [[0, 1, 2]]


def test_it_selects_for_many_subscribers_at_once(settings):
    weights = {**settings.RANKING_WEIGHTS, "diversity": 0.0, "duplicate_similarity": 0.9}
    dense = np.array([[1, 0], [1, 0], [0, 1], [0.6, 0.8]], np.float32)  # 0 and 1 are duplicates
    scores = np.array([[0.9, 0.8, 0.1, 0.5], [0.1, 0.2, 0.9, 0.3]], np.float32)
    eligible = np.array([[True, True, True, True], [True, True, True, False]])
    pinned = np.array([False, False, True, False])
    picks = scoring.select_batch(scores, eligible, pinned, dense, limit=4, weights=weights)
    # Pinned first; the duplicate of paper 0 is dropped; rows are padded with -1.
    assert picks.tolist() == [[2, 0, 3, -1], [2, 1, -1, -1]]


def test_it_prefers_a_different_paper_with_diversity(settings):
    weights = {**settings.RANKING_WEIGHTS, "diversity": 0.5, "duplicate_similarity": 1.1}
    dense = np.array([[1, 0], [0.8, 0.6], [0, 1]], np.float32)
    scores = np.array([[0.9, 0.8, 0.6]], np.float32)
    eligible = np.ones((1, 3), bool)
    pinned = np.zeros(3, bool)
    plain = scoring.select_batch(
        scores, eligible, pinned, dense, limit=2, weights={**weights, "diversity": 0.0}
    )
    diverse = scoring.select_batch(scores, eligible, pinned, dense, limit=2, weights=weights)
    assert plain.tolist() == [[0, 1]]
    assert diverse.tolist() == [[0, 2]]


def test_it_ranks_through_the_celery_chunk_task(installed_model, make_subscriber, papers):
    from recommender import tasks

    robots = _robotics_reader(make_subscriber)
    empty = make_subscriber("empty@example.com")
    counts = tasks.build_and_send_digests.delay([robots.pk, empty.pk]).get()
    assert counts["sent"] == 2
    by_email = {d.subscriber.email: d for d in Digest.objects.select_related("subscriber")}
    assert by_email["robots@example.com"].ranker == installed_model.version
    assert by_email["empty@example.com"].ranker == scoring.TRENDING_RANKER
    assert "nothing we can match yet" in by_email["empty@example.com"].note


def test_it_warms_every_active_profile_so_the_send_path_builds_none(
    installed_model, make_subscriber, monkeypatch, settings
):
    from recommender import tasks
    from recommender.model import profiles

    active = [
        make_subscriber(f"r{i}@example.com", interests_text="robot grasping") for i in range(3)
    ]
    paused = make_subscriber("paused@example.com", interests_text="speech synthesis")
    paused.paused_at = paused.confirmed_at
    paused.save()
    make_subscriber("gone@example.com", status="unsubscribed", interests_text="speech synthesis")
    builds = []
    real_build = profiles.build_profile
    monkeypatch.setattr(
        profiles, "build_profile", lambda *a, **k: builds.append(1) or real_build(*a, **k)
    )
    settings.DIGEST_CHUNK_SIZE = 2  # two chunks

    assert tasks.warm_profiles.apply().get() == 3
    assert len(builds) == 3  # the paused and the unsubscribed ones are not built
    interests = list(InterestProfile.objects.filter(subscriber__in=active))
    built = subscriber_profiles.profiles_for(installed_model, interests)
    assert len(builds) == 3  # all three came from the cache
    assert all(profile is not None and not profile.empty for profile in built)
