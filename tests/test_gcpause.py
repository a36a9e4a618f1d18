"""gc_paused: no cyclic GC inside, restored after, and what was built is not walked again."""

from __future__ import annotations

import gc
import weakref

import pytest

from deltatrace.gcpause import gc_paused
from tests.gcwatch import collections_during


def test_it_pauses_the_collector_and_restores_it() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_nested_pause_leaves_restoring_to_the_outermost() -> None:
    with gc_paused():
        with gc_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_it_restores_the_collector_when_the_body_raises() -> None:
    with pytest.raises(ValueError), gc_paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_it_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_next_collection_does_not_walk_what_was_built() -> None:
    with collections_during() as pending:
        with gc_paused():
            built = [{"parents": [i]} for i in range(50_000)]  # 100,000 tracked objects
        more = [[i] for i in range(5_000)]  # enough new objects to start young collections
    assert pending and max(pending) < 10_000
    assert len(built) == 50_000 and len(more) == 5_000


class _Node:
    pass


def _cycle() -> weakref.ref[_Node]:
    node = _Node()
    node.self = node  # type: ignore[attr-defined]
    return weakref.ref(node)


def test_without_promotion_a_young_collection_frees_cycles_made_inside() -> None:
    with gc_paused(promote=False):
        ref = _cycle()
    gc.collect(0)
    assert ref() is None


def test_promoted_cycles_wait_for_a_full_collection() -> None:
    with gc_paused():
        ref = _cycle()
    gc.collect(0)
    assert ref() is not None
    gc.collect()
    assert ref() is None
