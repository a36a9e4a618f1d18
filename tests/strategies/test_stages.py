"""The reference strategies' stages, driven directly through Strategy.handle."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from adapters.strategies.base import Context, StrategyEvent
from adapters.strategies.market_maker import MarketMaker
from adapters.strategies.momentum import Momentum


class Feeder:
    def __init__(self, strategy: Any, seed: int = 1) -> None:
        self.s, self.ctx, self.seq = strategy, Context(seed), 0

    def __call__(self, kind: str, keys: dict[str, str], payload: dict[str, Any]) -> list[Any]:
        self.seq += 1
        self.ctx.now_ns = 1_000 * self.seq
        outs = self.s.handle(
            StrategyEvent(kind, self.ctx.now_ns, keys, payload, ("c", self.seq)), self.ctx
        )
        self.seq += len(outs)
        return [o for _, o in outs]


def tick(bid: str, ask: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    return "MDTick", {"symbol": "ACME"}, {"bid": bid, "ask": ask}


def test_market_maker_quotes_both_sides_around_fair_value():
    feed = Feeder(MarketMaker())
    outs = feed(*tick("100.00", "100.02"))
    assert [o.kind for o in outs] == ["Signal", "PlanDelta", "Order", "Order"]
    buy, sell = outs[2], outs[3]
    assert (buy.payload["side"], sell.payload["side"]) == ("BUY", "SELL")
    assert Decimal(buy.payload["price"]) < Decimal("100.01") < Decimal(sell.payload["price"])


def test_market_maker_replaces_a_live_quote_when_fair_value_moves():
    feed = Feeder(MarketMaker())
    outs = feed(*tick("100.00", "100.02"))
    for o in outs[2:]:
        feed("ExecReport", o.keys, {"exec_type": "NEW", "ord_status": "NEW", "leaves_qty": 100})
    outs = feed(*tick("100.50", "100.52"))
    orders = [o for o in outs if o.kind == "Order"]
    assert [o.payload["action"] for o in orders] == ["replace", "replace"]
    assert all("orig_cl_ord_id" in o.keys for o in orders)


def test_executor_resends_only_unacknowledged_orders_after_link_up():
    feed = Feeder(MarketMaker())
    buy, sell = feed(*tick("100.00", "100.02"))[2:]
    feed("ExecReport", buy.keys, {"exec_type": "NEW", "ord_status": "NEW", "leaves_qty": 100})
    feed("Session", {}, {"event": "link_down", "peer": "gw"})
    outs = feed("Session", {}, {"event": "link_up", "peer": "gw"})
    assert [o.keys["cl_ord_id"] for o in outs] == [sell.keys["cl_ord_id"]]
    assert outs[0].payload["resend"] is True


def test_momentum_bursts_child_orders_summing_to_the_target():
    feed = Feeder(Momentum({"lookback": 3, "threshold_bps": "5", "target_qty": 500}))
    outs: list[Any] = []
    for i in range(5):
        outs += feed(*tick(f"{100 + i * 0.1:.2f}", f"{100.02 + i * 0.1:.2f}"))
    signal = next(o for o in outs if o.kind == "Signal")
    assert signal.payload["direction"] == 1
    orders = [o for o in outs if o.kind == "Order"]
    assert len(orders) >= 4
    assert sum(o.payload["qty"] for o in orders) == 500
    assert all(o.payload["tif"] == "IOC" and o.payload["side"] == "BUY" for o in orders)


def test_momentum_fat_finger_knob_multiplies_one_order():
    params = {"lookback": 3, "threshold_bps": "5", "target_qty": 500, "fat_finger_order": 2}
    feed = Feeder(Momentum(params))
    outs: list[Any] = []
    for i in range(5):
        outs += feed(*tick(f"{100 + i * 0.1:.2f}", f"{100.02 + i * 0.1:.2f}"))
    qtys = [o.payload["qty"] for o in outs if o.kind == "Order"]
    assert qtys[1] >= 50_000 and all(q <= 150 for i, q in enumerate(qtys) if i != 1)


def test_a_stage_cannot_rebind_the_event_it_is_given():
    # Stages share one event object; rebinding a field would change what later stages see.
    ev = StrategyEvent("MDTick", 5, {"symbol": "ACME"}, {"bid": "1"}, ("c", 1))
    for name in ("kind", "ts_ns", "keys", "payload", "ref"):
        try:
            setattr(ev, name, None)
        except AttributeError:
            continue
        raise AssertionError(f"{name} was rebound")
    assert ev == StrategyEvent("MDTick", 5, {"symbol": "ACME"}, {"bid": "1"}, ("c", 1))
    assert ev != StrategyEvent("MDTick", 6, {"symbol": "ACME"}, {"bid": "1"}, ("c", 1))
    assert repr(ev).startswith("StrategyEvent(kind='MDTick', ts_ns=5,")
