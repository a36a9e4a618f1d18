"""Order bookkeeping shared by the reference executors: ids, order states, acks and resends.

An order is *pending* from the moment it is emitted until the gateway or venue answers for it
(ExecReport, or a RiskCheck reject); *live* while it rests; *done* once terminal. After an order
session comes back up (``Session`` ``link_up``), every still-pending order is resent with
``resend: true`` — the gateway drops resends of cl_ord_ids it has already seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from adapters.strategies.base import Context, Emitted, EventView, Ref, Stage

TERMINAL = frozenset({"FILL", "FILLED", "CANCELED", "REJECTED", "EXPIRED", "DONE_FOR_DAY"})


@dataclass
class OrderState:
    cl_ord_id: str
    symbol: str
    side: str
    qty: int
    price: str | None
    tif: str
    status: str  # pending | live | done
    payload: dict[str, Any]
    cum_qty: int = 0


class OrderExecutor(Stage):
    """Base executor: subclasses decide what to send on ``PlanDelta``; this keeps the books."""

    name = "executor"
    consumes: ClassVar[frozenset[str]] = frozenset(
        {"PlanDelta", "ExecReport", "RiskCheck", "Session", "MDTick"}
    )

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.orders: dict[str, OrderState] = {}
        self.n_orders = 0
        self.session_up = True

    # -- sending -------------------------------------------------------------------------
    def next_id(self) -> str:
        self.n_orders += 1
        return f"{self.params['id_prefix']}-{self.n_orders:06d}"

    def send(
        self,
        ctx: Context,
        action: str,
        symbol: str,
        side: str,
        qty: int,
        price: str | None,
        tif: str,
        parents: list[Ref],
        orig: str | None = None,
    ) -> str:
        cl = self.next_id()
        payload: dict[str, Any] = {
            "action": action,
            "side": side,
            "qty": qty,
            "price": price,
            "type": "LIMIT" if price is not None else "MARKET",
            "tif": tif,
            "account": self.params["account"],
        }
        keys = {"symbol": symbol, "cl_ord_id": cl}
        if orig is not None:
            keys["orig_cl_ord_id"] = orig
        ctx.emit(Emitted("Order", "executor", keys, payload, parents))
        self.orders[cl] = OrderState(cl, symbol, side, qty, price, tif, "pending", payload)
        return cl

    # -- bookkeeping ---------------------------------------------------------------------
    def finish(self, st: OrderState) -> None:
        """Forget a terminal order (keeps ``orders`` small: lookups stay O(working orders))."""
        st.status = "done"
        self.orders.pop(st.cl_ord_id, None)

    def on_event(self, ev: EventView, ctx: Context) -> None:
        kind = ev.kind
        if kind == "ExecReport":
            self.on_report(ev)
        elif kind == "RiskCheck":
            if ev.payload.get("result") == "reject":
                st = self.orders.get(ev.keys.get("cl_ord_id", ""))
                if st is not None:
                    self.finish(st)
        elif kind == "Session":
            self.on_session(ev, ctx)
        elif kind == "MDTick":
            self.on_tick(ev, ctx)
        elif kind == "PlanDelta":
            self.on_plan(ev, ctx)

    def on_report(self, ev: EventView) -> None:
        p = ev.payload
        cl = ev.keys.get("cl_ord_id", "")
        st = self.orders.get(cl)
        if st is None:
            return
        et = p.get("exec_type", "")
        if et == "REPLACED":
            orig = self.orders.get(ev.keys.get("orig_cl_ord_id", ""))
            if orig is not None:
                self.finish(orig)
        if et == "CANCEL_REJECT":
            self.finish(st)
            return
        st.cum_qty = int(p.get("cum_qty", st.cum_qty))
        if et in TERMINAL or p.get("ord_status") in TERMINAL or int(p.get("leaves_qty", 1)) == 0:
            self.finish(st)
            orig = self.orders.get(ev.keys.get("orig_cl_ord_id", ""))
            if et == "CANCELED" and orig is not None:
                self.finish(orig)
        else:
            st.status = "live"

    def on_session(self, ev: EventView, ctx: Context) -> None:
        if ev.payload.get("event") == "link_down":
            self.session_up = False
            return
        if ev.payload.get("event") != "link_up":
            return
        self.session_up = True
        for st in list(self.orders.values()):
            if st.status == "pending":
                keys = {"symbol": st.symbol, "cl_ord_id": st.cl_ord_id}
                payload = {**st.payload, "resend": True}
                ctx.emit(Emitted("Order", "executor", keys, payload, [ev.ref]))

    def working(self, symbol: str, side: str) -> OrderState | None:
        """The newest not-done order on a side (new or replace), if any."""
        for st in reversed(self.orders.values()):
            if (
                st.symbol == symbol
                and st.side == side
                and st.status != "done"
                and st.payload["action"] != "cancel"
            ):
                return st
        return None

    def on_tick(self, ev: EventView, ctx: Context) -> None:
        """Subclasses that price off the book override this."""

    def on_plan(self, ev: EventView, ctx: Context) -> None:
        raise NotImplementedError
