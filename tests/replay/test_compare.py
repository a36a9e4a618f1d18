"""Outputs are the same exactly when their canonical digests are, however the comparison gets there."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from replay.compare import Node, compare, output_digest, same_output

# Values that look alike to Python but not to canonical JSON (True == 1, 2**60 == 2.0**60, ...).
scalars = st.sampled_from(
    [0, 1, -1, True, False, None, 0.0, 1.0, -0.0, 2**60, float(2**60), "1", "", "x", 2**53 + 1]
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=6)
payloads = st.dictionaries(st.sampled_from(["a", "b", "qty"]), values, max_size=3)
keys = st.dictionaries(st.sampled_from(["symbol", "cl_ord_id"]), st.sampled_from(["", "A", "B"]))


def node(kind: str, k: dict[str, str], payload: dict[str, Any]) -> Node:
    return Node(("strat", 1), kind, "executor", k, payload)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["Order", "Signal"]), keys, payloads, keys, payloads)
def test_same_output_agrees_with_the_canonical_digest(kind, k1, p1, k2, p2) -> None:
    a, b = node(kind, k1, p1), node(kind, k2, p2)
    assert same_output(a, b) == (output_digest(kind, k1, p1) == output_digest(kind, k2, p2))
    assert same_output(a, node(kind, dict(k1), dict(p1)))


def test_a_bool_is_not_the_integer_it_equals_in_python() -> None:
    a = node("Order", {"symbol": "A"}, {"flag": True})
    b = node("Order", {"symbol": "A"}, {"flag": 1})
    assert not same_output(a, b)
    result = compare([a], [b])
    assert (result.matched, result.missing, result.extra, result.first_index) == (0, 1, 1, 0)


def test_equal_runs_match_every_output_and_a_shifted_run_counts_as_multisets() -> None:
    outs = [node("Order", {"symbol": "A"}, {"qty": q}) for q in (1, 2, 3)]
    same = compare(outs, [node(o.kind, o.keys, dict(o.payload)) for o in outs])
    assert (same.matched, same.missing, same.extra, same.first_index) == (3, 0, 0, None)
    shifted = compare(outs, outs[1:])
    assert (shifted.matched, shifted.missing, shifted.extra, shifted.first_index) == (2, 1, 0, 0)
