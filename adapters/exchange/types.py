"""Plain value types of the exchange-gateway sandbox and their capture-format payloads.

Prices are ``Decimal``, quantities ``int``, timestamps integer nanoseconds. Enumerations are plain
strings (not ``Enum``) so payloads serialise with any JSON encoder and compare cheaply.
``to_payload()`` gives the capture-format payload of the matching event kind (prices as decimal
strings); ``to_keys()`` gives the event's correlation keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal
from operator import attrgetter
from typing import Any

# Sides, order types, time in force.
BUY = "BUY"
SELL = "SELL"
SIDES = (BUY, SELL)
LIMIT = "LIMIT"
MARKET = "MARKET"
ORD_TYPES = (LIMIT, MARKET)
DAY = "DAY"
IOC = "IOC"
FOK = "FOK"
TIFS = (DAY, IOC, FOK)

# ExecType values (FIX 4.2 style, as in the capture format).
ET_NEW = "NEW"
ET_PARTIAL_FILL = "PARTIAL_FILL"
ET_FILL = "FILL"
ET_CANCELED = "CANCELED"
ET_REPLACED = "REPLACED"
ET_REJECTED = "REJECTED"
ET_CANCEL_REJECT = "CANCEL_REJECT"

# OrdStatus values.
OS_NEW = "NEW"
OS_PARTIALLY_FILLED = "PARTIALLY_FILLED"
OS_FILLED = "FILLED"
OS_CANCELED = "CANCELED"
OS_REJECTED = "REJECTED"

# Risk rules, in the order the gateway evaluates them.
RULES = (
    "kill_switch",
    "order_rate",
    "max_qty",
    "max_notional",
    "price_collar",
    "position_limit",
)
KILL_SCOPES = ("venue", "strategy", "symbol", "account")


def px(value: Decimal | None) -> str | None:
    """A price as a capture-format decimal string (``None`` stays ``None``)."""
    return None if value is None else str(value)


def _keys(**keys: str) -> dict[str, str]:
    return {k: v for k, v in keys.items() if v}


@dataclass(slots=True)
class NewOrder:
    cl_ord_id: str
    symbol: str
    side: str
    qty: int
    price: Decimal | None = None
    ord_type: str = LIMIT
    tif: str = DAY
    account: str = ""
    strategy: str = ""

    def to_payload(self) -> dict[str, Any]:
        return {
            "action": "new",
            "side": self.side,
            "qty": self.qty,
            "price": px(self.price),
            "type": self.ord_type,
            "tif": self.tif,
            "account": self.account,
            "strategy": self.strategy,
        }

    def to_keys(self) -> dict[str, str]:
        return _keys(symbol=self.symbol, cl_ord_id=self.cl_ord_id)


@dataclass(slots=True)
class CancelRequest:
    cl_ord_id: str
    orig_cl_ord_id: str
    symbol: str
    account: str = ""
    strategy: str = ""

    def to_payload(self) -> dict[str, Any]:
        return {"action": "cancel", "account": self.account, "strategy": self.strategy}

    def to_keys(self) -> dict[str, str]:
        return _keys(
            symbol=self.symbol, cl_ord_id=self.cl_ord_id, orig_cl_ord_id=self.orig_cl_ord_id
        )


@dataclass(slots=True)
class ReplaceRequest:
    """Cancel/replace. ``qty`` is the new total order quantity; ``price=None`` keeps the price."""

    cl_ord_id: str
    orig_cl_ord_id: str
    symbol: str
    qty: int
    price: Decimal | None = None
    account: str = ""
    strategy: str = ""

    def to_payload(self) -> dict[str, Any]:
        return {
            "action": "replace",
            "qty": self.qty,
            "price": px(self.price),
            "account": self.account,
            "strategy": self.strategy,
        }

    def to_keys(self) -> dict[str, str]:
        return _keys(
            symbol=self.symbol, cl_ord_id=self.cl_ord_id, orig_cl_ord_id=self.orig_cl_ord_id
        )


@dataclass(slots=True)
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
    ord_type: str = LIMIT
    tif: str = DAY
    last_qty: int = 0
    last_px: Decimal | None = None
    orig_cl_ord_id: str = ""
    account: str = ""
    strategy: str = ""
    text: str = ""

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
        # _keys(...) spelled out (one call per recorded report): non-empty values, in this order
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
        return ExecReport(*_exec_report_fields(self))


_exec_report_fields = attrgetter(*(f.name for f in fields(ExecReport) if f.init))


def _bad_price(p: object) -> bool:
    return not isinstance(p, Decimal) or not p.is_finite() or p <= 0


def order_error(order: NewOrder) -> str:
    """Why a new order is malformed ("" when it is well formed); ClOrdID uniqueness is the
    venue's to check."""
    if not order.cl_ord_id:
        return "missing ClOrdID"
    if not order.symbol:
        return "missing symbol"
    if order.side not in SIDES:
        return f"unknown side {order.side!r}"
    if order.ord_type not in ORD_TYPES:
        return f"unknown order type {order.ord_type!r}"
    if order.tif not in TIFS:
        return f"unknown time in force {order.tif!r}"
    if type(order.qty) is not int or order.qty <= 0:
        return f"invalid quantity {order.qty!r}"
    if order.ord_type == LIMIT:
        if _bad_price(order.price):
            return f"invalid limit price {order.price!r}"
    elif order.price is not None:
        return "market order must not carry a price"
    return ""


def replace_error(req: ReplaceRequest) -> str:
    """Why a cancel/replace request is malformed ("" when it is well formed)."""
    if type(req.qty) is not int or req.qty <= 0:
        return f"invalid quantity {req.qty!r}"
    if req.price is not None and _bad_price(req.price):
        return f"invalid price {req.price!r}"
    return ""


def reject_report(
    venue: str,
    exec_id: str,
    req: NewOrder | CancelRequest | ReplaceRequest,
    ts_ns: int,
    text: str,
    exec_type: str = ET_REJECTED,
) -> ExecReport:
    """The report for a request that created or changed no order (OrderID ``NONE``)."""
    new = req if isinstance(req, NewOrder) else None
    return ExecReport(
        venue,
        "NONE",
        exec_id,
        req.cl_ord_id,
        req.symbol,
        new.side if new else "",
        exec_type,
        OS_REJECTED,
        new.qty if new else 0,
        0,
        0,
        Decimal(0),
        ts_ns,
        new.price if new else None,
        new.ord_type if new else LIMIT,
        new.tif if new else DAY,
        orig_cl_ord_id="" if new else req.orig_cl_ord_id,  # type: ignore[union-attr]
        account=req.account,
        strategy=req.strategy,
        text=text,
    )


@dataclass(slots=True)
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


@dataclass(frozen=True)
class RiskLimits:
    """Pre-trade limits. ``None`` switches a rule off (it then emits no RiskResult).

    - ``max_qty``: largest order quantity.
    - ``max_notional``: largest qty x price (market orders: x the opposite best, else last trade).
    - ``collar_bps``: a limit price must lie within +/- this many basis points of the last trade
      (or of a reference price set on the gateway when the symbol has not traded yet).
    - ``position_limit``: |worst-case position| per symbol, where worst case long is
      position + open buy qty + the new buy qty (short: the same with sells);
      ``position_limits`` overrides it per symbol.
    - ``rate_limit`` orders (new and replace; cancels are never throttled) per ``rate_window_ns``
      per (account, strategy).
    """

    max_qty: int | None = None
    max_notional: Decimal | None = None
    collar_bps: Decimal | None = None
    position_limit: int | None = None
    position_limits: dict[str, int] = field(default_factory=dict)
    rate_limit: int | None = None
    rate_window_ns: int = 1_000_000_000

    def position_limit_for(self, symbol: str) -> int | None:
        return self.position_limits.get(symbol, self.position_limit)


@dataclass(slots=True)
class Trade:
    symbol: str
    price: Decimal
    qty: int
    ts_ns: int
    aggressor_side: str
    buy_order_id: str
    sell_order_id: str


@dataclass(slots=True)
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


@dataclass(slots=True)
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
