"""A chunk sets the long-lived objects aside from the collector and collects less often, and
gives both back when it ends, even by an exception, so nothing set aside leaks."""

from __future__ import annotations

import gc
import weakref

import pytest

from recommender.delivery.collector import CHUNK_THRESHOLDS, fewer_collections


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_the_collector_is_tuned_for_the_chunk_and_restored_after_it():
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with fewer_collections():
        assert gc.get_freeze_count() > frozen  # what the process held is set aside
        during = gc.get_threshold()
        assert all(now >= ours for now, ours in zip(during, CHUNK_THRESHOLDS, strict=True))
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen


def test_it_is_restored_when_the_chunk_ends_by_an_exception():
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("a time limit, say")
    assert (gc.get_threshold(), gc.get_freeze_count()) == (before, frozen)


def test_a_cycle_set_aside_and_dropped_during_the_chunk_is_collected_after_it():
    a, b = Node(), Node()
    a.other, b.other = b, a  # only the collector can free a cycle
    gone = weakref.ref(a)
    with fewer_collections():
        del a, b  # garbage now, but set aside with everything else: not collected here
        gc.collect()
        assert gone() is not None
    gc.collect()
    assert gone() is None
