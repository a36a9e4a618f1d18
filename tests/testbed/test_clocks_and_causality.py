"""HLC monotonicity and causality, host clocks, and the capture format of every scenario."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.testbed.clock import HLC, HostClock
from deltatrace.capture_format import EDGE_KINDS, EVENT_KINDS


@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 5)),
        max_size=60,
    )
)
def test_hlc_is_monotonic_and_receives_follow_sends(steps):
    hlc, last = HLC(), (-1, -1)
    for is_recv, pt, ml, mc in steps:
        stamp = tuple(hlc.recv(pt, ml, mc) if is_recv else hlc.tick(pt))
        assert stamp > last
        assert stamp[0] >= pt
        if is_recv:
            assert stamp > (ml, mc)
        last = stamp


def test_host_clock_applies_offset_and_drift_and_never_goes_back():
    clock = HostClock(
        0, random.Random(1), offset_ns=500, drift_ppm=100, sync_error_ns=50, sync_interval_ns=1000
    )
    reads = [clock.read(t) for t in range(0, 1_000_000, 997)]
    assert reads == sorted(reads)
    assert abs(clock.read(10_000_000) - (10_000_000 + 500 + 1000)) <= 50


def test_every_send_receive_pair_is_hlc_ordered_in_every_scenario(scenario_runs):
    for name, run in scenario_runs.items():
        index = {k: {e["seq"]: e for e in c["events"]} for k, c in run.items()}
        pairs = 0
        for cap in run.values():
            for e in cap["events"]:
                for p in e["parents"]:
                    cause = index[p.get("capture", cap["header"]["capture"])][p["seq"]]
                    assert tuple(cause["hlc"]) < tuple(e["hlc"]), (name, e)
                    pairs += p["kind"] == "send_receive"
        assert pairs > 500, name


def test_hlc_is_strictly_increasing_within_each_capture(scenario_runs):
    for run in scenario_runs.values():
        for cap in run.values():
            stamps = [tuple(e["hlc"]) for e in cap["events"]]
            assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_captures_follow_the_capture_format(scenario_runs):
    schema_path = Path(__file__).resolve().parents[2] / "deltatrace/schema/capture-v1.schema.json"
    validator = None
    if schema_path.exists():
        import json

        import jsonschema

        schema = json.loads(schema_path.read_text())
        validator = jsonschema.Draft202012Validator(schema)
    for run in scenario_runs.values():
        for key, cap in run.items():
            h = cap["header"]
            assert (h["format"], h["version"], h["capture"], h["adapter"]) == (
                "deltatrace.capture",
                1,
                key,
                "testbed",
            )
            assert isinstance(h["clock"]["max_offset_ns"], int)
            for i, e in enumerate(cap["events"], start=1):
                assert e["seq"] == i
                assert e["kind"] in EVENT_KINDS
                assert type(e["ts_ns"]) is int and e["ts_ns"] > 1.7e18
                assert all(type(v) is int for v in e["hlc"])
                assert all(type(v) is str for v in e["keys"].values())
                for p in e["parents"]:
                    assert p["kind"] in EDGE_KINDS
                    if "capture" not in p:
                        assert p["seq"] < e["seq"]
                    else:
                        assert p["capture"] in run and p["capture"] != key
                assert not any(isinstance(v, float) for v in e["payload"].values())
                if validator is not None:
                    errors = list(validator.iter_errors(e))
                    assert not errors, (key, e, errors[0].message)


@pytest.mark.parametrize("role", ["feed", "strategy", "gateway", "venue"])
def test_each_host_records_its_own_part(scenario_runs, role):
    kinds = {e["kind"] for e in scenario_runs["calm"][f"{role}-1"]["events"]}
    expected = {
        "feed": {"MDTick"},
        "strategy": {"MDTick", "Signal", "PlanDelta", "Order", "ExecReport", "Fill"},
        "gateway": {"Order", "RiskCheck"},
        "venue": {"ExecReport", "Fill"},
    }[role]
    assert expected <= kinds
