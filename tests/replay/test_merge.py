"""Merge order rule and clock anomaly tiers."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from replay.bench import synth_incident
from replay.merge import Ev, classify, merge


def ev(
    cap: str, seq: int, hlc: int, ts: int | None = None, parents=(), host: str | None = None
) -> Ev:
    return Ev(
        cap,
        seq,
        "MDTick",
        hlc if ts is None else ts,
        hlc,
        0,
        host or cap,
        "md",
        {},
        {},
        tuple(parents),
    )


@st.composite
def incidents(draw: st.DrawFn) -> list[Ev]:
    """Captures of random length, random (possibly lying) HLC stamps, random acyclic cross edges."""
    ncap = draw(st.integers(1, 4))
    lengths = [draw(st.integers(1, 8)) for _ in range(ncap)]
    # A hidden true order interleaving the captures: edges only go forward in it, so no cycles.
    slots = [c for c, n in enumerate(lengths) for _ in range(n)]
    order = draw(st.permutations(slots))
    seen = [0] * ncap
    placed: list[tuple[str, int]] = []
    out: list[Ev] = []
    for c in order:
        seen[c] += 1
        parents = []
        if placed and draw(st.booleans()):
            src = draw(st.sampled_from(placed))
            if src[0] != f"c{c}":
                parents.append((*src, "send_receive"))
        hlc = draw(st.integers(0, 20))
        out.append(
            ev(
                f"c{c}",
                seen[c],
                hlc,
                ts=draw(st.integers(0, 20)),
                parents=parents,
                host=f"h{c % 2}",
            )
        )
        placed.append((f"c{c}", seen[c]))
    return out


def _is_linear_extension(order: list[Ev]) -> bool:
    pos = {e.ref: i for i, e in enumerate(order)}
    for e in order:
        if e.seq > 1 and pos[(e.capture, e.seq - 1)] > pos[e.ref]:
            return False
        if any(pos[(c, s)] > pos[e.ref] for c, s, _ in e.parents):
            return False
    return True


@settings(max_examples=150, deadline=None)
@given(incidents(), st.randoms(use_true_random=False))
def test_merge_is_a_linear_extension_independent_of_input_order(events, rnd) -> None:
    first = merge(events).events
    shuffled = list(events)
    rnd.shuffle(shuffled)
    second = merge(shuffled).events
    assert _is_linear_extension(first)
    assert [e.ref for e in first] == [e.ref for e in second]
    assert len(first) == len(events)


def test_it_orders_by_hlc_then_host_then_seq_when_stamps_agree_with_edges() -> None:
    events = [ev("b", 1, 5), ev("a", 1, 5), ev("a", 2, 7), ev("b", 2, 6)]
    assert [e.ref for e in merge(events).events] == [("a", 1), ("b", 1), ("b", 2), ("a", 2)]
    assert merge(events).fast_path


def test_causal_edge_wins_over_a_lying_hlc_stamp() -> None:
    # The receive claims an HLC before its send: the edge still puts it after.
    send = ev("feed", 1, 100)
    recv = ev("strat", 1, 50, parents=[("feed", 1, "send_receive")])
    merged = merge([recv, send])
    assert [e.ref for e in merged.events] == [("feed", 1), ("strat", 1)]
    assert not merged.fast_path


def test_receive_before_send_is_reported_with_its_skew_and_tier() -> None:
    send = ev("feed", 1, 1_000, ts=1_000_000)
    recv = ev("strat", 1, 1_001, ts=1_000_000 - 400_000, parents=[("feed", 1, "send_receive")])
    (anomaly,) = merge([send, recv]).anomalies
    assert anomaly.skew_ns == 400_000
    assert anomaly.tier == "1ms"
    assert anomaly.edge == "send_receive"
    assert anomaly.src == ("feed", 1) and anomaly.dst == ("strat", 1)


def test_tiers_follow_rts25_style_limits_and_are_configurable() -> None:
    assert classify(50_000) == "100us"
    assert classify(100_000) == "100us"
    assert classify(100_001) == "1ms"
    assert classify(999_000_000) == "1s"
    assert classify(2_000_000_000) == "beyond"
    assert classify(5_000, [("tight", 1_000), ("loose", 10_000)]) == "loose"


def test_a_skewed_strategy_clock_shows_up_on_every_receive() -> None:
    data = synth_incident(200, skew_ns=300_000)
    offsets = {c.key: c.clock["max_offset_ns"] for c in data.captures}
    merged = merge(data.events, max_offset_ns=offsets)
    receives = [a for a in merged.anomalies if a.edge == "send_receive" and a.src[0] == "feed"]
    assert len(receives) == 200
    assert {a.skew_ns for a in receives} == {300_000 - 20_000}
    assert {a.tier for a in receives} == {"1ms"}
    # Declared worst error is 100 µs per host: 280 µs is beyond what the clocks promise.
    assert not any(a.within_declared for a in receives)


def test_a_sound_incident_has_no_anomalies_and_takes_the_fast_path() -> None:
    data = synth_incident(300)
    events = list(data.events)
    random.Random(3).shuffle(events)
    merged = merge(events)
    assert merged.anomalies == []
    assert merged.fast_path
    assert merged.dangling == []
