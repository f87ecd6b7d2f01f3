"""Digest themes look for each reader's phrases in a paper's stemmed words in a row; this was
a set of every run of up to six words per paper (150 KB each, kept per process)."""

from __future__ import annotations

import random

from recommender.delivery import themes


def every_run(words: tuple[str, ...]) -> set[tuple[str, ...]]:
    """The old way: every run of up to six words, as a set."""
    return {
        words[start : start + size]
        for size in range(1, 7)
        for start in range(len(words) - size + 1)
    }


def test_a_phrase_is_found_exactly_where_its_words_stand_in_a_row():
    rng = random.Random(7)
    vocabulary = "robot grasp policy video model diffusion protein design agent bench".split()
    for _ in range(200):
        words = tuple(rng.choice(vocabulary) for _ in range(rng.randint(0, 40)))
        paper = themes._Words(words, frozenset(words))
        runs = every_run(words)
        for _ in range(30):
            phrase = tuple(rng.choice(vocabulary) for _ in range(rng.randint(1, 4)))
            assert paper.holds(phrase) == (phrase in runs), (words, phrase)
        for phrase in list(runs)[:20]:  # present ones too, not only random misses
            assert paper.holds(phrase)
    assert not themes._Words((), frozenset()).holds(())


def test_a_papers_words_are_stemmed_read_as_shown_and_stored_once():
    first = themes._paper_words("Robot Policies for Grasping", "We study robots & policies.")
    assert first.holds(themes._stem_tuple("robot policies"))
    assert first.holds(themes._stem_tuple("robots"))
    assert not first.holds(themes._stem_tuple("policies robot"))
    other = themes._paper_words("Robot learning", "")
    assert other.sequence[0] is first.sequence[0]  # interned: one string for both papers
