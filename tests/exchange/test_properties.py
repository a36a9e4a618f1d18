"""Property tests: random order streams keep the matching engine's invariants.

A stream is a list of operations (new, cancel, replace) drawn by hypothesis; a shadow model rebuilt
from the reports alone checks what a user of the reports relies on: the book never stays crossed,
quantity is conserved, price-time priority holds, CumQty/LeavesQty/AvgPx agree with the fills,
the depth equals the live orders' leaves, and the same stream always gives the same reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.exchange import (
    CancelRequest,
    ExecReport,
    MatchingEngine,
    MDUpdate,
    NewOrder,
    ReplaceRequest,
)

PRICES = [Decimal("99.98") + Decimal("0.01") * i for i in range(5)]

new_op = st.tuples(
    st.just("new"),
    st.sampled_from(["BUY", "SELL"]),
    st.integers(1, 60),
    st.sampled_from([*PRICES, None]),  # None: market order
    st.sampled_from(["DAY", "DAY", "DAY", "IOC", "FOK"]),
    st.sampled_from(["", "A", "B"]),
)
cancel_op = st.tuples(st.just("cancel"), st.integers(0, 7))
replace_op = st.tuples(
    st.just("replace"),
    st.integers(0, 7),
    st.integers(-30, 30),  # change of the order quantity
    st.sampled_from([*PRICES, None, None, None]),  # None: keep the price
)
streams = st.lists(st.one_of(new_op, new_op, cancel_op, replace_op), min_size=20, max_size=60)
modes = st.sampled_from(["cancel_aggressor", "cancel_resting", "allow"])


@dataclass
class Shadow:
    """One order as the reports describe it."""

    side: str
    price: Decimal | None
    order_qty: int
    leaves: int = 0
    cum: int = 0
    notional: Decimal = Decimal(0)
    stamp: int = 0  # time priority: when it last (re)joined the queue
    cl_ids: list[str] = field(default_factory=list)


def apply(engine: MatchingEngine, i: int, op: tuple, cl_ids: list[str]) -> list[ExecReport]:
    """Operation ``i`` of a stream; cancels and replaces pick one of the last 8 ClOrdIDs."""
    cl = f"C{i}"
    ts = 1_000 * (i + 1)
    orig = cl_ids[-1 - op[1] % min(8, len(cl_ids))] if op[0] != "new" and cl_ids else "NONE"
    cl_ids.append(cl)
    if op[0] == "new":
        _, side, qty, price, tif, account = op
        kind = "LIMIT" if price is not None else "MARKET"
        return engine.submit(NewOrder(cl, "ACME", side, qty, price, kind, tif, account), ts)
    if op[0] == "cancel":
        return engine.cancel(CancelRequest(cl, orig, "ACME"), ts)
    current = engine.order(orig)
    qty = (current.order_qty if current else 10) + op[2]
    return engine.replace(ReplaceRequest(cl, orig, "ACME", qty, op[3]), ts)


def run(
    stream: list[tuple], mode: str, market_data: bool = True
) -> tuple[MatchingEngine, list[list[ExecReport]], list[MDUpdate]]:
    """Apply a stream; returns the engine, the reports per operation and the market data."""
    engine = MatchingEngine("XSIM", self_match=mode, market_data=market_data)
    cl_ids: list[str] = []
    out = [apply(engine, i, op, cl_ids) for i, op in enumerate(stream)]
    return engine, out, engine.drain_market_data()


def check(stream: list[tuple], mode: str) -> None:
    engine = MatchingEngine("XSIM", self_match=mode)
    orders: dict[str, Shadow] = {}
    _, per_op, _ = run(stream, mode)
    # Drive a second engine step by step to look at the book between operations.
    stamp = 0
    cl_ids: list[str] = []
    for i, (op, reports) in enumerate(zip(stream, per_op, strict=True)):
        # Same calls, same reports: determinism operation by operation.
        again = apply(engine, i, op, cl_ids)
        assert again == reports

        aggressor = ""
        pending_fill: ExecReport | None = None
        for r in reports:
            if r.order_id == "NONE":
                assert r.exec_type in ("REJECTED", "CANCEL_REJECT") and r.text
                continue
            o = orders.get(r.order_id)
            if o is None:
                o = orders[r.order_id] = Shadow(r.side, r.price, r.order_qty)
            if r.exec_type in ("NEW", "REPLACED"):
                aggressor = r.order_id
                stamp += 1
                lost = r.exec_type == "NEW" or r.price != o.price or r.order_qty > o.order_qty
                if lost:
                    o.stamp = stamp
            if r.exec_type == "REJECTED":
                aggressor = r.order_id
            if r.exec_type != "CANCEL_REJECT":
                o.price, o.order_qty = r.price, r.order_qty
            if r.last_qty:
                assert r.exec_type in ("PARTIAL_FILL", "FILL")
                if r.order_id == aggressor:
                    assert pending_fill is None
                    pending_fill = r
                else:
                    # Quantity conserved: each print is the aggressor's and the resting order's.
                    assert pending_fill is not None
                    assert (pending_fill.last_qty, pending_fill.last_px) == (r.last_qty, r.last_px)
                    assert pending_fill.side != r.side
                    pending_fill = None
                    # Price-time priority: nothing live on this side was ahead of the order hit.
                    for oid, other in orders.items():
                        if oid == r.order_id or other.side != r.side or not other.leaves:
                            continue
                        assert other.price is not None and o.price is not None
                        better = other.price > o.price if r.side == "BUY" else other.price < o.price
                        assert not better, "a better price was resting"
                        assert not (other.price == o.price and other.stamp < o.stamp), (
                            "time priority"
                        )
                    # Trades print at the resting order's price.
                    assert r.last_px == o.price
                o.cum += r.last_qty
                o.notional += r.last_qty * r.last_px
            o.leaves = r.leaves_qty
            # Reports agree with the fills seen so far.
            assert r.cum_qty == o.cum
            if r.exec_type != "CANCEL_REJECT":
                assert r.cum_qty + r.leaves_qty == r.order_qty or r.ord_status in (
                    "CANCELED",
                    "REJECTED",
                )
            if r.ord_status in ("NEW", "PARTIALLY_FILLED"):
                assert r.cum_qty + r.leaves_qty == r.order_qty
            else:
                assert r.leaves_qty == 0
            if o.cum:
                assert abs(r.avg_px * o.cum - o.notional) <= Decimal("1e-18") * o.cum
            else:
                assert r.avg_px == 0
        assert pending_fill is None

        # Never a crossed book after matching.
        bid, _, ask, _ = engine.top_of_book("ACME")
        assert bid is None or ask is None or bid < ask
        # Depth equals the leaves of the live orders the reports describe.
        snap = engine.depth("ACME", 100)
        levels: dict[tuple[str, Decimal], int] = {}
        for o in orders.values():
            if o.leaves:
                assert o.price is not None
                levels[(o.side, o.price)] = levels.get((o.side, o.price), 0) + o.leaves
        expected_bids = sorted(((p, q) for (s, p), q in levels.items() if s == "BUY"), reverse=True)
        expected_asks = sorted((p, q) for (s, p), q in levels.items() if s == "SELL")
        assert snap.bids == expected_bids
        assert snap.asks == expected_asks


@settings(max_examples=150, deadline=None)
@given(streams, modes)
def test_random_streams_keep_the_book_uncrossed_and_reports_consistent(
    stream: list[tuple], mode: str
) -> None:
    check(stream, mode)


@settings(max_examples=60, deadline=None)
@given(streams, modes)
def test_the_same_stream_gives_the_same_reports_and_market_data(
    stream: list[tuple], mode: str
) -> None:
    _, first, md1 = run(stream, mode)
    _, second, md2 = run(stream, mode)
    assert first == second
    assert md1 == md2
    exec_ids = [r.exec_id for ops in first for r in ops]
    assert len(exec_ids) == len(set(exec_ids))


@settings(max_examples=60, deadline=None)
@given(streams, modes)
def test_an_engine_without_market_data_gives_the_same_reports_and_book(
    stream: list[tuple], mode: str
) -> None:
    with_md, first, _ = run(stream, mode)
    without, second, md = run(stream, mode, market_data=False)
    assert first == second
    assert md == []
    assert without.depth("ACME", 10) == with_md.depth("ACME", 10)
    assert without.top_of_book("ACME") == with_md.top_of_book("ACME")
    assert without.open_orders() == with_md.open_orders()


@settings(max_examples=100, deadline=None)
@given(streams, modes)
def test_buy_and_sell_fill_totals_are_equal(stream: list[tuple], mode: str) -> None:
    _, per_op, md = run(stream, mode)
    fills = [r for ops in per_op for r in ops if r.last_qty]
    bought = sum(r.last_qty for r in fills if r.side == "BUY")
    sold = sum(r.last_qty for r in fills if r.side == "SELL")
    assert bought == sold
    assert sum(t.volume for t in md) == bought


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(PRICES[:3]), st.integers(1, 20)), min_size=2, max_size=8),
    st.lists(
        st.tuples(st.integers(0, 7), st.integers(-10, 10), st.sampled_from([*PRICES[:3], None])),
        max_size=8,
    ),
)
def test_a_sweep_fills_resting_orders_by_price_then_time(
    resting: list[tuple[Decimal, int]], replaces: list[tuple[int, int, Decimal | None]]
) -> None:
    engine = MatchingEngine("XSIM")
    # The model: current ClOrdID -> [price, qty, stamp]; a price change or a quantity increase
    # takes a new stamp (back of the queue), a decrease keeps it.
    model: dict[str, list] = {}
    for i, (price, qty) in enumerate(resting):
        engine.submit(NewOrder(f"S{i}", "ACME", "SELL", qty, price), i)
        model[f"S{i}"] = [price, qty, i]
    stamp = len(resting)
    for j, (target, delta, price) in enumerate(replaces):
        orig = sorted(model)[target % len(model)]
        old_price, old_qty, old_stamp = model[orig]
        qty = old_qty + delta
        (rep,) = engine.replace(ReplaceRequest(f"R{j}", orig, "ACME", qty, price), 100 + j)
        if qty <= 0:
            assert rep.exec_type == "CANCEL_REJECT"
            continue
        assert rep.exec_type == "REPLACED"
        new_price = old_price if price is None else price
        stamp += 1
        keep = new_price == old_price and qty <= old_qty
        del model[orig]
        model[f"R{j}"] = [new_price, qty, old_stamp if keep else stamp]
    reports = engine.submit(NewOrder("SWEEP", "ACME", "BUY", 10_000, None, "MARKET"), 1_000)
    hit = [r.cl_ord_id for r in reports if r.side == "SELL" and r.last_qty]
    expected = [cl for cl, _ in sorted(model.items(), key=lambda kv: (kv[1][0], kv[1][2]))]
    assert hit == expected
