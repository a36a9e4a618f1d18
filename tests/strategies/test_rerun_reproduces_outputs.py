"""Re-running a strategy on a recorded strategy capture's inputs alone reproduces its outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from adapters.strategies.base import (
    INPUT_KINDS,
    OUTPUT_KINDS,
    Context,
    StrategyEvent,
    edge_kind,
)
from adapters.strategies.registry import STRATEGIES, get_strategy
from adapters.testbed import run_scenario


def rerun(lines: list[dict[str, Any]], seed: int | None = None) -> list[dict[str, Any]]:
    """What the replay engine does: recorded inputs in capture order -> the outputs, as events."""
    header, events = lines[0], lines[1:]
    ident = header["strategy"]
    cls = get_strategy(ident["name"], ident["version"])
    assert cls.code_digest() == ident["code_digest"]
    strategy = cls(ident["params"])
    ctx = Context(header["meta"]["seed"] if seed is None else seed)
    kinds = {e["seq"]: e["kind"] for e in events if e["kind"] in INPUT_KINDS}
    outputs = []
    for e in events:
        if e["kind"] not in INPUT_KINDS:
            continue
        ctx.now_ns = e["ts_ns"]
        ev = StrategyEvent(e["kind"], e["ts_ns"], e["keys"], e["payload"], ("s", e["seq"]))
        for (_, seq), out in strategy.handle(ev, ctx):
            kinds[seq] = out.kind
            parents = [{"seq": s, "kind": edge_kind(kinds[s], out.kind)} for _, s in out.parents]
            outputs.append(
                {
                    "seq": seq,
                    "kind": out.kind,
                    "ts_ns": e["ts_ns"],
                    "lane": out.lane,
                    "keys": out.keys,
                    "parents": parents,
                    "payload": out.payload,
                }
            )
    return outputs


def recorded_outputs(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    fields = ("seq", "kind", "ts_ns", "lane", "keys", "parents", "payload")
    return [{f: e[f] for f in fields} for e in lines[1:] if e["kind"] in OUTPUT_KINDS]


def strategy_capture(tmp_path: Path, scenario: str, seed: int) -> list[dict[str, Any]]:
    run_scenario(scenario, seed, tmp_path)
    data = (tmp_path / "strategy-1.jsonl").read_bytes()
    return [orjson.loads(line) for line in data.splitlines()]


@pytest.mark.parametrize(
    "scenario", ["calm", "partition-burst", "stale-md", "fat-finger", "kill-switch"]
)
def test_rerun_on_recorded_inputs_reproduces_every_output(tmp_path, scenario):
    lines = strategy_capture(tmp_path, scenario, 11)
    expected = recorded_outputs(lines)
    assert len(expected) > 50
    replayed = rerun(lines)

    def without_ts(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in e.items() if k != "ts_ns"} for e in events]

    assert without_ts(replayed) == without_ts(expected)
    # The host took time to decide: each output is stamped when its decision ended, a few
    # microseconds (the scenario's decision_ns, 4-12 us) after the input that caused it.
    waits = [rec["ts_ns"] - rep["ts_ns"] for rec, rep in zip(expected, replayed, strict=True)]
    assert all(4_000 <= w < 13_000 for w in waits), (min(waits), max(waits))


def test_rerun_with_another_seed_diverges_for_a_randomised_strategy(tmp_path):
    lines = strategy_capture(tmp_path, "partition-burst", 11)
    assert lines[0]["strategy"]["name"] == "momentum"
    assert rerun(lines, seed=12) != recorded_outputs(lines)


def test_outputs_link_tick_signal_plan_order(tmp_path):
    lines = strategy_capture(tmp_path, "calm", 3)
    by_seq = {e["seq"]: e for e in lines[1:]}
    order = next(e for e in lines[1:] if e["kind"] == "Order")
    (p1,) = order["parents"]
    plan = by_seq[p1["seq"]]
    assert (p1["kind"], plan["kind"]) == ("plan_order", "PlanDelta")
    (p2,) = plan["parents"]
    signal = by_seq[p2["seq"]]
    assert (p2["kind"], signal["kind"]) == ("signal_plan", "Signal")
    (p3,) = signal["parents"]
    assert (p3["kind"], by_seq[p3["seq"]]["kind"]) == ("tick_signal", "MDTick")


def test_header_records_strategy_identity_and_seed(tmp_path):
    header = strategy_capture(tmp_path, "calm", 5)[0]
    ident = header["strategy"]
    assert (ident["name"], ident["version"]) == ("market_maker", "1.0.0")
    assert ident["code_digest"].startswith("sha256:") and len(ident["code_digest"]) == 71
    assert ident["params"]["quote_qty"] == 100
    assert header["meta"]["seed"] == 5


def test_registry_names_known_strategies_on_unknown_lookup():
    assert {n for n, _ in STRATEGIES} == {"market_maker", "momentum"}
    with pytest.raises(KeyError, match=r"known: market_maker 1\.0\.0, momentum 1\.0\.0"):
        get_strategy("market_maker", "9.9")
