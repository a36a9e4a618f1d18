"""Capture-format payloads and correlation keys of the sandbox's values (docs/capture-format.md)."""

from __future__ import annotations

import json
from decimal import Decimal

from adapters.exchange import (
    CancelRequest,
    MatchingEngine,
    NewOrder,
    ReplaceRequest,
    RiskGateway,
    RiskLimits,
)
from deltatrace.canonical import canonical_json

from .orders import buy, sell

D = Decimal


def test_order_payloads_carry_action_and_prices_as_decimal_strings() -> None:
    order = NewOrder("C1", "ACME", "BUY", 100, D("101.25"), account="acct-1", strategy="mm")
    assert order.to_payload() == {
        "action": "new",
        "side": "BUY",
        "qty": 100,
        "price": "101.25",
        "type": "LIMIT",
        "tif": "DAY",
        "account": "acct-1",
        "strategy": "mm",
    }
    assert order.to_keys() == {"symbol": "ACME", "cl_ord_id": "C1"}
    market = NewOrder("C2", "ACME", "SELL", 5, None, "MARKET", "IOC")
    assert market.to_payload()["price"] is None
    assert CancelRequest("C3", "C1", "ACME").to_payload()["action"] == "cancel"
    replace = ReplaceRequest("C4", "C1", "ACME", 50, D("101.30"))
    assert (replace.to_payload()["action"], replace.to_payload()["price"]) == ("replace", "101.30")
    assert replace.to_keys() == {"symbol": "ACME", "cl_ord_id": "C4", "orig_cl_ord_id": "C1"}


def test_exec_report_and_fill_payloads_follow_the_capture_format() -> None:
    engine = MatchingEngine("XSIM")
    engine.submit(sell("S1", 40, "101.25"), 1)
    _, fill, _ = engine.submit(buy("B1", 100, "101.30"), 2)
    assert fill.is_fill
    assert fill.to_payload() == {
        "exec_type": "PARTIAL_FILL",
        "ord_status": "PARTIALLY_FILLED",
        "side": "BUY",
        "order_qty": 100,
        "cum_qty": 40,
        "leaves_qty": 60,
        "avg_px": "101.25",
        "price": "101.30",
        "type": "LIMIT",
        "tif": "DAY",
        "venue": "XSIM",
        "text": "",
        "last_qty": 40,
        "last_px": "101.25",
    }
    assert fill.fill_payload() == {
        "side": "BUY",
        "last_qty": 40,
        "last_px": "101.25",
        "cum_qty": 40,
        "leaves_qty": 60,
    }
    assert fill.to_keys() == {
        "symbol": "ACME",
        "cl_ord_id": "B1",
        "order_id": "XSIM-O2",
        "exec_id": "XSIM-E3",
    }


def test_risk_results_are_risk_check_payloads() -> None:
    gw = RiskGateway(MatchingEngine(), RiskLimits(max_qty=10))
    results, _ = gw.submit(buy("B1", 11, "10"), 5)
    assert results[1].to_payload() == {
        "rule": "max_qty",
        "result": "reject",
        "limit": "10",
        "observed": "11",
    }
    assert results[1].to_keys() == {"symbol": "ACME", "cl_ord_id": "B1"}


def test_every_payload_of_a_busy_session_is_plain_json_without_floats() -> None:
    engine = MatchingEngine("XSIM")
    gw = RiskGateway(engine, RiskLimits(max_qty=500, collar_bps=D(300), position_limit=400))
    gw.set_reference_price("ACME", D("10"))
    payloads: list[dict] = []
    for i in range(60):
        price = str(D("9.95") + D("0.01") * (i % 10))
        order = buy(f"B{i}", 7 + i, price) if i % 2 else sell(f"S{i}", 5 + i, price)
        results, reports = gw.submit(order, i)
        payloads += [r.to_payload() for r in results]
        payloads += [r.to_payload() for r in reports]
        payloads += [r.fill_payload() for r in reports if r.is_fill]
    payloads += [t.to_payload() for t in engine.drain_market_data()]
    payloads.append(engine.depth("ACME", 10).to_payload())
    assert len(payloads) > 200
    assert any("last_qty" in p for p in payloads)
    for payload in payloads:
        assert all(type(v) in (str, int, type(None)) for v in scalars(payload)), payload
        assert canonical_json(payload) == canonical_json(json.loads(json.dumps(payload)))


def scalars(value: object) -> list[object]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in scalars(v)]
    if isinstance(value, list):
        return [s for v in value for s in scalars(v)]
    return [value]
