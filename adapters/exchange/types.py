"""Plain value types of the exchange-gateway sandbox and their capture-format payloads.

Prices are ``Decimal``, quantities ``int``, timestamps integer nanoseconds. Enumerations are plain
strings (not ``Enum``) so payloads serialise with any JSON encoder and compare cheaply.
``to_payload()`` gives the capture-format payload of the matching event kind (prices as decimal
strings); ``to_keys()`` gives the event's correlation keys.

The requests (NewOrder, CancelRequest, ReplaceRequest) are what callers build, so they take any
value, and ``validate.py`` says what is wrong with one; the venue's outputs live in the compiled
``reports.py`` and are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# Re-exported: the venue's outputs are imported from here as much as the requests are.
from .reports import BookSnapshot as BookSnapshot
from .reports import ExecReport as ExecReport
from .reports import MDUpdate as MDUpdate
from .reports import RiskResult as RiskResult
from .reports import Trade as Trade
from .reports import px as px

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


def _text(value: object) -> str:
    """A request's identifier as report text: as given when text, else its repr."""
    return value if isinstance(value, str) else repr(value)


def reject_report(
    venue: str,
    exec_id: str,
    req: NewOrder | CancelRequest | ReplaceRequest,
    ts_ns: int,
    text: str,
    exec_type: str = ET_REJECTED,
) -> ExecReport:
    """The report for a request that created or changed no order (OrderID ``NONE``). The request
    may be malformed: only well-typed values go into the report (a non-text identifier as its
    repr, a quantity that is not an int as 0, a price that is not a Decimal as none); ``text``
    says what was wrong."""
    new = req if isinstance(req, NewOrder) else None
    qty = new.qty if new is not None and type(new.qty) is int else 0
    price = new.price if new is not None and isinstance(new.price, Decimal) else None
    return ExecReport(
        venue,
        "NONE",
        exec_id,
        _text(req.cl_ord_id),
        _text(req.symbol),
        _text(new.side) if new else "",
        exec_type,
        OS_REJECTED,
        qty,
        0,
        0,
        Decimal(0),
        ts_ns,
        price,
        _text(new.ord_type) if new else LIMIT,
        _text(new.tif) if new else DAY,
        orig_cl_ord_id="" if new else _text(req.orig_cl_ord_id),  # type: ignore[union-attr]
        account=_text(req.account),
        strategy=_text(req.strategy),
        text=text,
    )


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
