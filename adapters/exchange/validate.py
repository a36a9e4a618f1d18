"""What is wrong with a request a caller built ("" when nothing is): the venue's and the risk
gateway's first check of every order, cancel and replace.

Compiled with mypyc (a simulated run checks tens of thousands of orders). The requests may hold
values of any type, so every parameter is ``Any``: compiled code checks a value against its declared
type as it reads it, and a malformed request must get a reason here, not a TypeError.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .types import LIMIT, ORD_TYPES, SIDES, TIFS, NewOrder


def _bad_price(p: Any) -> bool:
    return not isinstance(p, Decimal) or not p.is_finite() or p <= 0


def _not_text(name: str, value: Any) -> str:
    return f"invalid {name} {value!r}: must be text"


def request_error(req: Any) -> str:
    """Identifiers that are not text: ClOrdID, OrigClOrdID (cancels and replaces), symbol,
    account and strategy must be strings (an empty account or strategy is allowed; an empty
    ClOrdID or symbol is the caller's check)."""
    if not isinstance(req.cl_ord_id, str):
        return _not_text("cl_ord_id", req.cl_ord_id)
    if not isinstance(req, NewOrder) and not isinstance(req.orig_cl_ord_id, str):
        return _not_text("orig_cl_ord_id", req.orig_cl_ord_id)
    if not isinstance(req.symbol, str):
        return _not_text("symbol", req.symbol)
    if not isinstance(req.account, str):
        return _not_text("account", req.account)
    if not isinstance(req.strategy, str):
        return _not_text("strategy", req.strategy)
    return ""


def order_error(order: Any) -> str:
    """Why a new order is malformed; ClOrdID uniqueness is the venue's to check."""
    error = request_error(order)
    if error:
        return error
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
    qty = order.qty
    if type(qty) is not int or qty <= 0:
        return f"invalid quantity {qty!r}"
    if order.ord_type == LIMIT:
        if _bad_price(order.price):
            return f"invalid limit price {order.price!r}"
    elif order.price is not None:
        return "market order must not carry a price"
    return ""


def replace_error(req: Any) -> str:
    """Why a cancel/replace request is malformed."""
    error = request_error(req)
    if error:
        return error
    qty = req.qty
    if type(qty) is not int or qty <= 0:
        return f"invalid quantity {qty!r}"
    if req.price is not None and _bad_price(req.price):
        return f"invalid price {req.price!r}"
    return ""
