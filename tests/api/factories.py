"""A small, realistic trading incident built through ingest (the same path as real captures).

Three hosts: a market-data feed, a strategy (signal → plan → order) and an exchange gateway (risk check,
ack, fill with its raw FIX message). Hop latencies are fixed so tests can assert exact numbers.
"""

from __future__ import annotations

from typing import Any

from deltatrace.ingest import append_events, get_or_create_capture
from deltatrace.models import Incident

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z in ns
ORDER_GAP_NS = 1_000_000
# Offsets from each order's tick (ns): tick→signal 5 µs, signal→order 3 µs, order→risk 1 µs,
# order→ack 12 µs + i*100 ns, ack→fill 30 µs.
SIGNAL, PLAN, ORDER, RISK, ACK, FILL = 5_000, 6_000, 8_000, 9_000, 20_000, 50_000


def _fix(fields: list[tuple[int, str]]) -> str:
    return "".join(f"{tag}={value}\x01" for tag, value in fields)


def build_trading_incident(name: str = "flash-dip", orders: int = 5) -> Incident:
    incident = Incident.objects.create(name=name, title=f"Incident {name}", severity="high")
    feed: list[dict[str, Any]] = []
    strat: list[dict[str, Any]] = []
    gw: list[dict[str, Any]] = []
    for i in range(orders):
        t = T0 + i * ORDER_GAP_NS
        tick_seq = len(feed) + 1
        feed.append(
            {
                "seq": tick_seq,
                "kind": "MDTick",
                "ts_ns": t,
                "lane": "md",
                "keys": {"symbol": "ACME"},
                "payload": {"bid": "101.20", "ask": "101.25", "bid_size": 500},
            }
        )
        s = len(strat) + 1
        clid = f"S1-{i + 1:04d}"
        strat.append(
            {
                "seq": s,
                "kind": "Signal",
                "ts_ns": t + SIGNAL,
                "lane": "signal",
                "keys": {"symbol": "ACME", "signal_id": f"sig-{i}"},
                "parents": [{"capture": "feed", "seq": tick_seq, "kind": "tick_signal"}],
                "payload": {"name": "momentum", "value": "0.0031", "direction": 1},
            }
        )
        strat.append(
            {
                "seq": s + 1,
                "kind": "PlanDelta",
                "ts_ns": t + PLAN,
                "lane": "planner",
                "keys": {"symbol": "ACME", "plan_id": f"plan-{i}"},
                "parents": [{"seq": s, "kind": "signal_plan"}],
                "payload": {"target": {"ACME": 100}, "delta": {"ACME": 100}},
            }
        )
        strat.append(
            {
                "seq": s + 2,
                "kind": "Order",
                "ts_ns": t + ORDER,
                "lane": "executor",
                "keys": {"symbol": "ACME", "cl_ord_id": clid},
                "parents": [{"seq": s + 1, "kind": "plan_order"}],
                "payload": {
                    "action": "new",
                    "side": "BUY",
                    "qty": 100,
                    "price": "101.25",
                    "type": "LIMIT",
                    "tif": "DAY",
                },
            }
        )
        g = len(gw) + 1
        order_ref = {"capture": "strategy-1", "seq": s + 2}
        gw.append(
            {
                "seq": g,
                "kind": "RiskCheck",
                "ts_ns": t + RISK,
                "lane": "risk",
                "keys": {"symbol": "ACME", "cl_ord_id": clid},
                "parents": [order_ref | {"kind": "order_risk"}],
                "payload": {
                    "rule": "max_qty",
                    "result": "pass",
                    "limit": "1000",
                    "observed": "100",
                },
            }
        )
        gw.append(
            {
                "seq": g + 1,
                "kind": "ExecReport",
                "ts_ns": t + ACK + i * 100,
                "lane": "venue",
                "keys": {
                    "symbol": "ACME",
                    "cl_ord_id": clid,
                    "order_id": f"X{i}",
                    "exec_id": f"E{i}a",
                },
                "parents": [order_ref | {"kind": "order_report"}],
                "payload": {
                    "exec_type": "NEW",
                    "ord_status": "NEW",
                    "cum_qty": 0,
                    "leaves_qty": 100,
                },
            }
        )
        gw.append(
            {
                "seq": g + 2,
                "kind": "Fill",
                "ts_ns": t + FILL + i * 100,
                "lane": "venue",
                "keys": {
                    "symbol": "ACME",
                    "cl_ord_id": clid,
                    "order_id": f"X{i}",
                    "exec_id": f"E{i}b",
                },
                "parents": [{"seq": g + 1, "kind": "report_fill"}],
                "payload": {
                    "side": "BUY",
                    "last_qty": 100,
                    "last_px": "101.25",
                    "cum_qty": 100,
                    "leaves_qty": 0,
                },
                "raw": _fix(
                    [
                        (8, "FIX.4.4"),
                        (35, "8"),
                        (11, clid),
                        (37, f"X{i}"),
                        (150, "F"),
                        (32, "100"),
                        (31, "101.25"),
                    ]
                ),
            }
        )
    for key, host, events in (
        ("feed", "md-feed", feed),
        ("strategy-1", "strategy-1", strat),
        ("gateway", "gateway", gw),
    ):
        capture = get_or_create_capture(
            incident,
            {
                "format": "deltatrace.capture",
                "version": 1,
                "capture": key,
                "host": host,
                "adapter": "testbed",
            },
        )
        result = append_events(capture, events)
        assert result["quarantined"] == 0, result
    incident.refresh_from_db()
    return incident
