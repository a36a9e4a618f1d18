"""Reference momentum taker: trades in the direction of the recent move with bursts of IOC orders.

- signal: return of the mid over ``lookback`` ticks in basis points; emits ``momentum`` when the
  direction (+1, 0, -1) changes.
- planner: target position = direction x ``target_qty``; emits the PlanDelta to get there.
- executor: splits the delta into IOC child orders of random size in [clip_min, clip_max]
  (``ctx.rng``), priced ``slippage_ticks`` through the far touch of the last tick seen. The
  ``fat_finger_order`` param (0 = off) is a fault-injection knob: that child order's quantity is
  multiplied by 1000, as a keying error would.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import Any, ClassVar

from adapters.strategies.base import Context, Emitted, EventView, Stage, Strategy
from adapters.strategies.execution import OrderExecutor


class MomentumSignal(Stage):
    name = "signal"
    consumes: ClassVar[frozenset[str]] = frozenset({"MDTick"})

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.mids: dict[str, deque[Decimal]] = {}
        self.direction: dict[str, int] = {}
        self.threshold = Decimal(params["threshold_bps"])
        # Quotes repeat the same few thousand prices: parse each price string once.
        self.prices: dict[str, Decimal] = {}

    def on_event(self, ev: EventView, ctx: Context) -> None:
        p = ev.payload
        if "bid" not in p or "ask" not in p:
            return
        sym = ev.keys["symbol"]
        mids = self.mids.get(sym)
        if mids is None:
            mids = self.mids[sym] = deque(maxlen=self.params["lookback"] + 1)
        prices = self.prices
        bid_s, ask_s = p["bid"], p["ask"]
        bid = prices.get(bid_s)
        if bid is None:
            bid = prices[bid_s] = Decimal(bid_s)
        ask = prices.get(ask_s)
        if ask is None:
            ask = prices[ask_s] = Decimal(ask_s)
        mids.append((bid + ask) / 2)
        if len(mids) <= self.params["lookback"]:
            return
        ret_bps = (mids[-1] - mids[0]) / mids[0] * 10000
        direction = 1 if ret_bps >= self.threshold else -1 if ret_bps <= -self.threshold else 0
        if direction == self.direction.get(sym, 0):
            return
        self.direction[sym] = direction
        value = str(ret_bps.quantize(Decimal("0.01")))
        payload = {"name": "momentum", "value": value, "direction": direction}
        ctx.emit(Emitted("Signal", "signal", {"symbol": sym}, payload, [ev.ref]))


class PositionPlanner(Stage):
    name = "planner"
    consumes: ClassVar[frozenset[str]] = frozenset({"Signal", "Fill"})

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.position: dict[str, int] = {}
        self.target: dict[str, int] = {}
        self.n = 0

    def on_event(self, ev: EventView, ctx: Context) -> None:
        sym = ev.keys["symbol"]
        if ev.kind == "Fill":
            sign = 1 if ev.payload["side"] == "BUY" else -1
            self.position[sym] = self.position.get(sym, 0) + sign * int(ev.payload["last_qty"])
            return
        target = int(ev.payload["direction"]) * self.params["target_qty"]
        delta = target - self.position.get(sym, 0)
        if target == self.target.get(sym) and delta == 0:
            return
        self.target[sym] = target
        self.n += 1
        payload = {
            "target": {sym: target},
            "delta": {sym: delta},
            "reason": f"momentum {ev.payload['value']} bps",
        }
        keys = {"symbol": sym, "plan_id": f"MO-P{self.n:06d}"}
        ctx.emit(Emitted("PlanDelta", "planner", keys, payload, [ev.ref]))


class SweepExecutor(OrderExecutor):
    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        # The last quote per symbol as sent (bid, ask text): parsed only when an order is priced,
        # which is far rarer than a tick.
        self.book: dict[str, tuple[str, str]] = {}
        self.tick = Decimal(params["tick"])

    def on_tick(self, ev: EventView, ctx: Context) -> None:
        p = ev.payload
        if "bid" in p and "ask" in p:
            self.book[ev.keys["symbol"]] = (p["bid"], p["ask"])

    def on_plan(self, ev: EventView, ctx: Context) -> None:
        prm = self.params
        for sym, delta in ev.payload["delta"].items():
            if delta == 0 or sym not in self.book:
                continue
            bid, ask = self.book[sym]
            side = "BUY" if delta > 0 else "SELL"
            slip = prm["slippage_ticks"] * self.tick
            price = str(Decimal(ask) + slip if side == "BUY" else Decimal(bid) - slip)
            left = abs(delta)
            while left > 0:
                qty = min(left, ctx.rng.randint(prm["clip_min"], prm["clip_max"]))
                left -= qty
                if self.n_orders + 1 == prm["fat_finger_order"]:
                    qty *= 1000
                self.send(ctx, "new", sym, side, qty, price, "IOC", [ev.ref])


class Momentum(Strategy):
    name = "momentum"
    version = "1.0.0"
    default_params: ClassVar[dict[str, Any]] = {
        "tick": "0.01",
        "lookback": 20,
        "threshold_bps": "8",
        "target_qty": 600,
        "clip_min": 50,
        "clip_max": 150,
        "slippage_ticks": 1,
        "fat_finger_order": 0,
        "account": "MO1",
        "id_prefix": "MO",
    }
    stage_classes = (MomentumSignal, PositionPlanner, SweepExecutor)
