"""Matching engine behaviour per order type, cancel, replace, rejects, self-match and market data."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest

from adapters.exchange import CancelRequest, MatchingEngine, NewOrder, ReplaceRequest

from .orders import buy, sell

D = Decimal


def kinds(reports: list) -> list[tuple[str, str, str]]:
    return [(r.cl_ord_id, r.exec_type, r.ord_status) for r in reports]


def test_a_limit_order_that_does_not_cross_rests_and_is_acknowledged(
    engine: MatchingEngine,
) -> None:
    (ack,) = engine.submit(buy("B1", 100, "10.00"), 1)
    assert (ack.exec_type, ack.ord_status, ack.leaves_qty, ack.cum_qty) == ("NEW", "NEW", 100, 0)
    assert ack.order_id == "XSIM-O1" and ack.exec_id == "XSIM-E1"
    assert engine.top_of_book("ACME") == (D("10.00"), 100, None, 0)


def test_a_crossing_limit_order_trades_at_the_resting_price(engine: MatchingEngine) -> None:
    engine.submit(sell("S1", 100, "10.00"), 1)
    reports = engine.submit(buy("B1", 100, "10.50"), 2)
    assert kinds(reports) == [
        ("B1", "NEW", "NEW"),
        ("B1", "FILL", "FILLED"),
        ("S1", "FILL", "FILLED"),
    ]
    fill = reports[1]
    assert (fill.last_qty, fill.last_px, fill.avg_px, fill.leaves_qty) == (
        100,
        D("10.00"),
        D("10.00"),
        0,
    )
    assert engine.top_of_book("ACME") == (None, 0, None, 0)
    trade = engine.last_trade("ACME")
    assert trade is not None and (trade.price, trade.qty, trade.aggressor_side) == (
        D("10.00"),
        100,
        "BUY",
    )


def test_partial_fills_keep_cum_leaves_and_avg_px_consistent(engine: MatchingEngine) -> None:
    engine.submit(sell("S1", 30, "10.00"), 1)
    engine.submit(sell("S2", 30, "10.10"), 2)
    reports = engine.submit(buy("B1", 100, "10.10"), 3)
    mine = [r for r in reports if r.cl_ord_id == "B1"]
    assert [(r.exec_type, r.cum_qty, r.leaves_qty) for r in mine] == [
        ("NEW", 0, 100),
        ("PARTIAL_FILL", 30, 70),
        ("PARTIAL_FILL", 60, 40),
    ]
    assert mine[-1].avg_px == D("10.05")
    assert mine[-1].ord_status == "PARTIALLY_FILLED"
    # The remainder rests as the new best bid.
    assert engine.top_of_book("ACME") == (D("10.10"), 40, None, 0)


def test_orders_at_the_same_price_fill_in_arrival_order(engine: MatchingEngine) -> None:
    engine.submit(sell("S1", 50, "10.00"), 1)
    engine.submit(sell("S2", 50, "10.00"), 2)
    reports = engine.submit(buy("B1", 60, "10.00"), 3)
    resting = [(r.cl_ord_id, r.last_qty) for r in reports if r.side == "SELL"]
    assert resting == [("S1", 50), ("S2", 10)]


def test_a_better_price_fills_before_an_earlier_worse_one(engine: MatchingEngine) -> None:
    engine.submit(sell("S1", 50, "10.05"), 1)
    engine.submit(sell("S2", 50, "10.00"), 2)
    reports = engine.submit(buy("B1", 50, "10.10"), 3)
    assert [r.cl_ord_id for r in reports if r.side == "SELL"] == ["S2"]


def test_market_order_sweeps_levels_and_cancels_what_the_book_cannot_fill(
    engine: MatchingEngine,
) -> None:
    engine.submit(sell("S1", 10, "10.00"), 1)
    engine.submit(sell("S2", 10, "11.00"), 2)
    reports = engine.submit(buy("M1", 50, None), 3)
    mine = [r for r in reports if r.cl_ord_id == "M1"]
    assert [r.exec_type for r in mine] == ["NEW", "PARTIAL_FILL", "PARTIAL_FILL", "CANCELED"]
    last = mine[-1]
    assert (last.ord_status, last.cum_qty, last.leaves_qty, last.avg_px) == (
        "CANCELED",
        20,
        0,
        D("10.5"),
    )
    assert "no liquidity" in last.text


def test_market_order_into_an_empty_book_is_cancelled_with_no_liquidity(
    engine: MatchingEngine,
) -> None:
    reports = engine.submit(sell("M1", 5, None), 1)
    assert kinds(reports) == [("M1", "NEW", "NEW"), ("M1", "CANCELED", "CANCELED")]
    assert reports[-1].text == "no liquidity"


def test_ioc_fills_what_it_can_and_never_rests(engine: MatchingEngine) -> None:
    engine.submit(sell("S1", 10, "10.00"), 1)
    reports = engine.submit(buy("I1", 25, "10.00", tif="IOC"), 2)
    mine = [r for r in reports if r.cl_ord_id == "I1"]
    assert [(r.exec_type, r.cum_qty, r.leaves_qty) for r in mine] == [
        ("NEW", 0, 25),
        ("PARTIAL_FILL", 10, 15),
        ("CANCELED", 10, 0),
    ]
    assert engine.top_of_book("ACME") == (None, 0, None, 0)


def test_fok_fills_completely_across_levels(engine: MatchingEngine) -> None:
    engine.submit(sell("S1", 10, "10.00"), 1)
    engine.submit(sell("S2", 10, "10.01"), 2)
    reports = engine.submit(buy("F1", 20, "10.01", tif="FOK"), 3)
    assert reports[-2].cl_ord_id == "F1" and reports[-2].exec_type == "FILL"


def test_fok_that_cannot_fill_in_full_is_rejected_and_leaves_the_book_alone(
    engine: MatchingEngine,
) -> None:
    engine.submit(sell("S1", 10, "10.00"), 1)
    engine.submit(sell("S2", 10, "10.05"), 2)
    (rej,) = engine.submit(buy("F1", 20, "10.01", tif="FOK"), 3)
    assert (rej.exec_type, rej.ord_status) == ("REJECTED", "REJECTED")
    assert rej.text == "FOK not fillable: 10 available of 20"
    assert engine.depth("ACME", 5).asks == [(D("10.00"), 10), (D("10.05"), 10)]


def test_cancel_removes_the_order_and_reports_its_fills(engine: MatchingEngine) -> None:
    engine.submit(buy("B1", 100, "10.00"), 1)
    engine.submit(sell("S1", 40, "10.00"), 2)
    (ack,) = engine.cancel(CancelRequest("B1c", "B1", "ACME"), 3)
    assert (ack.exec_type, ack.ord_status, ack.cum_qty, ack.leaves_qty) == (
        "CANCELED",
        "CANCELED",
        40,
        0,
    )
    assert (ack.cl_ord_id, ack.orig_cl_ord_id) == ("B1c", "B1")
    assert engine.top_of_book("ACME") == (None, 0, None, 0)


def test_cancel_of_an_unknown_order_is_rejected_as_unknown(engine: MatchingEngine) -> None:
    (rej,) = engine.cancel(CancelRequest("X1", "NOPE", "ACME"), 1)
    assert (rej.exec_type, rej.ord_status, rej.order_id) == ("CANCEL_REJECT", "REJECTED", "NONE")
    assert rej.text == "unknown order NOPE"


def test_cancel_of_a_filled_order_is_too_late(engine: MatchingEngine) -> None:
    engine.submit(buy("B1", 10, "10.00"), 1)
    engine.submit(sell("S1", 10, "10.00"), 2)
    (rej,) = engine.cancel(CancelRequest("B1c", "B1", "ACME"), 3)
    assert (rej.exec_type, rej.ord_status) == ("CANCEL_REJECT", "FILLED")
    assert rej.text == "too late to cancel: order is FILLED"


def test_replace_with_lower_quantity_keeps_time_priority(engine: MatchingEngine) -> None:
    engine.submit(sell("S1", 50, "10.00"), 1)
    engine.submit(sell("S2", 50, "10.00"), 2)
    (rep,) = engine.replace(ReplaceRequest("S1r", "S1", "ACME", 20), 3)
    assert (rep.exec_type, rep.order_qty, rep.leaves_qty, rep.orig_cl_ord_id) == (
        "REPLACED",
        20,
        20,
        "S1",
    )
    reports = engine.submit(buy("B1", 30, "10.00"), 4)
    assert [(r.cl_ord_id, r.last_qty) for r in reports if r.side == "SELL"] == [
        ("S1r", 20),
        ("S2", 10),
    ]


@pytest.mark.parametrize(("qty", "price"), [(80, None), (50, "10.00")])
def test_replace_with_higher_quantity_or_new_price_loses_time_priority(
    engine: MatchingEngine, qty: int, price: str | None
) -> None:
    engine.submit(sell("S1", 50, "10.00"), 1)
    engine.submit(sell("S2", 50, "10.00"), 2)
    if price is not None:  # move away and back: a price change re-queues the order
        engine.replace(ReplaceRequest("S1a", "S1", "ACME", qty, D("10.01")), 3)
        engine.replace(ReplaceRequest("S1r", "S1a", "ACME", qty, D(price)), 4)
    else:
        engine.replace(ReplaceRequest("S1r", "S1", "ACME", qty), 3)
    reports = engine.submit(buy("B1", 60, "10.00"), 5)
    assert [(r.cl_ord_id, r.last_qty) for r in reports if r.side == "SELL"] == [
        ("S2", 50),
        ("S1r", 10),
    ]


def test_replace_to_a_crossing_price_trades_immediately(engine: MatchingEngine) -> None:
    engine.submit(sell("S1", 10, "10.05"), 1)
    engine.submit(buy("B1", 10, "10.00"), 2)
    reports = engine.replace(ReplaceRequest("B1r", "B1", "ACME", 10, D("10.05")), 3)
    assert kinds(reports) == [
        ("B1r", "REPLACED", "NEW"),
        ("B1r", "FILL", "FILLED"),
        ("S1", "FILL", "FILLED"),
    ]


def test_replace_below_the_filled_quantity_is_rejected(engine: MatchingEngine) -> None:
    engine.submit(buy("B1", 100, "10.00"), 1)
    engine.submit(sell("S1", 60, "10.00"), 2)
    (rej,) = engine.replace(ReplaceRequest("B1r", "B1", "ACME", 60), 3)
    assert rej.exec_type == "CANCEL_REJECT" and rej.ord_status == "PARTIALLY_FILLED"
    assert rej.text == "new quantity 60 must exceed filled quantity 60"
    assert engine.top_of_book("ACME") == (D("10.00"), 40, None, 0)


@pytest.mark.parametrize(
    ("order", "text"),
    [
        (NewOrder("B1", "ACME", "BUY", 0, D("10")), "invalid quantity 0"),
        (NewOrder("B1", "ACME", "BUY", 10, None), "invalid limit price None"),
        (NewOrder("B1", "ACME", "BUY", 10, D("-1")), "invalid limit price Decimal('-1')"),
        (NewOrder("B1", "ACME", "HOLD", 10, D("10")), "unknown side 'HOLD'"),
        (NewOrder("B1", "ACME", "BUY", 10, D("10"), tif="GTX"), "unknown time in force 'GTX'"),
        (
            NewOrder("B1", "ACME", "BUY", 10, D("10"), ord_type="MARKET"),
            "market order must not carry a price",
        ),
    ],
)
def test_invalid_orders_are_rejected_with_the_reason(
    engine: MatchingEngine, order: NewOrder, text: str
) -> None:
    (rej,) = engine.submit(order, 1)
    assert (rej.exec_type, rej.ord_status, rej.order_id, rej.text) == (
        "REJECTED",
        "REJECTED",
        "NONE",
        text,
    )
    assert engine.top_of_book("ACME") == (None, 0, None, 0)


@pytest.mark.parametrize(
    ("order", "text", "kept"),
    [
        (
            NewOrder(5, "ACME", "BUY", 10, D("10")),  # type: ignore[arg-type]
            "invalid cl_ord_id 5: must be text",
            ("5", 10, D("10")),
        ),
        (
            NewOrder("B1", None, "BUY", 10, D("10")),  # type: ignore[arg-type]
            "invalid symbol None: must be text",
            ("B1", 10, D("10")),
        ),
        (
            NewOrder("B1", "ACME", "BUY", 10, D("10"), account=None),  # type: ignore[arg-type]
            "invalid account None: must be text",
            ("B1", 10, D("10")),
        ),
        (
            NewOrder("B1", "ACME", "BUY", "10", D("10")),  # type: ignore[arg-type]
            "invalid quantity '10'",
            ("B1", 0, D("10")),
        ),
        (
            NewOrder("B1", "ACME", "BUY", 10, 10.5),  # type: ignore[arg-type]
            "invalid limit price 10.5",
            ("B1", 10, None),
        ),
    ],
)
def test_an_order_with_values_of_the_wrong_type_is_rejected_not_raised(
    engine: MatchingEngine, order: NewOrder, text: str, kept: tuple[object, ...]
) -> None:
    # A Python API caller's mistake gets a reject saying what is wrong, and the report itself
    # holds only well-typed values (an identifier as text; no quantity or price that is not one).
    (rej,) = engine.submit(order, 1)
    assert (rej.exec_type, rej.text) == ("REJECTED", text)
    assert (rej.cl_ord_id, rej.order_qty, rej.price) == kept
    assert engine.top_of_book("ACME") == (None, 0, None, 0)


@pytest.mark.parametrize(
    "req",
    [
        CancelRequest("C2", 7, "ACME"),  # type: ignore[arg-type]
        CancelRequest(None, "B1", "ACME"),  # type: ignore[arg-type]
        ReplaceRequest("R2", "B1", "ACME", 20, D("10"), account=3),  # type: ignore[arg-type]
    ],
)
def test_a_cancel_or_replace_with_identifiers_that_are_not_text_is_rejected(
    engine: MatchingEngine, req: CancelRequest | ReplaceRequest
) -> None:
    engine.submit(buy("B1", 10, "10.00"), 1)
    (rej,) = engine.cancel(req, 2) if isinstance(req, CancelRequest) else engine.replace(req, 2)
    assert rej.exec_type == "CANCEL_REJECT" and rej.text.endswith("must be text")
    assert engine.top_of_book("ACME") == (D("10.00"), 10, None, 0)  # the order is untouched


def test_a_reused_cl_ord_id_is_rejected_as_duplicate(engine: MatchingEngine) -> None:
    engine.submit(buy("B1", 10, "10.00"), 1)
    (rej,) = engine.submit(buy("B1", 10, "10.00"), 2)
    assert rej.exec_type == "REJECTED" and rej.text == "duplicate ClOrdID B1"
    assert engine.top_of_book("ACME") == (D("10.00"), 10, None, 0)


def test_self_match_cancels_the_aggressor_by_default(engine: MatchingEngine) -> None:
    engine.submit(sell("S1", 10, "10.00", account="A"), 1)
    reports = engine.submit(buy("B1", 10, "10.00", account="A"), 2)
    assert kinds(reports) == [("B1", "NEW", "NEW"), ("B1", "CANCELED", "CANCELED")]
    assert reports[-1].text == "self-match prevention"
    assert engine.top_of_book("ACME") == (None, 0, D("10.00"), 10)


def test_self_match_cancel_resting_removes_the_own_order_and_trades_on() -> None:
    engine = MatchingEngine("XSIM", self_match="cancel_resting")
    engine.submit(sell("S1", 10, "10.00", account="A"), 1)
    engine.submit(sell("S2", 10, "10.00", account="B"), 2)
    reports = engine.submit(buy("B1", 10, "10.00", account="A"), 3)
    assert kinds(reports) == [
        ("B1", "NEW", "NEW"),
        ("S1", "CANCELED", "CANCELED"),
        ("B1", "FILL", "FILLED"),
        ("S2", "FILL", "FILLED"),
    ]


def test_self_match_allow_lets_an_account_trade_with_itself() -> None:
    engine = MatchingEngine("XSIM", self_match="allow")
    engine.submit(sell("S1", 10, "10.00", account="A"), 1)
    reports = engine.submit(buy("B1", 10, "10.00", account="A"), 2)
    assert reports[-1].exec_type == "FILL"


def test_market_data_is_published_after_events_that_change_the_top(engine: MatchingEngine) -> None:
    engine.submit(buy("B1", 10, "9.90"), 1)
    engine.submit(buy("B2", 10, "9.80"), 2)  # below the best bid: no top-of-book change
    engine.submit(sell("S1", 30, "10.00"), 3)
    engine.submit(buy("B3", 20, "10.00"), 4)
    ticks = engine.drain_market_data()
    assert [(t.ts_ns, t.to_payload()) for t in ticks] == [
        (1, {"bid": "9.90", "bid_size": 10, "ask": None, "ask_size": 0}),
        (3, {"bid": "9.90", "bid_size": 10, "ask": "10.00", "ask_size": 30}),
        (
            4,
            {
                "bid": "9.90",
                "bid_size": 10,
                "ask": "10.00",
                "ask_size": 10,
                "last": "10.00",
                "last_size": 20,
                "volume": 20,
            },
        ),
    ]
    assert engine.drain_market_data() == []


def test_depth_aggregates_levels_best_first(engine: MatchingEngine) -> None:
    for i, p in enumerate(["9.90", "9.95", "9.95", "9.80"]):
        engine.submit(buy(f"B{i}", 10, p), i)
    engine.submit(sell("S1", 5, "10.10"), 9)
    snap = engine.depth("ACME", 2)
    assert snap.bids == [(D("9.95"), 20), (D("9.90"), 10)]
    assert snap.to_payload() == {"bids": [["9.95", 20], ["9.90", 10]], "asks": [["10.10", 5]]}
    assert engine.depth("OTHER", 5).bids == []


def test_books_of_different_symbols_do_not_interact(engine: MatchingEngine) -> None:
    engine.submit(sell("S1", 10, "10.00", symbol="ACME"), 1)
    (ack,) = engine.submit(buy("B1", 10, "10.00", symbol="BETA"), 2)
    assert ack.exec_type == "NEW"
    assert engine.symbols() == ["ACME", "BETA"]


def test_avg_px_does_not_depend_on_the_callers_decimal_context() -> None:
    def session() -> list:
        engine = MatchingEngine("XSIM")
        engine.submit(sell("S1", 3, "101.2345"), 1)
        engine.submit(sell("S2", 7, "101.2399"), 2)
        return engine.submit(buy("B1", 10, "102"), 3)

    expected = session()
    with localcontext() as ctx:
        ctx.prec = 4
        assert session() == expected
    assert expected[-2].avg_px == D("101.23828")


@pytest.mark.parametrize(
    ("qty", "price", "text"),
    [
        (0, None, "invalid quantity 0"),
        (10, 10.5, "invalid price 10.5"),
        (10, D("0"), "invalid price Decimal('0')"),
    ],
)
def test_an_invalid_replace_is_rejected_and_changes_nothing(
    engine: MatchingEngine, qty: int, price: object, text: str
) -> None:
    engine.submit(buy("B1", 10, "10.00"), 1)
    (rej,) = engine.replace(ReplaceRequest("B1r", "B1", "ACME", qty, price), 2)  # type: ignore[arg-type]
    assert (rej.exec_type, rej.ord_status, rej.text) == ("CANCEL_REJECT", "NEW", text)
    assert engine.top_of_book("ACME") == (D("10.00"), 10, None, 0)


def test_a_second_cancel_is_too_late_and_a_reused_cancel_id_is_a_duplicate(
    engine: MatchingEngine,
) -> None:
    engine.submit(buy("B1", 10, "10.00"), 1)
    engine.submit(buy("B2", 10, "10.00"), 1)
    engine.cancel(CancelRequest("X1", "B1", "ACME"), 2)
    (late,) = engine.cancel(CancelRequest("X2", "X1", "ACME"), 3)
    assert (late.exec_type, late.ord_status, late.text) == (
        "CANCEL_REJECT",
        "CANCELED",
        "too late to cancel: order is CANCELED",
    )
    (dup,) = engine.cancel(CancelRequest("X1", "B2", "ACME"), 4)
    assert (dup.exec_type, dup.text) == ("CANCEL_REJECT", "duplicate ClOrdID X1")
    assert engine.top_of_book("ACME") == (D("10.00"), 10, None, 0)
