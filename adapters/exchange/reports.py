"""What the venue and the risk gateway produce: execution reports, risk-check results, trades and
market data, each with its capture-format payload (``to_payload``) and correlation keys
(``to_keys``).

Compiled with mypyc, unlike the requests in ``types.py``: these are built by the sandbox itself,
hundreds of thousands of times a simulated run, never from a caller's values unchecked (a
malformed request is rejected, and its reject report built from checked values, in
``types.reject_report``). ``__init__`` is written out because the one ``@dataclass`` generates
stays interpreted Python even when mypyc compiles the class (~1 µs for an ExecReport); the
decorator still gives equality and ``repr``. This module imports nothing from ``types.py``,
which re-exports everything here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any


def px(value: Decimal | None) -> str | None:
    """A price as a capture-format decimal string (``None`` stays ``None``)."""
    return None if value is None else str(value)


@dataclass
class ExecReport:
    venue: str
    order_id: str
    exec_id: str
    cl_ord_id: str
    symbol: str
    side: str
    exec_type: str
    ord_status: str
    order_qty: int
    cum_qty: int
    leaves_qty: int
    avg_px: Decimal
    ts_ns: int
    price: Decimal | None = None
    ord_type: str = "LIMIT"  # types.LIMIT (this module imports nothing from types)
    tif: str = "DAY"  # types.DAY
    last_qty: int = 0
    last_px: Decimal | None = None
    orig_cl_ord_id: str = ""
    account: str = ""
    strategy: str = ""
    text: str = ""

    def __init__(
        self,
        venue: str,
        order_id: str,
        exec_id: str,
        cl_ord_id: str,
        symbol: str,
        side: str,
        exec_type: str,
        ord_status: str,
        order_qty: int,
        cum_qty: int,
        leaves_qty: int,
        avg_px: Decimal,
        ts_ns: int,
        price: Decimal | None = None,
        ord_type: str = "LIMIT",
        tif: str = "DAY",
        last_qty: int = 0,
        last_px: Decimal | None = None,
        orig_cl_ord_id: str = "",
        account: str = "",
        strategy: str = "",
        text: str = "",
    ) -> None:
        self.venue = venue
        self.order_id = order_id
        self.exec_id = exec_id
        self.cl_ord_id = cl_ord_id
        self.symbol = symbol
        self.side = side
        self.exec_type = exec_type
        self.ord_status = ord_status
        self.order_qty = order_qty
        self.cum_qty = cum_qty
        self.leaves_qty = leaves_qty
        self.avg_px = avg_px
        self.ts_ns = ts_ns
        self.price = price
        self.ord_type = ord_type
        self.tif = tif
        self.last_qty = last_qty
        self.last_px = last_px
        self.orig_cl_ord_id = orig_cl_ord_id
        self.account = account
        self.strategy = strategy
        self.text = text

    @property
    def is_fill(self) -> bool:
        """True when this report carries a trade (then the testbed also records a Fill)."""
        return self.last_qty > 0

    def to_payload(self) -> dict[str, Any]:
        price = self.price
        payload: dict[str, Any] = {
            "exec_type": self.exec_type,
            "ord_status": self.ord_status,
            "side": self.side,
            "order_qty": self.order_qty,
            "cum_qty": self.cum_qty,
            "leaves_qty": self.leaves_qty,
            "avg_px": str(self.avg_px),
            "price": None if price is None else str(price),
            "type": self.ord_type,
            "tif": self.tif,
            "venue": self.venue,
            "text": self.text,
        }
        if self.last_qty:
            payload["last_qty"] = self.last_qty
            payload["last_px"] = px(self.last_px)
        return payload

    def fill_payload(self) -> dict[str, Any]:
        """The capture-format payload of the Fill event for a report that ``is_fill``."""
        return {
            "side": self.side,
            "last_qty": self.last_qty,
            "last_px": px(self.last_px),
            "cum_qty": self.cum_qty,
            "leaves_qty": self.leaves_qty,
        }

    def to_keys(self) -> dict[str, str]:
        # Non-empty values, in this order.
        keys = {"symbol": self.symbol} if self.symbol else {}
        if self.cl_ord_id:
            keys["cl_ord_id"] = self.cl_ord_id
        if self.orig_cl_ord_id:
            keys["orig_cl_ord_id"] = self.orig_cl_ord_id
        if self.order_id:
            keys["order_id"] = self.order_id
        if self.exec_id:
            keys["exec_id"] = self.exec_id
        return keys

    def copy(self) -> ExecReport:
        """A copy (``dataclasses.replace(self)``, without its per-field introspection)."""
        return ExecReport(
            self.venue,
            self.order_id,
            self.exec_id,
            self.cl_ord_id,
            self.symbol,
            self.side,
            self.exec_type,
            self.ord_status,
            self.order_qty,
            self.cum_qty,
            self.leaves_qty,
            self.avg_px,
            self.ts_ns,
            self.price,
            self.ord_type,
            self.tif,
            self.last_qty,
            self.last_px,
            self.orig_cl_ord_id,
            self.account,
            self.strategy,
            self.text,
        )


@dataclass
class RiskResult:
    """One pre-trade check of one order: the payload of a RiskCheck event."""

    rule: str
    result: str  # "pass" | "reject"
    limit: str
    observed: str
    cl_ord_id: str = ""
    symbol: str = ""
    ts_ns: int = 0
    text: str = ""

    def __init__(
        self,
        rule: str,
        result: str,
        limit: str,
        observed: str,
        cl_ord_id: str = "",
        symbol: str = "",
        ts_ns: int = 0,
        text: str = "",
    ) -> None:
        self.rule = rule
        self.result = result
        self.limit = limit
        self.observed = observed
        self.cl_ord_id = cl_ord_id
        self.symbol = symbol
        self.ts_ns = ts_ns
        self.text = text

    @property
    def passed(self) -> bool:
        return self.result == "pass"

    def to_payload(self) -> dict[str, Any]:
        payload = {
            "rule": self.rule,
            "result": self.result,
            "limit": self.limit,
            "observed": self.observed,
        }
        if self.text:
            payload["text"] = self.text
        return payload

    def to_keys(self) -> dict[str, str]:
        keys = {"symbol": self.symbol} if self.symbol else {}
        if self.cl_ord_id:
            keys["cl_ord_id"] = self.cl_ord_id
        return keys


@dataclass
class Trade:
    symbol: str
    price: Decimal
    qty: int
    ts_ns: int
    aggressor_side: str
    buy_order_id: str
    sell_order_id: str

    def __init__(
        self,
        symbol: str,
        price: Decimal,
        qty: int,
        ts_ns: int,
        aggressor_side: str,
        buy_order_id: str,
        sell_order_id: str,
    ) -> None:
        self.symbol = symbol
        self.price = price
        self.qty = qty
        self.ts_ns = ts_ns
        self.aggressor_side = aggressor_side
        self.buy_order_id = buy_order_id
        self.sell_order_id = sell_order_id


@dataclass
class BookSnapshot:
    """Aggregated depth: ``bids`` best (highest) first, ``asks`` best (lowest) first."""

    symbol: str
    bids: list[tuple[Decimal, int]]
    asks: list[tuple[Decimal, int]]

    def to_payload(self) -> dict[str, Any]:
        return {
            "bids": [[str(p), q] for p, q in self.bids],
            "asks": [[str(p), q] for p, q in self.asks],
        }


@dataclass
class MDUpdate:
    """Top of book (and the event's last trade) after an event that changed them: an MDTick."""

    symbol: str
    ts_ns: int
    bid: Decimal | None
    bid_size: int
    ask: Decimal | None
    ask_size: int
    last: Decimal | None = None
    last_size: int = 0
    volume: int = 0  # total quantity traded by the event (several prints when it swept levels)

    def __init__(
        self,
        symbol: str,
        ts_ns: int,
        bid: Decimal | None,
        bid_size: int,
        ask: Decimal | None,
        ask_size: int,
        last: Decimal | None = None,
        last_size: int = 0,
        volume: int = 0,
    ) -> None:
        self.symbol = symbol
        self.ts_ns = ts_ns
        self.bid = bid
        self.bid_size = bid_size
        self.ask = ask
        self.ask_size = ask_size
        self.last = last
        self.last_size = last_size
        self.volume = volume

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "bid": px(self.bid),
            "bid_size": self.bid_size,
            "ask": px(self.ask),
            "ask_size": self.ask_size,
        }
        if self.last_size:
            payload["last"] = px(self.last)
            payload["last_size"] = self.last_size
            payload["volume"] = self.volume
        return payload

    def to_keys(self) -> dict[str, str]:
        return {"symbol": self.symbol}
