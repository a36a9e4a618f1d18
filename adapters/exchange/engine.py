"""A deterministic matching engine: per-symbol books, price-time priority, execution reports.

Semantics (what the tests pin down):
- LIMIT DAY orders match what they cross, then rest. IOC and MARKET orders match and the remainder
  is cancelled (ExecType CANCELED, with the reason in ``text``; a market order meeting an empty
  book is acknowledged and cancelled with "no liquidity"). FOK orders that the book cannot fill
  in full are REJECTED ("FOK not fillable") before they touch the book.
- Trades print at the resting order's price. Each print yields the aggressor's report, then the
  resting order's report (PARTIAL_FILL or FILL, with LastQty/LastPx).
- Cancel/replace: a price change or a quantity increase loses time priority (the order is
  re-queued, and may match if the new price crosses); a quantity decrease keeps it. The new
  quantity is the total order quantity and must exceed the filled quantity.
- Self-match prevention applies when the aggressor and the resting order carry the same
  non-empty ``account``: ``"cancel_aggressor"`` (default) stops matching and cancels the
  aggressor's remainder, ``"cancel_resting"`` cancels the resting order and continues,
  ``"allow"`` lets them trade.
- OrderIDs (``{venue}-O{n}``) and ExecIDs (``{venue}-E{n}``) come from per-engine counters; no
  wall clock is read, so the same calls give the same reports.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Context, Decimal

from .book import BookSide, Order, OrderBook
from .types import (
    BUY,
    DAY,
    ET_CANCEL_REJECT,
    ET_CANCELED,
    ET_FILL,
    ET_NEW,
    ET_PARTIAL_FILL,
    ET_REJECTED,
    ET_REPLACED,
    FOK,
    LIMIT,
    MARKET,
    OS_CANCELED,
    OS_FILLED,
    OS_PARTIALLY_FILLED,
    OS_REJECTED,
    BookSnapshot,
    CancelRequest,
    ExecReport,
    MDUpdate,
    NewOrder,
    ReplaceRequest,
    Trade,
    reject_report,
)
from .validate import order_error, replace_error, request_error

SELF_MATCH_MODES = ("cancel_aggressor", "cancel_resting", "allow")
# A fixed context, so notionals and AvgPx do not depend on the caller's decimal context.
_CTX = Context(prec=28)
_ZERO = Decimal(0)

Listener = Callable[[ExecReport], None]


class MatchingEngine:
    def __init__(
        self, venue: str = "XSIM", self_match: str = "cancel_aggressor", market_data: bool = True
    ) -> None:
        """``market_data=False``: publish no MDUpdates (``drain_market_data`` stays empty), for
        a host that never reads them; reports and book state are the same either way."""
        if self_match not in SELF_MATCH_MODES:
            raise ValueError(f"self_match must be one of {SELF_MATCH_MODES}, not {self_match!r}")
        self.venue = venue
        self.self_match = self_match
        self.market_data = market_data
        self._books: dict[str, OrderBook] = {}
        self._orders: dict[str, Order] = {}  # every ClOrdID an order has had -> the order
        self._by_id: dict[str, Order] = {}
        self._n_order = 0
        self._n_exec = 0
        self._prio = 0
        self._last: dict[str, Trade] = {}
        self._md: list[MDUpdate] = []
        self._listeners: list[Listener] = []

    # ---- public API -------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` with every report, in order (the risk gateway tracks positions so)."""
        self._listeners.append(listener)

    def submit(self, order: NewOrder, ts_ns: int) -> list[ExecReport]:
        # Read untyped: compiled code checks a declared-str attribute as it reads it, and a
        # malformed ClOrdID must be rejected by order_error, not raise TypeError here.
        cl: object = getattr(order, "cl_ord_id")  # noqa: B009
        # ClOrdID uniqueness is the venue's to check; the rest is the order's own shape
        if isinstance(cl, str) and cl and cl in self._orders:
            error = f"duplicate ClOrdID {cl}"
        else:
            error = order_error(order)
        if error:
            return self._emit(
                [reject_report(self.venue, self._next_exec_id(), order, ts_ns, error)]
            )
        self._n_order += 1
        o = Order(
            f"{self.venue}-O{self._n_order}",
            order.cl_ord_id,
            order.symbol,
            order.side,
            order.qty,
            order.price if order.ord_type == LIMIT else None,
            order.ord_type,
            order.tif,
            order.account,
            order.strategy,
        )
        self._orders[o.cl_ord_id] = o
        self._by_id[o.order_id] = o
        book = self._books.get(o.symbol) or self._book(o.symbol)
        before = book.last_top
        if o.tif == FOK and self._fillable(o, book) < o.order_qty:
            o.status = OS_REJECTED
            o.leaves = 0
            text = f"FOK not fillable: {self._fillable(o, book)} available of {o.order_qty}"
            return self._emit([self._report(o, ET_REJECTED, ts_ns, text=text)])
        reports = [self._report(o, ET_NEW, ts_ns)]
        self._execute(o, book, ts_ns, reports)
        self._publish(book, before, reports, ts_ns)
        return self._emit(reports)

    def cancel(self, req: CancelRequest, ts_ns: int) -> list[ExecReport]:
        error = request_error(req)
        if error:
            return self._emit([self._malformed(req, ts_ns, error)])
        o, error = self._target(req.orig_cl_ord_id, req.cl_ord_id, req.symbol, "cancel")
        if error:
            return self._emit([self._cancel_reject(req.cl_ord_id, req, o, ts_ns, error)])
        assert o is not None
        book = self._books[o.symbol]  # o was found, so its book exists
        before = book.last_top
        orig = o.cl_ord_id
        self._rename(o, req.cl_ord_id)
        reports = [self._cancel_order(o, book, ts_ns, "", orig)]
        self._publish(book, before, reports, ts_ns)
        return self._emit(reports)

    def replace(self, req: ReplaceRequest, ts_ns: int) -> list[ExecReport]:
        error = request_error(req)
        if error:
            return self._emit([self._malformed(req, ts_ns, error)])
        o, error = self._target(req.orig_cl_ord_id, req.cl_ord_id, req.symbol, "replace")
        if not error:
            assert o is not None
            error = replace_error(req)
            if not error and req.qty <= o.cum_qty:
                error = f"new quantity {req.qty} must exceed filled quantity {o.cum_qty}"
        if error:
            return self._emit([self._cancel_reject(req.cl_ord_id, req, o, ts_ns, error)])
        assert o is not None and o.price is not None
        book = self._book(o.symbol)
        before = book.last_top
        side = book.side(o.side)
        new_price = o.price if req.price is None else req.price
        keeps_priority = new_price == o.price and req.qty <= o.order_qty
        orig = o.cl_ord_id
        self._rename(o, req.cl_ord_id)
        new_leaves = req.qty - o.cum_qty
        if keeps_priority:
            level = o.level
            assert level is not None
            level.qty += new_leaves - o.leaves
            o.leaves = new_leaves
            o.order_qty = req.qty
            reports = [self._report(o, ET_REPLACED, ts_ns, orig=orig)]
        else:
            side.remove(o)
            o.leaves = new_leaves
            o.order_qty = req.qty
            o.price = new_price
            reports = [self._report(o, ET_REPLACED, ts_ns, orig=orig)]
            self._execute(o, book, ts_ns, reports)
        self._publish(book, before, reports, ts_ns)
        return self._emit(reports)

    def top_of_book(self, symbol: str) -> tuple[Decimal | None, int, Decimal | None, int]:
        """(bid, bid_size, ask, ask_size) with aggregated sizes; an empty side is (None, 0)."""
        book = self._books.get(symbol)
        return book.top() if book else (None, 0, None, 0)

    def depth(self, symbol: str, levels: int = 5) -> BookSnapshot:
        book = self._books.get(symbol)
        if book is None:
            return BookSnapshot(symbol, [], [])
        return BookSnapshot(symbol, book.bids.depth(levels), book.asks.depth(levels))

    def last_trade(self, symbol: str) -> Trade | None:
        return self._last.get(symbol)

    def drain_market_data(self) -> list[MDUpdate]:
        """Market-data updates since the last drain: one per event that changed a symbol's top
        of book or traded, in event order."""
        md, self._md = self._md, []
        return md

    def order(self, cl_ord_id: str) -> ExecReport | None:
        """The current state of an order (by any ClOrdID it has had) as an ``ORDER_STATUS``
        report (no ExecID, ``ts_ns`` 0); ``None`` for an unknown ClOrdID."""
        o = self._orders.get(cl_ord_id)
        if o is None:
            return None
        return self._snapshot(o, "ORDER_STATUS", 0)

    def open_orders(self, symbol: str | None = None) -> list[str]:
        """OrderIDs of resting orders, in arrival order of their OrderIDs (deterministic)."""
        return [
            oid
            for oid, o in self._by_id.items()
            if o.level is not None and (symbol is None or o.symbol == symbol)
        ]

    def symbols(self) -> list[str]:
        return sorted(self._books)

    # ---- matching -----------------------------------------------------------------------------

    def _execute(self, o: Order, book: OrderBook, ts_ns: int, reports: list[ExecReport]) -> None:
        """Match ``o`` against the book, then rest it or cancel the remainder."""
        stopped = self._match(o, book, ts_ns, reports)
        if not o.leaves:
            return
        if stopped:
            reports.append(self._cancel_order(o, book, ts_ns, "self-match prevention"))
        elif o.ord_type == MARKET:
            text = "no liquidity" if o.cum_qty == 0 else "market order remainder: no liquidity"
            reports.append(self._cancel_order(o, book, ts_ns, text))
        elif o.tif != DAY:
            reports.append(self._cancel_order(o, book, ts_ns, f"{o.tif} remainder"))
        else:
            self._prio += 1
            book.side(o.side).add(o, self._prio)

    def _match(self, o: Order, book: OrderBook, ts_ns: int, reports: list[ExecReport]) -> bool:
        """Trade ``o`` against the opposite side; True when self-match prevention stopped it."""
        opp = book.opposite(o.side)
        is_buy = o.side == BUY
        limit = o.price
        stp = self.self_match != "allow" and o.account
        while o.leaves:
            level = opp.best()
            if level is None:
                break
            price = level.price
            if limit is not None and (price > limit if is_buy else price < limit):
                break
            while o.leaves:
                r = level.head()
                if r is None:
                    break
                if stp and r.account == o.account:
                    if self.self_match == "cancel_aggressor":
                        return True
                    reports.append(self._cancel_order(r, book, ts_ns, "self-match prevention"))
                    if level.count == 0:
                        break
                    continue
                q = o.leaves if o.leaves < r.leaves else r.leaves
                notional = _CTX.multiply(price, q)
                o.leaves -= q
                o.cum_qty += q
                o.notional = _CTX.add(o.notional, notional)
                r.leaves -= q
                r.cum_qty += q
                r.notional = _CTX.add(r.notional, notional)
                level.qty -= q
                if r.leaves == 0:
                    level.orders.popleft()
                    level.count -= 1
                    r.level = None
                    r.status = OS_FILLED
                else:
                    r.status = OS_PARTIALLY_FILLED
                o.status = OS_FILLED if o.leaves == 0 else OS_PARTIALLY_FILLED
                buy, sell = (o, r) if is_buy else (r, o)
                self._last[o.symbol] = Trade(
                    o.symbol, price, q, ts_ns, o.side, buy.order_id, sell.order_id
                )
                reports.append(self._fill(o, ts_ns, q, price))
                reports.append(self._fill(r, ts_ns, q, price))
            if level.count == 0 and opp.levels.get(level.key) is level:
                opp.drop(level)
        return False

    def _fillable(self, o: Order, book: OrderBook) -> int:
        """Quantity ``o`` could trade right now (for FOK), honouring self-match prevention."""
        opp: BookSide = book.opposite(o.side)
        limit = o.price
        stp = self.self_match != "allow" and o.account
        total = 0
        for level in opp.iter_levels():
            if limit is not None and (
                level.price > limit if o.side == BUY else level.price < limit
            ):
                break
            if not stp:
                total += level.qty
            else:
                for r in level.live_orders():
                    if r.account == o.account:
                        if self.self_match == "cancel_aggressor":
                            return total
                        continue
                    total += r.leaves
            if total >= o.order_qty:
                break
        return total

    def _cancel_order(
        self, o: Order, book: OrderBook, ts_ns: int, text: str, orig: str = ""
    ) -> ExecReport:
        if o.level is not None:
            book.side(o.side).remove(o)
        o.leaves = 0
        o.status = OS_CANCELED
        return self._report(o, ET_CANCELED, ts_ns, text=text, orig=orig)

    # ---- validation -------------------------------------------------------------------------

    def _target(
        self, orig_cl_ord_id: str, cl_ord_id: str, symbol: str, what: str
    ) -> tuple[Order | None, str]:
        o = self._orders.get(orig_cl_ord_id)
        if o is None:
            return None, f"unknown order {orig_cl_ord_id}"
        if not cl_ord_id:
            return o, "missing ClOrdID"
        if cl_ord_id in self._orders:
            return o, f"duplicate ClOrdID {cl_ord_id}"
        if symbol != o.symbol:
            return o, f"symbol {symbol} does not match order symbol {o.symbol}"
        if o.level is None:
            return o, f"too late to {what}: order is {o.status}"
        return o, ""

    def _rename(self, o: Order, cl_ord_id: str) -> None:
        o.cl_ord_id = cl_ord_id
        self._orders[cl_ord_id] = o

    # ---- reports and market data --------------------------------------------------------------

    def _next_exec_id(self) -> str:
        self._n_exec += 1
        return f"{self.venue}-E{self._n_exec}"

    def _report(
        self, o: Order, exec_type: str, ts_ns: int, text: str = "", orig: str = ""
    ) -> ExecReport:
        # _snapshot with no trade, spelled out: one report per engine event on the hot path.
        self._n_exec += 1
        cum = o.cum_qty
        return ExecReport(
            self.venue,
            o.order_id,
            f"{self.venue}-E{self._n_exec}",
            o.cl_ord_id,
            o.symbol,
            o.side,
            exec_type,
            o.status,
            o.order_qty,
            cum,
            o.leaves,
            _CTX.divide(o.notional, cum) if cum else _ZERO,
            ts_ns,
            o.price,
            o.ord_type,
            o.tif,
            0,
            None,
            orig,
            o.account,
            o.strategy,
            text,
        )

    def _snapshot(
        self,
        o: Order,
        exec_type: str,
        ts_ns: int,
        last_qty: int = 0,
        last_px: Decimal | None = None,
        text: str = "",
        orig: str = "",
    ) -> ExecReport:
        cum = o.cum_qty
        return ExecReport(
            self.venue,
            o.order_id,
            self._next_exec_id() if exec_type != "ORDER_STATUS" else "",
            o.cl_ord_id,
            o.symbol,
            o.side,
            exec_type,
            o.status,
            o.order_qty,
            cum,
            o.leaves,
            _CTX.divide(o.notional, cum) if cum else _ZERO,
            ts_ns,
            o.price,
            o.ord_type,
            o.tif,
            last_qty,
            last_px,
            orig,
            o.account,
            o.strategy,
            text,
        )

    def _fill(self, o: Order, ts_ns: int, qty: int, price: Decimal) -> ExecReport:
        exec_type = ET_FILL if o.leaves == 0 else ET_PARTIAL_FILL
        return self._snapshot(o, exec_type, ts_ns, qty, price)

    def _malformed(self, req: CancelRequest | ReplaceRequest, ts_ns: int, text: str) -> ExecReport:
        """A cancel reject for a request whose identifiers are not text (built from checked
        values only: see types.reject_report)."""
        return reject_report(self.venue, self._next_exec_id(), req, ts_ns, text, ET_CANCEL_REJECT)

    def _cancel_reject(
        self,
        cl_ord_id: str,
        req: CancelRequest | ReplaceRequest,
        o: Order | None,
        ts_ns: int,
        text: str,
    ) -> ExecReport:
        if o is None:
            return reject_report(
                self.venue, self._next_exec_id(), req, ts_ns, text, ET_CANCEL_REJECT
            )
        report = self._snapshot(o, ET_CANCEL_REJECT, ts_ns, text=text, orig=req.orig_cl_ord_id)
        report.cl_ord_id = cl_ord_id
        return report

    def _publish(
        self,
        book: OrderBook,
        before: tuple[Decimal | None, int, Decimal | None, int],
        reports: list[ExecReport],
        ts_ns: int,
    ) -> None:
        if not self.market_data:
            return
        after = book.last_top = book.top()
        volume = 0
        last: ExecReport | None = None
        for r in reports:
            # Each print has two reports; count the buyer's side once.
            if r.last_qty and r.side == BUY:
                volume += r.last_qty
                last = r
        if not volume and after == before:
            return
        self._md.append(
            MDUpdate(
                book.symbol,
                ts_ns,
                after[0],
                after[1],
                after[2],
                after[3],
                last.last_px if last else None,
                last.last_qty if last else 0,
                volume,
            )
        )

    def _book(self, symbol: str) -> OrderBook:
        book = self._books.get(symbol)
        if book is None:
            book = self._books[symbol] = OrderBook(symbol)
        return book

    def _emit(self, reports: list[ExecReport]) -> list[ExecReport]:
        listeners = self._listeners
        if listeners:
            for listener in listeners:
                for r in reports:
                    listener(r)
        return reports
