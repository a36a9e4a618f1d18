"""Lifecycle replay for captures with no strategy code (FIX-only): rebuild each order's state machine.

Orders are identified by ``order_id`` when the venue gives one, else by the root of the
ClOrdID/OrigClOrdID chain. For every ExecReport (in merged order) the order's state moves by its
``exec_type``/``ord_status``; the checks flag:
- ``invalid_transition``: a report that cannot follow the current state (e.g. anything but a
  cancel-reject or status report after FILLED, CANCELED, REJECTED, EXPIRED);
- ``fill_after_cancel``: a fill on an order already canceled;
- ``qty_mismatch``: CumQty + LeavesQty != OrderQty on a working order;
- ``cum_qty_decreased``: CumQty went down;
- ``fills_mismatch``: the sum of fill quantities (Fill events, else report LastQty) differs from CumQty.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from replay.merge import Ev

TERMINAL = frozenset({"FILLED", "CANCELED", "REJECTED", "EXPIRED", "DONE_FOR_DAY"})
FILL_TYPES = frozenset({"FILL", "PARTIAL_FILL", "TRADE"})
# exec_type -> the state it leads to (ord_status wins when present).
EXEC_STATE = {
    "PENDING_NEW": "PENDING_NEW",
    "NEW": "NEW",
    "PARTIAL_FILL": "PARTIALLY_FILLED",
    "FILL": "FILLED",
    "CANCELED": "CANCELED",
    "REPLACED": "NEW",
    "PENDING_CANCEL": "PENDING_CANCEL",
    "PENDING_REPLACE": "PENDING_REPLACE",
    "REJECTED": "REJECTED",
    "EXPIRED": "EXPIRED",
    "DONE_FOR_DAY": "DONE_FOR_DAY",
}
# Reports that say something about the order without changing its state.
NEUTRAL = frozenset({"CANCEL_REJECT", "ORDER_STATUS", "RESTATED", "TRADE_CORRECT", "TRADE_CANCEL"})


@dataclass
class Issue:
    rule: str
    ref: tuple[str, int]
    order: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "reason": self.rule,
            "ref": f"{self.ref[0]}:{self.ref[1]}",
            "order": self.order,
            "message": self.message,
            "kind": "ExecReport",
            "stage": "lifecycle",
        }


@dataclass
class OrderBook:
    key: str
    state: str = "NONE"
    order_qty: int | None = None
    cum_qty: int = 0
    fills: int = 0
    fill_events: int = 0
    history: list[str] = field(default_factory=list)
    last_ref: tuple[str, int] = ("", 0)


@dataclass
class Result:
    orders: int
    reports: int
    issues: list[Issue]
    books: dict[str, OrderBook]


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def check(events: Iterable[Ev]) -> Result:
    """Walk ExecReports, Fills and Orders in (merged) order and check every order's lifecycle."""
    root: dict[str, str] = {}  # cl_ord_id -> order key
    by_order_id: dict[str, str] = {}
    books: dict[str, OrderBook] = {}
    issues: list[Issue] = []
    reports = 0

    def key_for(ev: Ev) -> str:
        k = ev.keys
        oid, cl, orig = k.get("order_id", ""), k.get("cl_ord_id", ""), k.get("orig_cl_ord_id", "")
        key = by_order_id.get(oid) if oid else None
        key = key or (root.get(orig) if orig else None) or root.get(cl) or oid or cl or orig
        if not key:
            key = f"{ev.capture}:{ev.seq}"
        for ident in (cl, orig):
            if ident:
                root.setdefault(ident, key)
        if oid:
            by_order_id.setdefault(oid, key)
        return key

    for ev in events:
        if ev.kind == "Order":
            key = key_for(ev)
            b = books.setdefault(key, OrderBook(key))
            if ev.payload.get("action", "new") in ("new", "replace"):
                q = _int(ev.payload.get("qty"))
                if q is not None:
                    b.order_qty = q
            continue
        if ev.kind == "Fill":
            key = key_for(ev)
            b = books.setdefault(key, OrderBook(key))
            b.fill_events += _int(ev.payload.get("last_qty")) or 0
            b.last_ref = ev.ref
            if b.state == "CANCELED":
                issues.append(
                    Issue("fill_after_cancel", ev.ref, key, "fill after the order was canceled")
                )
            continue
        if ev.kind != "ExecReport":
            continue
        reports += 1
        key = key_for(ev)
        b = books.setdefault(key, OrderBook(key))
        issues.extend(_step(b, ev))
        b.last_ref = ev.ref
    for b in books.values():
        filled = b.fill_events or b.fills
        if (b.fill_events or b.fills) and filled != b.cum_qty:
            issues.append(
                Issue(
                    "fills_mismatch",
                    b.last_ref,
                    b.key,
                    f"fills sum to {filled} but CumQty is {b.cum_qty}",
                )
            )
    return Result(len(books), reports, issues, books)


def _step(b: OrderBook, ev: Ev) -> list[Issue]:
    p = ev.payload
    et = str(p.get("exec_type", "")).upper()
    out: list[Issue] = []
    if et in NEUTRAL:
        return out

    def flag(rule: str, msg: str) -> None:
        out.append(Issue(rule, ev.ref, b.key, msg))

    status = str(p.get("ord_status") or EXEC_STATE.get(et, "")).upper()
    prev = b.state
    if et in FILL_TYPES and prev == "CANCELED":
        flag("fill_after_cancel", f"{et} after the order was canceled")
    elif prev in TERMINAL and et != "REPLACED":
        flag("invalid_transition", f"{et or status} after terminal state {prev}")
    elif prev == "NONE" and et in ("CANCELED", "REPLACED", "PENDING_CANCEL", "PENDING_REPLACE"):
        flag("invalid_transition", f"{et} for an order never acknowledged")
    b.history.append(status or et)
    if status:
        b.state = status
    oq = _int(p.get("order_qty"))
    if oq is not None:
        b.order_qty = oq
    cum = _int(p.get("cum_qty"))
    leaves = _int(p.get("leaves_qty"))
    if et in FILL_TYPES:
        b.fills += _int(p.get("last_qty")) or 0
    if cum is not None:
        if cum < b.cum_qty:
            flag("cum_qty_decreased", f"CumQty fell from {b.cum_qty} to {cum}")
        b.cum_qty = cum
    working = b.state not in TERMINAL or b.state == "FILLED"
    known = cum is not None and leaves is not None and b.order_qty is not None
    if working and known and cum + leaves != b.order_qty:  # type: ignore[operator]
        flag(
            "qty_mismatch",
            f"CumQty {cum} + LeavesQty {leaves} != OrderQty {b.order_qty} in state {b.state}",
        )
    return out
