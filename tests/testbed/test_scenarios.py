"""Every scenario produces what its name promises."""

from __future__ import annotations

import itertools
from typing import Any

from tests.testbed.conftest import Capture


def evs(cap: Capture, kind: str | None = None) -> list[dict[str, Any]]:
    return [e for e in cap["events"] if kind is None or e["kind"] == kind]


def test_calm_has_orders_fills_and_no_rejects(scenario_runs):
    run = scenario_runs["calm"]
    assert len(evs(run["strategy-1"], "Order")) > 20
    assert evs(run["venue-1"], "Fill")
    assert not [e for e in evs(run["gateway-1"], "RiskCheck") if e["payload"]["result"] != "pass"]
    assert not evs(run["strategy-1"], "Session")


def test_every_scenario_loads_fast_by_default(scenario_runs):
    for name, run in scenario_runs.items():
        total = sum(len(c["events"]) for c in run.values())
        assert 2000 < total < 20000, (name, total)


def test_partition_burst_loses_orders_in_flight_and_resends_them_after_heal(scenario_runs):
    strat = scenario_runs["partition-burst"]["strategy-1"]
    gw = scenario_runs["partition-burst"]["gateway-1"]
    sessions = [e["payload"]["event"] for e in evs(strat, "Session")]
    assert sessions == ["link_down", "link_up"]
    up_seq = next(e["seq"] for e in evs(strat, "Session") if e["payload"]["event"] == "link_up")
    resent = [e for e in evs(strat, "Order") if e["payload"].get("resend")]
    assert resent and all(e["seq"] > up_seq for e in resent)
    first_send = {}
    for e in evs(strat, "Order"):
        first_send.setdefault(e["keys"]["cl_ord_id"], e)
    # a resent order was first sent during the burst, before the session came back
    assert all(first_send[e["keys"]["cl_ord_id"]]["seq"] < up_seq for e in resent)
    received = [e["keys"]["cl_ord_id"] for e in evs(gw, "Order")]
    lost = [e for e in resent if received.count(e["keys"]["cl_ord_id"]) == 1]
    dup = [e for e in resent if received.count(e["keys"]["cl_ord_id"]) == 2]
    assert lost, "some orders of the burst never reached the gateway before the resend"
    assert dup, "some orders reached the gateway, but their acks were lost: resent as duplicates"


def test_stale_md_strategy_keeps_trading_on_old_prices(scenario_runs):
    run = scenario_runs["stale-md"]
    feed, strat = run["feed-1"], run["strategy-1"]
    ticks_in = evs(strat, "MDTick")
    assert len(ticks_in) < len(evs(feed, "MDTick")) - 100  # the partition dropped ticks
    # while no tick arrived, the venue still filled the strategy, at prices far from the market
    gaps = [
        (a, b)
        for a, b in itertools.pairwise(ticks_in)
        if b["seq"] - a["seq"] > 0 and b["ts_ns"] - a["ts_ns"] > 200_000_000
    ]
    assert len(gaps) == 1
    before, after = gaps[0]
    fills = [e for e in evs(strat, "Fill") if before["seq"] < e["seq"] < after["seq"]]
    assert fills, "filled during the stale window"
    orders = [e for e in evs(strat, "Order") if before["seq"] < e["seq"] < after["seq"]]
    assert orders, "kept sending orders on old prices"
    last_seen_bid = float(before["payload"]["bid"])
    assert float(after["payload"]["bid"]) < last_seen_bid - 0.2  # the market moved meanwhile


def test_fat_finger_is_rejected_by_risk_and_never_reaches_the_venue(scenario_runs):
    run = scenario_runs["fat-finger"]
    big = [e for e in evs(run["strategy-1"], "Order") if e["payload"]["qty"] >= 10000]
    assert len(big) == 1
    cl = big[0]["keys"]["cl_ord_id"]
    checks = [e for e in evs(run["gateway-1"], "RiskCheck") if e["keys"]["cl_ord_id"] == cl]
    rejected = {e["payload"]["rule"] for e in checks if e["payload"]["result"] == "reject"}
    assert "max_qty" in rejected
    assert not [e for e in evs(run["venue-1"]) if e["keys"].get("cl_ord_id") == cl]
    # the strategy learns of it: a RiskCheck reject and a REJECTED report come back
    back = [e for e in evs(run["strategy-1"]) if e["keys"].get("cl_ord_id") == cl]
    assert {"RiskCheck", "ExecReport"} <= {e["kind"] for e in back}


def test_kill_switch_rejects_everything_after_engagement(scenario_runs):
    run = scenario_runs["kill-switch"]
    gw = run["gateway-1"]
    kill = next(e for e in evs(gw, "Annotation") if e["payload"]["action"] == "kill_switch")
    after = [e for e in evs(gw, "RiskCheck") if e["seq"] > kill["seq"]]
    ks = [e for e in after if e["payload"]["rule"] == "kill_switch"]
    assert ks and all(e["payload"]["result"] == "reject" for e in ks)
    orders_after = {e["keys"]["cl_ord_id"] for e in evs(gw, "Order") if e["seq"] > kill["seq"]}
    orders_after = {c for c in orders_after if not c.startswith("RISK-KILL")}
    assert orders_after, "the burst continued after the kill switch"
    venue_cls = {e["keys"].get("cl_ord_id") for e in evs(run["venue-1"])}
    assert not orders_after & venue_cls
    # mid-burst: orders of the same burst went through before it
    assert [e for e in evs(gw, "RiskCheck") if e["seq"] < kill["seq"]]


def test_clock_skew_makes_wall_clock_contradict_causality(scenario_runs):
    run = scenario_runs["clock-skew"]
    by_key = {key: {e["seq"]: e for e in cap["events"]} for key, cap in run.items()}
    contradictions = 0
    for e in run["venue-1"]["events"]:
        for p in e["parents"]:
            if p["kind"] == "send_receive":
                cause = by_key[p["capture"]][p["seq"]]
                if cause["ts_ns"] > e["ts_ns"]:
                    contradictions += 1
                    assert tuple(cause["hlc"]) < tuple(e["hlc"])  # HLC still causal
    assert contradictions > 10
    calm_venue = scenario_runs["calm"]["venue-1"]["events"]
    by_key_calm = {k: {e["seq"]: e for e in c["events"]} for k, c in scenario_runs["calm"].items()}
    assert not [
        1
        for e in calm_venue
        for p in e["parents"]
        if p["kind"] == "send_receive" and by_key_calm[p["capture"]][p["seq"]]["ts_ns"] > e["ts_ns"]
    ]
