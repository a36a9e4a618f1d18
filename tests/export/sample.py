"""A small two-host incident: a tick drives a signal, a plan and two orders; the venue answers."""

from __future__ import annotations

from typing import Any

T0 = 1_767_225_600_000_000_000


def _e(capture: str, seq: int, kind: str, dt_ns: int, lane: str, **extra: Any) -> dict[str, Any]:
    host = {"strat": "strategy-1", "venue": "venue-1"}[capture]
    return {
        "capture": capture,
        "seq": seq,
        "kind": kind,
        "ts_ns": T0 + dt_ns,
        "recv_ts_ns": None,
        "hlc": [T0 + dt_ns, 0],
        "host": host,
        "lane": lane,
        "keys": extra.pop("keys", {}),
        "parents": extra.pop("parents", []),
        "payload": extra.pop("payload", {}),
        "raw": None,
    }


def events() -> list[dict[str, Any]]:
    sr = "send_receive"
    return [
        _e("strat", 1, "MDTick", 0, "md", keys={"symbol": "ACME"},
           payload={"bid": "101.20", "ask": "101.25", "bid_size": 500}),
        _e("strat", 2, "Signal", 1_500, "signal", keys={"symbol": "ACME", "signal_id": "G1"},
           parents=[{"seq": 1, "kind": "tick_signal"}], payload={"name": "momentum"}),
        _e("strat", 3, "PlanDelta", 2_000, "planner", keys={"plan_id": "P1"},
           parents=[{"seq": 2, "kind": "signal_plan"}]),
        _e("strat", 4, "Order", 3_000, "executor", keys={"symbol": "ACME", "cl_ord_id": "C1"},
           parents=[{"seq": 3, "kind": "plan_order"}],
           payload={"action": "new", "qty": 100, "price": "101.25", "account": "ACC-1"}),
        _e("venue", 1, "ExecReport", 9_000, "venue", keys={"cl_ord_id": "C1", "order_id": "O1"},
           parents=[{"capture": "strat", "seq": 4, "kind": sr}],
           payload={"exec_type": "NEW", "account": "ACC-1"}),
        _e("strat", 5, "Order", 20_000, "executor",
           keys={"cl_ord_id": "C2", "orig_cl_ord_id": "C1", "order_id": "O1"},
           parents=[{"seq": 4, "kind": "order_chain"}, {"capture": "venue", "seq": 1, "kind": sr}],
           payload={"action": "replace", "qty": 200}),
        _e("venue", 2, "Fill", 30_000, "venue", keys={"cl_ord_id": "C2", "order_id": "O1"},
           parents=[{"capture": "strat", "seq": 5, "kind": sr}],
           payload={"last_qty": 200, "last_px": "101.25"}),
        _e("strat", 6, "Order", 40_000, "executor", keys={"cl_ord_id": "C3"},
           parents=[{"seq": 3, "kind": "plan_order"}], payload={"action": "new", "qty": 10**6}),
        _e("venue", 3, "ExecReport", 41_000, "venue", keys={"cl_ord_id": "C3"},
           parents=[{"capture": "strat", "seq": 6, "kind": sr}],
           payload={"exec_type": "REJECTED", "text": "max_qty"}),
    ]  # fmt: skip
