"""A pre-trade risk gateway in front of a MatchingEngine.

Every new order (and every replace) runs the rules in ``types.RULES`` order; each configured rule
yields a ``RiskResult`` (the payload of a RiskCheck event), all rules run so the record shows every
breach, and an order with any reject never reaches the engine: the caller gets a REJECTED report
(replace: CANCEL_REJECT) naming the rules in ``text``. Cancels are never checked or throttled:
reducing risk must always be possible.

The gateway follows its own orders' reports through ``engine.subscribe``, so fills caused by other
participants' orders still move its positions and open quantities.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from decimal import Context, Decimal
from typing import Any, Protocol

from .engine import Listener
from .types import (
    BUY,
    ET_CANCEL_REJECT,
    KILL_SCOPES,
    LIMIT,
    OS_CANCELED,
    OS_FILLED,
    OS_REJECTED,
    CancelRequest,
    ExecReport,
    NewOrder,
    ReplaceRequest,
    RiskLimits,
    RiskResult,
    Trade,
    reject_report,
)
from .validate import order_error, replace_error, request_error


class Venue(Protocol):
    """What the gateway needs of the venue behind it: a MatchingEngine, or a stand-in for one
    reached over a network (the testbed's gateway host)."""

    venue: str

    def subscribe(self, listener: Listener) -> None: ...
    def submit(self, order: NewOrder, ts_ns: int) -> list[ExecReport]: ...
    def cancel(self, req: CancelRequest, ts_ns: int) -> list[ExecReport]: ...
    def replace(self, req: ReplaceRequest, ts_ns: int) -> list[ExecReport]: ...
    def order(self, cl_ord_id: str) -> ExecReport | None: ...
    def last_trade(self, symbol: str) -> Trade | None: ...
    def top_of_book(self, symbol: str) -> tuple[Decimal | None, int, Decimal | None, int]: ...


_BPS = Decimal(10000)
_CENT = Decimal("0.01")
_CTX = Context(prec=28)  # fixed, so results do not depend on the caller's decimal context
PASS = "pass"
REJECT = "reject"


class _Labels:
    """The limit strings of one RiskLimits, formatted once rather than per order."""

    __slots__ = ("collar", "notional", "qty", "rate")

    def __init__(self, lim: RiskLimits) -> None:
        self.rate = f"{lim.rate_limit}/{lim.rate_window_ns}ns"
        self.qty = str(lim.max_qty)
        self.notional = str(lim.max_notional)
        self.collar = f"{lim.collar_bps}bps"


class _Tracked:
    """The gateway's view of one of its live orders."""

    __slots__ = ("account", "cl_ord_id", "leaves", "side", "strategy")

    def __init__(self, order: NewOrder) -> None:
        self.cl_ord_id = order.cl_ord_id
        self.side = order.side
        self.account = order.account
        self.strategy = order.strategy
        self.leaves = order.qty


class RiskGateway:
    def __init__(self, engine: Venue, limits: RiskLimits, name: str = "RISK") -> None:
        self.engine = engine
        self.limits = limits
        self.name = name
        self._kill: dict[tuple[str, str], str] = {}
        self._positions: dict[str, int] = {}
        self._open_qty: dict[tuple[str, str], int] = {}  # (symbol, side) -> open leaves
        self._orders: dict[str, tuple[str, _Tracked]] = {}  # order_id -> (symbol, state)
        # Forwarded orders the venue has not answered yet, by ClOrdID: they already count as open,
        # so a burst in flight to a remote venue cannot overrun the position limit.
        self._pending: dict[str, tuple[str, _Tracked]] = {}
        self._rate: dict[tuple[str, str], deque[int]] = {}
        self._refs: dict[str, Decimal] = {}
        self._n_exec = 0
        self._n_kill = 0
        self._labels = _Labels(limits)
        self._labels_for = limits
        engine.subscribe(self._on_report)

    # ---- configuration ------------------------------------------------------------------------

    def update_limits(self, limits: RiskLimits | None = None, **changes: Any) -> RiskLimits:
        """Replace the limits (governance triggers call this); returns the limits now in force."""
        self.limits = dataclasses.replace(limits or self.limits, **changes)
        return self.limits

    def set_reference_price(self, symbol: str, price: Decimal) -> None:
        """Collar/notional reference for a symbol that has not traded yet."""
        self._refs[symbol] = price

    def engage_kill_switch(
        self, scope: str, value: str, reason: str, ts_ns: int = 0, cancel_open: bool = True
    ) -> list[ExecReport]:
        """Block new orders and replaces in scope (venue, strategy, symbol or account) and, unless
        ``cancel_open`` is False, cancel this gateway's open orders in scope; returns the cancels."""
        if scope not in KILL_SCOPES:
            raise ValueError(f"kill switch scope must be one of {KILL_SCOPES}, not {scope!r}")
        self._kill[(scope, value)] = reason or "kill switch"
        reports: list[ExecReport] = []
        if not cancel_open:
            return reports
        for symbol, st in [*self._orders.values(), *self._pending.values()]:
            if self._in_scope(scope, value, symbol, st.account, st.strategy) and st.leaves:
                self._n_kill += 1
                req = CancelRequest(
                    f"{self.name}-KILL-{self._n_kill}",
                    st.cl_ord_id,
                    symbol,
                    st.account,
                    st.strategy,
                )
                for r in self.engine.cancel(req, ts_ns):
                    r.text = r.text or f"kill switch {scope}={value}: {reason}"
                    reports.append(r)
        return reports

    def release_kill_switch(self, scope: str, value: str, reason: str = "") -> bool:
        """Lift a kill switch; False when it was not engaged."""
        return self._kill.pop((scope, value), None) is not None

    def kill_switches(self) -> list[tuple[str, str, str]]:
        """Engaged switches as (scope, value, reason), sorted."""
        return sorted((s, v, r) for (s, v), r in self._kill.items())

    def position(self, symbol: str) -> int:
        return self._positions.get(symbol, 0)

    def open_qty(self, symbol: str, side: str) -> int:
        return self._open_qty.get((symbol, side), 0)

    # ---- order flow ---------------------------------------------------------------------------

    def submit(self, order: NewOrder, ts_ns: int) -> tuple[list[RiskResult], list[ExecReport]]:
        """Check and forward a new order. A malformed order is rejected here without checks."""
        error = order_error(order)
        if error:
            return [], [reject_report(self.engine.venue, self._exec_id(), order, ts_ns, error)]
        results = self._check(
            order.cl_ord_id,
            order.symbol,
            order.side,
            order.qty,
            order.price if order.ord_type == LIMIT else None,
            order.account,
            order.strategy,
            ts_ns,
            extra_qty=order.qty,
        )
        if any(r.result == REJECT for r in results):
            reject = reject_report(
                self.engine.venue, self._exec_id(), order, ts_ns, self._text(results)
            )
            return results, [reject]
        self._count(order.account, order.strategy, ts_ns)
        if order.cl_ord_id not in self._pending:  # a duplicate is the venue's to reject
            self._pending[order.cl_ord_id] = (order.symbol, _Tracked(order))
            key = (order.symbol, order.side)
            self._open_qty[key] = self._open_qty.get(key, 0) + order.qty
        return results, self.engine.submit(order, ts_ns)

    def cancel(self, req: CancelRequest, ts_ns: int) -> list[ExecReport]:
        return self.engine.cancel(req, ts_ns)

    def replace(self, req: ReplaceRequest, ts_ns: int) -> list[ExecReport]:
        return self.replace_with_checks(req, ts_ns)[1]

    def replace_with_checks(
        self, req: ReplaceRequest, ts_ns: int
    ) -> tuple[list[RiskResult], list[ExecReport]]:
        """Replace with the same checks as a new order (the position check counts only the added
        open quantity). Requests for orders the venue does not know or has finished go straight
        to it, which rejects them. So do malformed requests: the venue rejects them with the reason."""
        if request_error(req):  # identifiers that are not text: the venue rejects it, saying so
            return [], self.engine.replace(req, ts_ns)
        cur = self.engine.order(req.orig_cl_ord_id)
        if cur is None or not cur.leaves_qty or replace_error(req):
            return [], self.engine.replace(req, ts_ns)
        price = req.price if req.price is not None else cur.price
        added = max(0, (req.qty - cur.cum_qty) - cur.leaves_qty)
        results = self._check(
            req.cl_ord_id,
            req.symbol,
            cur.side,
            req.qty,
            price,
            cur.account,
            cur.strategy,
            ts_ns,
            extra_qty=added,
        )
        if any(r.result == REJECT for r in results):
            return results, [self._replace_reject(req, cur, ts_ns, self._text(results))]
        self._count(cur.account, cur.strategy, ts_ns)
        return results, self.engine.replace(req, ts_ns)

    # ---- rules --------------------------------------------------------------------------------

    def _check(
        self,
        cl_ord_id: str,
        symbol: str,
        side: str,
        qty: int,
        price: Decimal | None,
        account: str,
        strategy: str,
        ts_ns: int,
        extra_qty: int,
    ) -> list[RiskResult]:
        lim = self.limits
        if lim is not self._labels_for:
            self._labels = _Labels(lim)
            self._labels_for = lim
        labels = self._labels
        out: list[RiskResult] = []
        add = out.append

        if self._kill:
            hits = [
                f"{s}={v}: {r}"
                for (s, v), r in sorted(self._kill.items())
                if self._in_scope(s, v, symbol, account, strategy)
            ]
        else:
            hits = []
        if hits:
            observed = "; ".join(hits)
            add(RiskResult("kill_switch", REJECT, "engaged", observed, cl_ord_id, symbol, ts_ns))
        else:
            add(RiskResult("kill_switch", PASS, "none", "clear", cl_ord_id, symbol, ts_ns))

        if lim.rate_limit is not None:
            n = len(self._window(account, strategy, ts_ns)) + 1
            add(
                RiskResult(
                    "order_rate",
                    PASS if n <= lim.rate_limit else REJECT,
                    labels.rate,
                    str(n),
                    cl_ord_id,
                    symbol,
                    ts_ns,
                )
            )

        if lim.max_qty is not None:
            ok = qty <= lim.max_qty
            r = RiskResult(
                "max_qty", PASS if ok else REJECT, labels.qty, str(qty), cl_ord_id, symbol, ts_ns
            )
            add(r)

        if lim.max_notional is not None:
            ref = price if price is not None else self._market_reference(symbol, side)
            if ref is None:
                add(
                    RiskResult(
                        "max_notional",
                        REJECT,
                        labels.notional,
                        "unknown",
                        cl_ord_id,
                        symbol,
                        ts_ns,
                        "no reference price",
                    )
                )
            else:
                notional = _CTX.multiply(ref, qty)
                ok = notional <= lim.max_notional
                add(
                    RiskResult(
                        "max_notional",
                        PASS if ok else REJECT,
                        labels.notional,
                        str(notional),
                        cl_ord_id,
                        symbol,
                        ts_ns,
                    )
                )

        if lim.collar_bps is not None:
            last = self.engine.last_trade(symbol)
            ref = last.price if last else self._refs.get(symbol)
            if price is None or ref is None:
                why = "market order has no price" if price is None else "no reference price"
                add(
                    RiskResult(
                        "price_collar", PASS, labels.collar, "n/a", cl_ord_id, symbol, ts_ns, why
                    )
                )
            else:
                # Compare the exact deviation; only the reported figure is rounded.
                dev = _CTX.divide(_CTX.multiply(_CTX.abs(_CTX.subtract(price, ref)), _BPS), ref)
                add(
                    RiskResult(
                        "price_collar",
                        PASS if dev <= lim.collar_bps else REJECT,
                        labels.collar,
                        f"{dev.quantize(_CENT, context=_CTX)}bps",
                        cl_ord_id,
                        symbol,
                        ts_ns,
                        f"{price} vs {ref}",
                    )
                )

        pos_limit = lim.position_limits.get(symbol, lim.position_limit)
        if pos_limit is not None:
            pos = self._positions.get(symbol, 0)
            if side == BUY:
                worst = pos + self._open_qty.get((symbol, side), 0) + extra_qty
                ok = worst <= pos_limit
            else:
                worst = pos - self._open_qty.get((symbol, side), 0) - extra_qty
                ok = worst >= -pos_limit
            add(
                RiskResult(
                    "position_limit",
                    PASS if ok else REJECT,
                    str(pos_limit),
                    str(worst),
                    cl_ord_id,
                    symbol,
                    ts_ns,
                )
            )
        return out

    def _window(self, account: str, strategy: str, ts_ns: int) -> deque[int]:
        window = self._rate.get((account, strategy))
        if window is None:
            window = self._rate[(account, strategy)] = deque()
        start = ts_ns - self.limits.rate_window_ns
        while window and window[0] <= start:
            window.popleft()
        return window

    def _count(self, account: str, strategy: str, ts_ns: int) -> None:
        if self.limits.rate_limit is not None:
            self._window(account, strategy, ts_ns).append(ts_ns)

    def _market_reference(self, symbol: str, side: str) -> Decimal | None:
        bid, _, ask, _ = self.engine.top_of_book(symbol)
        best = ask if side == BUY else bid
        if best is not None:
            return best
        last = self.engine.last_trade(symbol)
        return last.price if last else self._refs.get(symbol)

    def _in_scope(self, scope: str, value: str, symbol: str, account: str, strategy: str) -> bool:
        if scope == "venue":
            return value == self.engine.venue
        if scope == "symbol":
            return value == symbol
        if scope == "strategy":
            return value == strategy
        return value == account

    # ---- reports ------------------------------------------------------------------------------

    @staticmethod
    def _text(results: list[RiskResult]) -> str:
        return "risk reject: " + "; ".join(
            f"{r.rule} (limit {r.limit}, observed {r.observed})" for r in results if not r.passed
        )

    def _exec_id(self) -> str:
        self._n_exec += 1
        return f"{self.name}-E{self._n_exec}"

    def _replace_reject(
        self, req: ReplaceRequest, current: ExecReport, ts_ns: int, text: str
    ) -> ExecReport:
        current.exec_type = ET_CANCEL_REJECT
        current.exec_id = self._exec_id()
        current.cl_ord_id = req.cl_ord_id
        current.orig_cl_ord_id = req.orig_cl_ord_id
        current.ts_ns = ts_ns
        current.text = text
        return current

    def _on_report(self, r: ExecReport) -> None:
        entry = self._orders.get(r.order_id)
        if entry is None:
            entry = self._pending.pop(r.cl_ord_id, None)
            if entry is None:
                return
            if r.order_id == "NONE":  # rejected by the venue: no longer open
                symbol, st = entry
                self._open_qty[(symbol, st.side)] -= st.leaves
                return
            self._orders[r.order_id] = entry
        symbol, st = entry
        if r.exec_type == ET_CANCEL_REJECT:
            return
        if r.last_qty:
            signed = r.last_qty if r.side == BUY else -r.last_qty
            self._positions[symbol] = self._positions.get(symbol, 0) + signed
        key = (symbol, st.side)
        self._open_qty[key] = self._open_qty.get(key, 0) + r.leaves_qty - st.leaves
        st.leaves = r.leaves_qty
        st.cl_ord_id = r.cl_ord_id
        if not r.leaves_qty and r.ord_status in (OS_FILLED, OS_CANCELED, OS_REJECTED):
            del self._orders[r.order_id]
