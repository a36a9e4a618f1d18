"""The pure latency core: hop extraction along edges, and nearest-rank percentiles."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from deltatrace.latency import Node, order_latencies, percentile, summarize


def test_hops_follow_edges_across_hosts_and_through_reports():
    nodes = {
        (1, 1): Node("MDTick", 100),
        (2, 1): Node("Signal", 150),
        (2, 2): Node("PlanDelta", 160),
        (2, 3): Node("Order", 200),
        (3, 1): Node("RiskCheck", 230),
        (3, 2): Node("ExecReport", 400),
        (3, 3): Node("ExecReport", 900),  # a later report: the ack is the first one
        (3, 4): Node("Fill", 1000),
    }
    edges = [
        ((1, 1), (2, 1)),
        ((2, 1), (2, 2)),
        ((2, 2), (2, 3)),
        ((2, 3), (3, 1)),
        ((2, 3), (3, 2)),
        ((2, 3), (3, 3)),
        ((3, 3), (3, 4)),
    ]
    [o] = order_latencies(nodes, edges)
    assert o.hops == {
        "tick_signal": 50,
        "signal_order": 50,
        "order_risk": 30,
        "order_ack": 200,
        "ack_fill": 600,
        "tick_to_trade": 100,
    }


def test_an_order_without_reports_has_only_the_hops_it_has():
    nodes = {(1, 1): Node("Order", 10)}
    [o] = order_latencies(nodes, [])
    assert set(o.hops.values()) == {None}
    assert summarize([o])["order_ack"] == {
        "count": 0,
        "p50": None,
        "p90": None,
        "p99": None,
        "max": None,
    }


@given(
    st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=200),
    st.sampled_from([50, 90, 99]),
)
def test_percentiles_are_observed_values_with_the_right_rank(values, q):
    ordered = sorted(values)
    p = percentile(ordered, q)
    assert p in values
    below_or_equal = sum(v <= p for v in values)
    assert below_or_equal / len(values) >= q / 100  # at least q% at or below it
    assert sum(v < p for v in values) / len(values) < q / 100  # and fewer than q% strictly below
