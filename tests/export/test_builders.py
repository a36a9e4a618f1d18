"""Chrome Trace Event and OTLP JSON builders, checked against the format checkers."""

from __future__ import annotations

import itertools
import json
import random

import jsonschema
import pytest

from deltatrace.export import chrome_trace, edges_from_parents, order_lifecycles, otlp_traces
from tests.export.formats import check_chrome_trace, check_otlp, otlp_spans
from tests.export.sample import T0, events


def test_order_lifecycles_follow_replaces_and_venue_order_ids() -> None:
    of = order_lifecycles(events())
    assert of[("strat", 4)] == of[("venue", 1)] == of[("strat", 5)] == of[("venue", 2)] == "C1"
    assert of[("strat", 6)] == of[("venue", 3)] == "C3"
    assert ("strat", 1) not in of  # market data is not part of an order


def test_chrome_trace_is_valid_and_shows_hosts_lanes_events_and_edges() -> None:
    evs = events()
    edges = edges_from_parents(evs)
    doc = chrome_trace(evs, edges, incident="demo")
    check_chrome_trace(doc)
    te = doc["traceEvents"]
    processes = {e["args"]["name"] for e in te if e["ph"] == "M" and e["name"] == "process_name"}
    assert processes == {"strategy-1", "venue-1", "order lifecycles"}
    threads = {e["args"]["name"] for e in te if e["ph"] == "M" and e["name"] == "thread_name"}
    assert {"md", "signal", "planner", "executor", "venue"} <= threads
    slices = [e for e in te if e["ph"] == "X" and e["name"].split()[0] in {"MDTick", "Signal",
              "PlanDelta", "Order", "ExecReport", "Fill"}]  # fmt: skip
    assert len(slices) == len(evs)
    # Microseconds relative to the first event: the signal is 1.5 µs after the tick.
    signal = next(e for e in slices if e["args"]["kind"] == "Signal")
    assert signal["ts"] == 1.5 and signal["args"]["ts_ns"] == str(T0 + 1_500)
    assert doc["otherData"]["t0_ns"] == str(T0)
    assert len([e for e in te if e["ph"] == "s"]) == len(edges) == 9
    counters = [(e["name"], e["ts"], e["args"]) for e in te if e["ph"] == "C"]
    assert counters == [("ACME quote", 0.0, {"bid": 101.2, "ask": 101.25})]
    lifecycles = [e for e in te if e["ph"] == "X" and e["name"].startswith("order ")]
    assert [(e["name"], e["dur"]) for e in lifecycles] == [("order C1", 27.0), ("order C3", 1.0)]


def test_chrome_trace_slices_on_one_lane_never_overlap() -> None:
    evs = events()
    evs.append({**evs[3], "seq": 7, "ts_ns": evs[3]["ts_ns"] + 300, "keys": {}})
    doc = chrome_trace(evs, [])
    check_chrome_trace(doc)
    lane = sorted(
        (e["ts"], e["dur"])
        for e in doc["traceEvents"]
        if e["ph"] == "X" and e["pid"] == 1 and e.get("args", {}).get("kind") == "Order"
    )
    for (ts, dur), (next_ts, _) in itertools.pairwise(lane):
        assert ts + dur <= next_ts


def test_otlp_has_a_span_per_order_lifecycle_with_events_and_dag_links() -> None:
    evs = events()
    doc = otlp_traces(evs, edges_from_parents(evs), incident="demo")
    check_otlp(doc)
    spans = {s["name"]: s for s in otlp_spans(doc)}
    c1 = spans["order C1"]
    assert [ev["name"] for ev in c1["events"]] == [
        "Order C1", "ExecReport C1", "Order C2", "Fill C2"
    ]  # fmt: skip
    assert c1["startTimeUnixNano"] == str(T0 + 3_000)
    assert c1["endTimeUnixNano"] == str(T0 + 30_000)
    assert c1["kind"] == 1 and c1["status"] == {"code": 0}
    plan = spans["PlanDelta"]
    assert c1["parentSpanId"] == plan["spanId"]
    assert spans["Signal ACME"]["parentSpanId"] == spans["MDTick ACME"]["spanId"]
    rejected = spans["order C3"]
    assert rejected["status"] == {"code": 2, "message": "REJECTED"}
    assert rejected["parentSpanId"] == plan["spanId"]
    assert len({s["traceId"] for s in otlp_spans(doc)}) == 1
    services = [
        a["value"]["stringValue"]
        for rs in doc["resourceSpans"]
        for a in rs["resource"]["attributes"]
        if a["key"] == "service.name"
    ]
    assert services == ["strategy-1"]  # both lifecycles start on the strategy


def test_otlp_puts_extra_dag_parents_in_links() -> None:
    evs = events()
    # A fill that two plans caused: the earlier becomes the parent, the later a link.
    evs.append({**evs[2], "seq": 7, "ts_ns": T0 + 2_500, "keys": {"plan_id": "P2"}})
    evs[6]["parents"] = [{"capture": "strat", "seq": 5, "kind": "send_receive"}]
    fill_caused = {**evs[7], "keys": {}, "kind": "Annotation", "capture": "venue", "seq": 9,
                   "parents": [{"capture": "strat", "seq": 3, "kind": "causal"},
                               {"capture": "strat", "seq": 7, "kind": "causal"}]}  # fmt: skip
    evs.append(fill_caused)
    doc = otlp_traces(evs, edges_from_parents(evs), incident="demo")
    check_otlp(doc)
    spans = otlp_spans(doc)
    note = next(s for s in spans if s["name"] == "Annotation")
    plans = {s["startTimeUnixNano"]: s["spanId"] for s in spans if s["name"] == "PlanDelta"}
    assert note["parentSpanId"] == plans[str(T0 + 2_000)]
    assert [link["spanId"] for link in note["links"]] == [plans[str(T0 + 2_500)]]


def test_a_cause_that_starts_later_becomes_a_link_not_a_parent_cycle() -> None:
    evs = events()
    # A risk check without order keys sits inside the C1 lifecycle and feeds back into it.
    evs.append({**evs[3], "seq": 8, "kind": "RiskCheck", "ts_ns": T0 + 5_000, "keys": {},
                "parents": [{"seq": 4, "kind": "order_risk"}]})  # fmt: skip
    evs[4]["parents"].append({"capture": "strat", "seq": 8, "kind": "causal"})
    doc = otlp_traces(evs, edges_from_parents(evs))
    check_otlp(doc)
    spans = {s["name"]: s for s in otlp_spans(doc)}
    assert spans["RiskCheck"]["parentSpanId"] == spans["order C1"]["spanId"]
    assert spans["RiskCheck"]["spanId"] in [x["spanId"] for x in spans["order C1"]["links"]]


@pytest.mark.parametrize("build", [chrome_trace, otlp_traces])
def test_exports_are_deterministic_whatever_the_input_order(build: object) -> None:
    evs = events()
    edges = edges_from_parents(evs)
    expected = json.dumps(build(evs, edges, incident="x"))  # type: ignore[operator]
    rng = random.Random(7)
    for _ in range(3):
        rng.shuffle(evs)
        rng.shuffle(edges)
        assert json.dumps(build(evs, edges, incident="x")) == expected  # type: ignore[operator]


def test_the_checkers_reject_malformed_documents() -> None:
    evs = events()
    otlp = otlp_traces(evs, edges_from_parents(evs))
    span = otlp_spans(otlp)[0]
    span["start_time_unix_nano"] = span.pop("startTimeUnixNano")
    with pytest.raises(jsonschema.ValidationError):
        check_otlp(otlp)
    otlp = otlp_traces(evs, [])
    otlp_spans(otlp)[0]["kind"] = "SPAN_KIND_INTERNAL"
    with pytest.raises(jsonschema.ValidationError):
        check_otlp(otlp)
    chrome = chrome_trace(evs, edges_from_parents(evs))
    next(e for e in chrome["traceEvents"] if e["ph"] == "f")["ts"] += 0.5
    with pytest.raises(AssertionError, match="unbound flow"):
        check_chrome_trace(chrome)


def test_an_empty_incident_exports_empty_documents() -> None:
    check_chrome_trace(chrome_trace([], []))
    assert otlp_traces([], []) == {"resourceSpans": []}
