"""Lifecycle replay of FIX-only captures: each order's state machine rebuilt from its reports."""

from __future__ import annotations

from typing import Any

from replay.engine import CaptureInfo, IncidentData, replay
from replay.lifecycle import check
from replay.merge import Ev


class Fix:
    """Builds a FIX-only capture event by event."""

    def __init__(self) -> None:
        self.events: list[Ev] = []

    def add(self, kind: str, keys: dict[str, str], **payload: Any) -> Ev:
        n = len(self.events) + 1
        ev = Ev(
            "fix",
            n,
            kind,
            1_000 + n,
            1_000 + n,
            0,
            "gw",
            "fix",
            {"symbol": "ACME", **keys},
            payload,
        )
        self.events.append(ev)
        return ev

    def order(self, cl: str, qty: int) -> None:
        self.add("Order", {"cl_ord_id": cl}, action="new", side="BUY", qty=qty, price="10")

    def report(self, cl: str, et: str, st: str, cum: int, leaves: int, qty: int, **kw: Any) -> Ev:
        keys = {"cl_ord_id": cl, "order_id": "O-" + cl, **kw.pop("keys", {})}
        return self.add(
            "ExecReport",
            keys,
            exec_type=et,
            ord_status=st,
            cum_qty=cum,
            leaves_qty=leaves,
            order_qty=qty,
            **kw,
        )

    def fill(self, cl: str, qty: int) -> None:
        self.add(
            "Fill", {"cl_ord_id": cl, "order_id": "O-" + cl}, side="BUY", last_qty=qty, last_px="10"
        )


def rules(f: Fix) -> list[str]:
    return [i.rule for i in check(f.events).issues]


def test_a_clean_order_life_has_no_issues() -> None:
    f = Fix()
    f.order("A", 100)
    f.report("A", "NEW", "NEW", 0, 100, 100)
    f.report("A", "PARTIAL_FILL", "PARTIALLY_FILLED", 40, 60, 100)
    f.fill("A", 40)
    f.report("A", "FILL", "FILLED", 100, 0, 100)
    f.fill("A", 60)
    res = check(f.events)
    assert res.issues == []
    assert res.books["A"].history == ["NEW", "PARTIALLY_FILLED", "FILLED"]


def test_cum_plus_leaves_not_equal_to_order_qty_is_flagged() -> None:
    f = Fix()
    f.report("A", "NEW", "NEW", 0, 100, 100)
    f.report("A", "PARTIAL_FILL", "PARTIALLY_FILLED", 40, 50, 100)
    assert rules(f) == ["qty_mismatch"]


def test_fills_not_summing_to_cum_qty_are_flagged() -> None:
    f = Fix()
    f.report("A", "NEW", "NEW", 0, 100, 100)
    f.report("A", "FILL", "FILLED", 100, 0, 100)
    f.fill("A", 70)
    assert rules(f) == ["fills_mismatch"]


def test_a_fill_after_a_cancel_is_flagged() -> None:
    f = Fix()
    f.report("A", "NEW", "NEW", 0, 100, 100)
    f.report("A", "CANCELED", "CANCELED", 0, 0, 100)
    f.report("A", "FILL", "FILLED", 100, 0, 100)
    assert "fill_after_cancel" in rules(f)


def test_a_report_after_a_terminal_state_is_an_invalid_transition() -> None:
    f = Fix()
    f.report("A", "NEW", "NEW", 0, 100, 100)
    f.report("A", "REJECTED", "REJECTED", 0, 0, 100)
    f.report("A", "NEW", "NEW", 0, 100, 100)
    assert rules(f) == ["invalid_transition"]


def test_a_replace_chain_is_one_order() -> None:
    f = Fix()
    f.report("A", "NEW", "NEW", 0, 100, 100, keys={"order_id": "O1"})
    f.report("B", "REPLACED", "NEW", 0, 150, 150, keys={"order_id": "O1", "orig_cl_ord_id": "A"})
    f.report("B", "FILL", "FILLED", 150, 0, 150, keys={"order_id": "O1"})
    res = check(f.events)
    assert res.orders == 1 and res.issues == []


def test_an_incident_without_a_strategy_gets_a_lifecycle_verdict() -> None:
    f = Fix()
    f.report("A", "NEW", "NEW", 0, 100, 100)
    bad = f.report("A", "PARTIAL_FILL", "PARTIALLY_FILLED", 40, 50, 100)
    data = IncidentData("fixonly", [CaptureInfo("fix", "gw", "fix")], f.events)
    r = replay(data)
    assert r["mode"] == "lifecycle" and r["status"] == "diverged"
    assert r["first_divergence"]["reason"] == "qty_mismatch"
    assert r["first_divergence"]["ref"] == f"fix:{bad.seq}"
    assert r["outputs_compared"] == 2 and r["run_digest"] == replay(data)["run_digest"]
