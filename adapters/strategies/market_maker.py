"""Reference market maker: quotes both sides around an EWMA fair value, skewed by inventory.

- signal: EWMA of the mid; emits ``fair_value`` when it moves by at least one tick.
- planner: quote targets (bid/ask price and size), shifted against inventory and cut to zero on the
  side that would breach ``max_position``; emits a PlanDelta when a target changes, and after
  every fill (inventory changed; the executor restores a filled side) at the last fair value.
- executor: keeps one working order per side: new, replace on a price/size change, cancel at size 0.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from adapters.strategies.base import Context, Emitted, EventView, Stage, Strategy
from adapters.strategies.execution import OrderExecutor


def _tick(params: dict[str, Any]) -> Decimal:
    return Decimal(params["tick"])


class FairValue(Stage):
    name = "signal"
    consumes: ClassVar[frozenset[str]] = frozenset({"MDTick"})

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.alpha = Decimal(params["ewma_alpha"])
        self.tick = _tick(params)
        self.fair: dict[str, Decimal] = {}
        self.sent: dict[str, Decimal] = {}

    def on_event(self, ev: EventView, ctx: Context) -> None:
        p = ev.payload
        if "bid" not in p or "ask" not in p:
            return
        sym = ev.keys["symbol"]
        mid = (Decimal(p["bid"]) + Decimal(p["ask"])) / 2
        old = self.fair.get(sym)
        fair = mid if old is None else old + self.alpha * (mid - old)
        self.fair[sym] = fair
        last = self.sent.get(sym)
        if last is not None and abs(fair - last) < self.tick:
            return
        self.sent[sym] = fair
        direction = 0 if last is None else (1 if fair > last else -1)
        value = str(fair.quantize(Decimal("0.0001")))
        payload = {"name": "fair_value", "value": value, "direction": direction}
        ctx.emit(Emitted("Signal", "signal", {"symbol": sym}, payload, [ev.ref]))


class QuotePlanner(Stage):
    name = "planner"
    consumes: ClassVar[frozenset[str]] = frozenset({"Signal", "Fill"})

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.tick = _tick(params)
        self.position: dict[str, int] = {}
        self.quotes: dict[str, dict[str, Any]] = {}
        self.fair: dict[str, Decimal] = {}
        self.n = 0

    def on_event(self, ev: EventView, ctx: Context) -> None:
        sym = ev.keys["symbol"]
        if ev.kind == "Fill":
            # Inventory changed: re-skew the quotes around the last fair value (however old).
            qty = int(ev.payload["last_qty"])
            sign = 1 if ev.payload["side"] == "BUY" else -1
            self.position[sym] = self.position.get(sym, 0) + sign * qty
            if sym in self.fair:
                self.plan(sym, ev, ctx, "inventory", force=True)
            return
        self.fair[sym] = Decimal(ev.payload["value"])
        self.plan(sym, ev, ctx, "fair_value")

    def plan(self, sym: str, ev: EventView, ctx: Context, reason: str, force: bool = False) -> None:
        """Emit the quote targets if they changed (or, after a fill, to restore a filled side)."""
        prm = self.params
        fair = self.fair[sym]
        pos = self.position.get(sym, 0)
        skew = Decimal(prm["skew_ticks_per_lot"]) * pos / prm["quote_qty"] * self.tick
        half = prm["half_spread_ticks"] * self.tick
        bid = ((fair - half - skew) / self.tick).to_integral_value(
            rounding="ROUND_FLOOR"
        ) * self.tick
        ask = ((fair + half - skew) / self.tick).to_integral_value(
            rounding="ROUND_CEILING"
        ) * self.tick
        limit = prm["max_position"]
        target = {
            "bid_px": str(bid),
            "bid_qty": prm["quote_qty"] if pos < limit else 0,
            "ask_px": str(ask),
            "ask_qty": prm["quote_qty"] if pos > -limit else 0,
        }
        old = self.quotes.get(sym, {})
        delta = {k: v for k, v in target.items() if old.get(k) != v}
        if not delta and not force:
            return
        self.quotes[sym] = target
        self.n += 1
        payload = {"target": {sym: target}, "delta": {sym: delta}, "reason": reason}
        keys = {"symbol": sym, "plan_id": f"MM-P{self.n:06d}"}
        ctx.emit(Emitted("PlanDelta", "planner", keys, payload, [ev.ref]))


class QuoteExecutor(OrderExecutor):
    def on_plan(self, ev: EventView, ctx: Context) -> None:
        for sym, target in ev.payload["target"].items():
            for side, px_key, qty_key in (
                ("BUY", "bid_px", "bid_qty"),
                ("SELL", "ask_px", "ask_qty"),
            ):
                px, qty = target[px_key], target[qty_key]
                cur = self.working(sym, side)
                if cur is None:
                    if qty > 0 and self.session_up:
                        self.send(ctx, "new", sym, side, qty, px, "DAY", [ev.ref])
                elif cur.status == "live":
                    if qty == 0:
                        self.send(
                            ctx,
                            "cancel",
                            sym,
                            side,
                            cur.qty,
                            cur.price,
                            "DAY",
                            [ev.ref],
                            orig=cur.cl_ord_id,
                        )
                        self.finish(cur)
                    elif px != cur.price or qty != cur.qty:
                        self.send(
                            ctx, "replace", sym, side, qty, px, "DAY", [ev.ref], orig=cur.cl_ord_id
                        )
                        self.finish(cur)
                # a pending order waits for its ack before it is amended


class MarketMaker(Strategy):
    name = "market_maker"
    version = "1.0.0"
    default_params: ClassVar[dict[str, Any]] = {
        "tick": "0.01",
        "ewma_alpha": "0.2",
        "half_spread_ticks": 2,
        "quote_qty": 100,
        "skew_ticks_per_lot": "0.5",
        "max_position": 500,
        "account": "MM1",
        "id_prefix": "MM",
    }
    stage_classes = (FairValue, QuotePlanner, QuoteExecutor)
