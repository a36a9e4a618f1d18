"""The venue's answer to orders it never saw: the counterfactual side of a risk-limit what-if.

When a changed limit lets through an order the recorded gateway rejected, nothing in the recording
says what the venue would have done with it. Rather than leave it unanswered (the gateway would then
count it as open forever), a touch-fill model answers it from the recorded market data:

- a new order is acknowledged; whatever part is marketable against the recorded touch (a buy at or
  above the ask, a sell at or below the bid, any market order) fills at the touch, up to the size
  displayed there, which those fills then use up until the next quote;
- what is left rests at its limit and fills at that limit once a later recorded quote reaches it
  (an ask at or below a resting buy, a bid at or above a resting sell), again up to displayed size;
- IOC leftovers and market-order leftovers are cancelled, a FOK order that cannot fill whole is
  cancelled unfilled, cancels and replaces of these orders are acknowledged.

Other participants are not modelled (no queue position, no market impact): an approximation, stated
in the verdict, and deterministic. Its reports reach the gateway like the venue's, so positions, open
quantities and the last trade price follow the counterfactual. Pure: no Django, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adapters.exchange.types import (
    BUY,
    ET_CANCELED,
    ET_FILL,
    ET_NEW,
    ET_PARTIAL_FILL,
    ET_REPLACED,
    FOK,
    IOC,
    MARKET,
    OS_CANCELED,
    OS_FILLED,
    OS_NEW,
    OS_PARTIALLY_FILLED,
    CancelRequest,
    ExecReport,
    NewOrder,
    ReplaceRequest,
)

MODEL = "touch-fill: marketable parts fill at the recorded touch up to its displayed size"


@dataclass
class _Touch:
    bid: Decimal | None = None
    bid_size: int = 0
    ask: Decimal | None = None
    ask_size: int = 0


@dataclass
class _Order:
    order_id: str
    cl_ord_id: str
    symbol: str
    side: str
    qty: int
    price: Decimal | None
    ord_type: str
    tif: str
    account: str
    strategy: str
    cum: int = 0
    notional: Decimal = Decimal(0)
    done: bool = False


class ShadowVenue:
    """Answers the orders it is given (see module docstring); reports go to ``deliver``."""

    def __init__(self, venue: str, deliver: Callable[[ExecReport], None]) -> None:
        self.venue = venue
        self.deliver = deliver
        self.touch: dict[str, _Touch] = {}
        self.orders: dict[str, _Order] = {}  # live ClOrdID -> order
        self.resting: list[_Order] = []  # in arrival order: earlier orders fill first
        self.fills = 0
        self.filled_qty = 0
        self._n_order = 0
        self._n_exec = 0

    @property
    def orders_answered(self) -> int:
        return self._n_order

    def owns(self, cl_ord_id: str) -> bool:
        return cl_ord_id in self.orders

    # -- market data --
    def quote(
        self, symbol: str, bid: Any, bid_size: Any, ask: Any, ask_size: Any, ts_ns: int
    ) -> None:
        """A recorded top-of-book quote: resting orders it reaches fill at their limit."""
        self.touch[symbol] = _Touch(_dec(bid), int(bid_size or 0), _dec(ask), int(ask_size or 0))
        for o in list(self.resting):
            if o.symbol == symbol:
                self._match(o, ts_ns, passive=True)

    # -- order entry --
    def handle(self, req: NewOrder | CancelRequest | ReplaceRequest, ts_ns: int) -> None:
        if isinstance(req, NewOrder):
            self._new(req, ts_ns)
        elif isinstance(req, CancelRequest):
            o = self.orders.pop(req.orig_cl_ord_id, None)
            if o is not None and not o.done:
                o.done = True
                self._unrest(o)
                self._report(o, ET_CANCELED, OS_CANCELED, ts_ns, req.cl_ord_id, req.orig_cl_ord_id)
        else:
            o = self.orders.pop(req.orig_cl_ord_id, None)
            if o is None or o.done:
                return
            o.cl_ord_id = req.cl_ord_id
            o.qty = max(req.qty, o.cum)
            if req.price is not None:
                o.price = req.price
            self.orders[o.cl_ord_id] = o
            status = OS_PARTIALLY_FILLED if o.cum else OS_NEW
            self._report(o, ET_REPLACED, status, ts_ns, o.cl_ord_id, req.orig_cl_ord_id)
            self._match(o, ts_ns, passive=False)

    def _new(self, req: NewOrder, ts_ns: int) -> None:
        self._n_order += 1
        o = _Order(
            f"{self.venue}-WHATIF-{self._n_order}",
            req.cl_ord_id,
            req.symbol,
            req.side,
            req.qty,
            req.price,
            req.ord_type,
            req.tif,
            req.account,
            req.strategy,
        )
        self.orders[o.cl_ord_id] = o
        self._report(o, ET_NEW, OS_NEW, ts_ns)
        if o.tif == FOK and self._available(o) < o.qty:
            o.done = True
            self._report(o, ET_CANCELED, OS_CANCELED, ts_ns)
            return
        self.resting.append(o)
        self._match(o, ts_ns, passive=False)
        if not o.done and (o.tif in (IOC, FOK) or o.ord_type == MARKET):
            o.done = True
            self._unrest(o)
            self._report(o, ET_CANCELED, OS_CANCELED, ts_ns)

    # -- matching --
    def _available(self, o: _Order) -> int:
        t = self.touch.get(o.symbol)
        if t is None:
            return 0
        px, size = (t.ask, t.ask_size) if o.side == BUY else (t.bid, t.bid_size)
        if px is None or not (o.ord_type == MARKET or _reaches(o, px)):
            return 0
        return size

    def _match(self, o: _Order, ts_ns: int, passive: bool) -> None:
        available = self._available(o)
        if o.done or not available:
            return
        t = self.touch[o.symbol]
        touch_px = t.ask if o.side == BUY else t.bid
        assert touch_px is not None  # _available found size there
        qty = min(o.qty - o.cum, available)
        # An aggressive order takes the quoted price; a resting one is reached at its own limit.
        px = o.price if passive and o.price is not None else touch_px
        if o.side == BUY:
            t.ask_size -= qty
        else:
            t.bid_size -= qty
        o.cum += qty
        o.notional += px * qty
        self.fills += 1
        self.filled_qty += qty
        full = o.cum >= o.qty
        if full:
            o.done = True
            self._unrest(o)
        exec_type, status = (ET_FILL, OS_FILLED) if full else (ET_PARTIAL_FILL, OS_PARTIALLY_FILLED)
        self._report(o, exec_type, status, ts_ns, last_qty=qty, last_px=px)

    def _unrest(self, o: _Order) -> None:
        if o in self.resting:
            self.resting.remove(o)

    def _report(
        self,
        o: _Order,
        exec_type: str,
        status: str,
        ts_ns: int,
        cl_ord_id: str = "",
        orig: str = "",
        last_qty: int = 0,
        last_px: Decimal | None = None,
    ) -> None:
        self._n_exec += 1
        leaves = 0 if o.done else o.qty - o.cum
        self.deliver(
            ExecReport(
                venue=self.venue,
                order_id=o.order_id,
                exec_id=f"{self.venue}-WHATIF-E{self._n_exec}",
                cl_ord_id=cl_ord_id or o.cl_ord_id,
                symbol=o.symbol,
                side=o.side,
                exec_type=exec_type,
                ord_status=status,
                order_qty=o.qty,
                cum_qty=o.cum,
                leaves_qty=leaves,
                avg_px=o.notional / o.cum if o.cum else Decimal(0),
                ts_ns=ts_ns,
                price=o.price,
                ord_type=o.ord_type,
                tif=o.tif,
                last_qty=last_qty,
                last_px=last_px,
                orig_cl_ord_id=orig,
                account=o.account,
                strategy=o.strategy,
            )
        )


def _reaches(o: _Order, px: Decimal) -> bool:
    assert o.price is not None
    return px <= o.price if o.side == BUY else px >= o.price


def _dec(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))
