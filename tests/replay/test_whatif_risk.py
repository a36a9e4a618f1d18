"""What-if on risk limits: ``--set risk.FIELD=VALUE`` re-runs the gateway's checks on the recorded
orders and shows which orders' RiskCheck results change."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.management import call_command

from adapters.testbed import run_scenario
from deltatrace.ingest import ingest_paths

pytestmark = pytest.mark.django_db
SEED = 11
TICKS = 400


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("replay", *args, stdout=out)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue()


def run_json(*args: str) -> tuple[int, dict[str, Any]]:
    code, out = run(*args, "--json")
    return code, orjson.loads(out)


def stored(tmp_path: Path, scenario: str) -> str:
    manifest = run_scenario(scenario, SEED, tmp_path, ticks=TICKS)
    name = f"tb-{scenario}"
    ingest_paths([str(tmp_path / f["path"]) for f in manifest["files"]], name)
    return name


def gateway_events(tmp_path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in (tmp_path / "gateway-1.jsonl").read_bytes().splitlines()[1:]]


def fat_finger_order(tmp_path: Path) -> dict[str, Any]:
    return max(
        (e for e in gateway_events(tmp_path) if e["kind"] == "Order"),
        key=lambda e: e["payload"].get("qty", 0),
    )


def test_the_fat_finger_order_would_have_passed_a_higher_max_qty(tmp_path: Path) -> None:
    name = stored(tmp_path, "fat-finger")
    order = fat_finger_order(tmp_path)
    code, r = run_json(name, "--set", "risk.max_qty=100000000")
    assert code == 1 and r["status"] == "diverged"
    fd = r["first_divergence"]
    assert fd["kind"] == "RiskCheck" and fd["stage"] == "risk" and fd["reason"] == "mismatch"
    assert fd["recorded"]["keys"]["cl_ord_id"] == order["keys"]["cl_ord_id"]
    assert fd["recorded"]["payload"]["rule"] == "max_qty"
    assert (fd["recorded"]["payload"]["result"], fd["replayed"]["payload"]["result"]) == (
        "reject",
        "pass",
    )
    assert {"path": "payload.limit", "recorded": "5000", "replayed": "100000000"} in fd["diff"]
    # Both decision paths run from the order the gateway received to that check.
    gw_order = f"gateway-1:{order['seq']}"
    for side in ("recorded_path", "replayed_path"):
        refs = [n["ref"] for n in fd[side]]
        assert gw_order in refs and refs[-1] == fd[side[: -len("_path")]]["ref"]
        assert [n["kind"] for n in fd[side]][-2:] == ["Order", "RiskCheck"]
    # Only that order's checks change, and only its max_qty check.
    (gw,) = r["risk"]
    assert gw["orders_changed"] == 1
    (changed,) = gw["changed"]
    assert changed["order"] == gw_order
    assert changed["rules"] == {"max_qty": {"recorded": "reject", "replayed": "pass"}}
    assert changed["replayed"]["rejected_by"] == ["max_notional", "position_limit"]
    assert gw["limits"]["max_qty"] == 100000000 and gw["recorded_limits"]["max_qty"] == 5000


def test_with_every_breached_rule_relaxed_the_fat_finger_order_passes(tmp_path: Path) -> None:
    name = stored(tmp_path, "fat-finger")
    order = fat_finger_order(tmp_path)
    code, r = run_json(
        name,
        "--set",
        "risk.max_qty=null",
        "--set",
        "risk.max_notional=100000000",
        "--set",
        "risk.position_limit=1000000",
    )
    assert code == 1
    changed = {c["cl_ord_id"]: c for c in r["risk"][0]["changed"]}
    assert changed[order["keys"]["cl_ord_id"]]["replayed"] == {
        "decision": "passed",
        "rejected_by": [],
    }
    # max_qty switched off: its checks are gone from the replay, so they are missing.
    assert r["risk"][0]["missing"] > 0 and r["risk"][0]["limits"]["max_qty"] is None


def test_the_human_verdict_names_the_order_whose_checks_change(tmp_path: Path) -> None:
    name = stored(tmp_path, "fat-finger")
    cl = fat_finger_order(tmp_path)["keys"]["cl_ord_id"]
    code, out = run(name, "--set", "risk.max_qty=100000000")
    assert code == 1
    assert "risk gateway gateway-1: limits max_qty 5000 -> 100000000" in out
    assert (
        f"{cl} (gateway-1:{fat_finger_order(tmp_path)['seq']}): rejected by max_qty, "
        "max_notional, position_limit -> rejected by max_notional, position_limit "
        "[max_qty reject -> pass]"
    ) in out
    assert "First divergence at output" in out and "(risk, RiskCheck): mismatch" in out
    assert "decision path (recorded | replayed):" in out


def test_an_unrelated_limit_leaves_the_kill_switch_scenario_identical(tmp_path: Path) -> None:
    name = stored(tmp_path, "kill-switch")
    kills = [
        e
        for e in gateway_events(tmp_path)
        if e["kind"] == "RiskCheck"
        and e["payload"]["rule"] == "kill_switch"
        and e["payload"]["result"] == "reject"
    ]
    assert kills  # the scenario did refuse orders at the kill switch
    code, r = run_json(name, "--set", "risk.max_qty=6000")
    assert code == 0 and r["status"] == "identical" and r["first_divergence"] is None
    gw = r["risk"][0]
    assert gw["orders_changed"] == 0 and gw["changed"] == []
    assert gw["checks_compared"] == gw["matched"] >= len(kills)
    base_code, base = run_json(name)
    assert base_code == 0 and "risk" not in base
    assert r["outputs_compared"] == base["outputs_compared"] + gw["checks_compared"]
    assert r["run_digest"] != base["run_digest"]


def test_a_tighter_limit_rejects_orders_that_passed(tmp_path: Path) -> None:
    name = stored(tmp_path, "kill-switch")
    first_big = next(
        e
        for e in gateway_events(tmp_path)
        if e["kind"] == "Order" and e["payload"].get("qty", 0) > 100
    )
    code, r = run_json(name, "--set", "risk.max_qty=100")
    assert code == 1
    fd = r["first_divergence"]
    assert fd["recorded"]["keys"]["cl_ord_id"] == first_big["keys"]["cl_ord_id"]
    assert (fd["recorded"]["payload"]["result"], fd["replayed"]["payload"]["result"]) == (
        "pass",
        "reject",
    )
    assert r["risk"][0]["orders_changed"] >= 1


@pytest.mark.parametrize(
    "scenario", ["calm", "partition-burst", "stale-md", "fat-finger", "kill-switch", "clock-skew"]
)
def test_the_recorded_limits_reproduce_every_recorded_check(tmp_path: Path, scenario: str) -> None:
    """The counterfactual gateway is faithful: the same limits give back the same decisions."""
    name = stored(tmp_path, scenario)
    code, r = run_json(name, "--set", "risk.rate_window_ns=1000000000")
    gw = r["risk"][0]
    assert code == 0 and r["status"] == "identical", r["first_divergence"]
    assert gw["checks_compared"] == gw["matched"] > 0 and gw["missing"] == gw["extra"] == 0


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("risk.max_qtyy=5", "unknown risk limit(s) risk.max_qtyy; known: risk.collar_bps"),
        ("risk.max_qty=-5", "risk.max_qty expects a whole number >= 0"),
        ("risk.max_qty=lots", "risk.max_qty expects a whole number >= 0, got 'lots'"),
        ("risk.collar_bps=wide", "risk.collar_bps expects a decimal number"),
        ("risk.rate_window_ns=null", "risk.rate_window_ns cannot be switched off"),
    ],
)
def test_a_bad_risk_setting_is_a_clear_error(tmp_path: Path, setting: str, message: str) -> None:
    from django.core.management.base import CommandError

    name = stored(tmp_path, "fat-finger")
    with pytest.raises(CommandError) as err:
        call_command("replay", name, "--json", "--set", setting, stdout=io.StringIO())
    assert message in str(err.value) and err.value.returncode == 2


def test_the_gateway_capture_records_its_limits_as_strings(tmp_path: Path) -> None:
    run_scenario("fat-finger", SEED, tmp_path, ticks=50)
    header = orjson.loads((tmp_path / "gateway-1.jsonl").read_bytes().splitlines()[0])
    assert header["meta"]["risk_limits"] == {
        "max_qty": 5000,
        "max_notional": "500000",
        "collar_bps": "300",
        "position_limit": 5000,
        "position_limits": {},
        "rate_limit": 500,
        "rate_window_ns": 1_000_000_000,
    }
    assert header["meta"]["risk_gateway"] == {
        "venue": "XSIM",
        "reference_prices": {"ACME": "100"},
        "strategy": "momentum",
    }


def test_an_order_let_through_is_filled_from_the_recorded_quotes_and_moves_the_position(
    tmp_path: Path,
) -> None:
    from replay import whatif_risk
    from replay.load import load_incident, resolve_incident
    from replay.merge import merge

    name = stored(tmp_path, "fat-finger")
    order = fat_finger_order(tmp_path)
    data = load_incident(resolve_incident(name))
    (gw,) = [c for c in data.captures if c.meta.get("risk_limits")]
    changes = {"max_qty": None, "max_notional": "100000000", "position_limit": 1000000}
    limits = whatif_risk.limits_from_meta(gw.meta, changes)
    run = whatif_risk.run_gateway(gw.key, gw.meta, merge(data.events).events, limits)

    # The fat-finger order (an IOC buy) reached the shadow venue: part filled at the touch.
    assert run.info["counterfactual_orders"] == 1 and run.info["counterfactual_fills"] == 1
    filled = run.info["counterfactual_filled_qty"]
    assert 0 < filled < order["payload"]["qty"]
    assert run.info["venue_model"].startswith("touch-fill")

    # Every later position check sees that fill on top of the recorded position.
    def observed(nodes: list[Any]) -> dict[str, int]:
        return {
            n.keys["cl_ord_id"]: int(n.payload["observed"])
            for n in nodes
            if n.payload["rule"] == "position_limit"
        }

    recorded, replayed = observed(run.recorded), observed(run.replayed)
    later = [cl for cl in recorded if cl > order["keys"]["cl_ord_id"]]
    assert later and all(replayed[cl] - recorded[cl] == filled for cl in later[:20])
