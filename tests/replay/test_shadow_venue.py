"""The shadow venue: how a what-if answers orders the recorded venue never saw."""

from __future__ import annotations

from decimal import Decimal

from adapters.exchange.types import CancelRequest, ExecReport, NewOrder, ReplaceRequest
from replay.shadow_venue import ShadowVenue


def venue() -> tuple[ShadowVenue, list[ExecReport]]:
    reports: list[ExecReport] = []
    v = ShadowVenue("XSIM", reports.append)
    v.quote("ACME", "100.00", 300, "100.02", 200, 1)
    return v, reports


def buy(cl: str, qty: int, price: str | None, tif: str = "DAY") -> NewOrder:
    return NewOrder(
        cl,
        "ACME",
        "BUY",
        qty,
        Decimal(price) if price else None,
        "MARKET" if price is None else "LIMIT",
        tif,
    )


def test_a_marketable_order_fills_at_the_touch_up_to_its_size_and_rests_the_rest() -> None:
    v, reports = venue()
    v.handle(buy("A", 500, "100.05"), 10)
    assert [(r.exec_type, r.last_qty, r.last_px, r.leaves_qty) for r in reports] == [
        ("NEW", 0, None, 500),
        ("PARTIAL_FILL", 200, Decimal("100.02"), 300),
    ]
    # The displayed size is used up until the next quote: a second buyer gets nothing yet.
    v.handle(buy("B", 100, "100.05"), 11)
    assert reports[-1].exec_type == "NEW" and v.fills == 1
    # A later quote at or below the limit fills the resting orders at their limit, oldest first.
    v.quote("ACME", "100.01", 100, "100.03", 350, 20)
    fills = [(r.cl_ord_id, r.last_qty, r.last_px, r.ord_status) for r in reports if r.last_qty]
    assert fills[1:] == [
        ("A", 300, Decimal("100.05"), "FILLED"),
        ("B", 50, Decimal("100.05"), "PARTIALLY_FILLED"),
    ]
    assert reports[-1].cum_qty == 50 and reports[-1].leaves_qty == 50
    assert v.filled_qty == 550


def test_an_order_away_from_the_touch_rests_until_the_market_reaches_it() -> None:
    v, reports = venue()
    v.handle(buy("A", 100, "99.90"), 10)
    v.quote("ACME", "99.95", 100, "99.97", 100, 11)
    assert [r.exec_type for r in reports] == ["NEW"]
    v.quote("ACME", "99.88", 100, "99.90", 100, 12)
    assert (reports[-1].exec_type, reports[-1].last_px, reports[-1].avg_px) == (
        "FILL",
        Decimal("99.90"),
        Decimal("99.90"),
    )


def test_ioc_and_market_leftovers_are_cancelled_and_fok_fills_whole_or_not_at_all() -> None:
    v, reports = venue()
    v.handle(buy("I", 500, "100.02", "IOC"), 10)
    assert [(r.exec_type, r.cum_qty, r.leaves_qty) for r in reports] == [
        ("NEW", 0, 500),
        ("PARTIAL_FILL", 200, 300),
        ("CANCELED", 200, 0),
    ]
    v, reports = venue()
    v.handle(buy("F", 500, "100.02", "FOK"), 10)
    assert [(r.exec_type, r.cum_qty) for r in reports] == [("NEW", 0), ("CANCELED", 0)]
    v, reports = venue()
    v.handle(buy("M", 250, None), 10)
    assert [(r.exec_type, r.last_qty) for r in reports] == [
        ("NEW", 0),
        ("PARTIAL_FILL", 200),
        ("CANCELED", 0),
    ]


def test_cancels_and_replaces_of_its_orders_are_acknowledged() -> None:
    v, reports = venue()
    v.handle(buy("A", 100, "99.00"), 10)
    v.handle(ReplaceRequest("A2", "A", "ACME", 150, Decimal("100.02")), 11)
    assert (reports[-2].exec_type, reports[-2].cl_ord_id, reports[-2].orig_cl_ord_id) == (
        "REPLACED",
        "A2",
        "A",
    )
    assert reports[-1].last_qty == 150  # the new price is marketable: filled at the touch
    v.handle(buy("B", 100, "99.00"), 12)
    v.handle(CancelRequest("B2", "B", "ACME"), 13)
    assert (reports[-1].exec_type, reports[-1].leaves_qty, v.owns("B")) == ("CANCELED", 0, False)
    v.quote("ACME", "98.00", 100, "98.50", 100, 14)  # a cancelled order never fills
    assert reports[-1].exec_type == "CANCELED"
