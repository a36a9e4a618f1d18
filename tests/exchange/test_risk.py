"""The pre-trade risk gateway: each rule passes and rejects, rejected orders never reach the venue."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.exchange import (
    CancelRequest,
    MatchingEngine,
    NewOrder,
    ReplaceRequest,
    RiskGateway,
    RiskLimits,
    RiskResult,
)

from .orders import buy, sell

D = Decimal


def gateway(**limits: object) -> RiskGateway:
    return RiskGateway(MatchingEngine("XSIM"), RiskLimits(**limits))  # type: ignore[arg-type]


def rule(results: list[RiskResult], name: str) -> RiskResult:
    (found,) = [r for r in results if r.rule == name]
    return found


def test_a_passing_order_reaches_the_venue_with_one_result_per_configured_rule() -> None:
    gw = gateway(max_qty=100, max_notional=D(5000), position_limit=1000)
    results, reports = gw.submit(buy("B1", 100, "10.00"), 1)
    assert [r.rule for r in results] == ["kill_switch", "max_qty", "max_notional", "position_limit"]
    assert all(r.result == "pass" for r in results)
    assert [r.exec_type for r in reports] == ["NEW"]
    assert gw.engine.top_of_book("ACME")[:2] == (D("10.00"), 100)


@pytest.mark.parametrize(("qty", "result"), [(100, "pass"), (101, "reject")])
def test_max_qty_compares_the_order_quantity(qty: int, result: str) -> None:
    results, _ = gateway(max_qty=100).submit(buy("B1", qty, "10.00"), 1)
    r = rule(results, "max_qty")
    assert (r.result, r.limit, r.observed, r.cl_ord_id, r.symbol, r.ts_ns) == (
        result,
        "100",
        str(qty),
        "B1",
        "ACME",
        1,
    )


def test_a_rejected_order_never_reaches_the_venue_and_names_the_rule() -> None:
    gw = gateway(max_qty=100)
    results, (rej,) = gw.submit(buy("B1", 5000, "10.00"), 1)
    assert [r.rule for r in results if not r.passed] == ["max_qty"]
    assert (rej.exec_type, rej.ord_status, rej.order_id) == ("REJECTED", "REJECTED", "NONE")
    assert rej.text == "risk reject: max_qty (limit 100, observed 5000)"
    assert gw.engine.top_of_book("ACME") == (None, 0, None, 0)
    assert gw.engine.order("B1") is None


@pytest.mark.parametrize(
    ("price", "result", "observed"), [("10.00", "pass", "1000.00"), ("10.01", "reject", "1001.00")]
)
def test_max_notional_is_qty_times_limit_price(price: str, result: str, observed: str) -> None:
    results, _ = gateway(max_notional=D(1000)).submit(buy("B1", 100, price), 1)
    r = rule(results, "max_notional")
    assert (r.result, r.limit, r.observed) == (result, "1000", observed)


def test_max_notional_of_a_market_order_uses_the_opposite_best_price() -> None:
    gw = gateway(max_notional=D(1000))
    gw.engine.submit(sell("S1", 500, "20.00"), 1)
    results, reports = gw.submit(buy("M1", 60, None), 2)
    r = rule(results, "max_notional")
    assert (r.result, r.observed) == ("reject", "1200.00")
    assert reports[0].exec_type == "REJECTED"


def test_max_notional_rejects_a_market_order_without_any_reference_price() -> None:
    results, _ = gateway(max_notional=D(1000)).submit(buy("M1", 1, None), 1)
    r = rule(results, "max_notional")
    assert (r.result, r.observed, r.text) == ("reject", "unknown", "no reference price")


def test_price_collar_is_measured_against_the_last_trade() -> None:
    gw = gateway(collar_bps=D(100))
    gw.engine.submit(sell("S1", 10, "100.00"), 1)
    gw.engine.submit(buy("B0", 10, "100.00"), 2)  # last trade 100.00
    inside, _ = gw.submit(buy("B1", 1, "101.00"), 3)
    outside, (rej,) = gw.submit(sell("S2", 1, "98.99"), 4)
    assert (rule(inside, "price_collar").result, rule(inside, "price_collar").observed) == (
        "pass",
        "100.00bps",
    )
    r = rule(outside, "price_collar")
    assert (r.result, r.limit, r.observed) == ("reject", "100bps", "101.00bps")
    assert "price_collar" in rej.text


def test_price_collar_falls_back_to_a_reference_price_and_passes_without_one() -> None:
    gw = gateway(collar_bps=D(50))
    results, _ = gw.submit(buy("B1", 1, "500"), 1)
    assert (rule(results, "price_collar").result, rule(results, "price_collar").text) == (
        "pass",
        "no reference price",
    )
    gw.set_reference_price("ACME", D("10"))
    results, _ = gw.submit(buy("B2", 1, "500"), 2)
    assert rule(results, "price_collar").result == "reject"


def test_position_limit_counts_position_and_open_buys_worst_case() -> None:
    gw = gateway(position_limit=100)
    gw.submit(buy("B1", 60, "10.00"), 1)
    gw.engine.submit(sell("X1", 20, "10.00"), 2)  # another participant fills 20 of B1
    assert (gw.position("ACME"), gw.open_qty("ACME", "BUY")) == (20, 40)
    ok, _ = gw.submit(buy("B2", 40, "9.00"), 3)
    assert (rule(ok, "position_limit").result, rule(ok, "position_limit").observed) == (
        "pass",
        "100",
    )
    too_many, _ = gw.submit(buy("B3", 1, "9.00"), 4)
    r = rule(too_many, "position_limit")
    assert (r.result, r.limit, r.observed) == ("reject", "100", "101")


def test_position_limit_checks_sells_against_the_short_side() -> None:
    gw = gateway(position_limit=50, position_limits={"BETA": 10})
    results, _ = gw.submit(sell("S1", 50, "10.00"), 1)
    assert (rule(results, "position_limit").result, rule(results, "position_limit").observed) == (
        "pass",
        "-50",
    )
    results, _ = gw.submit(sell("S2", 11, "10.00", symbol="BETA"), 2)
    r = rule(results, "position_limit")
    assert (r.result, r.limit, r.observed) == ("reject", "10", "-11")


def test_cancelling_releases_open_quantity_for_the_position_check() -> None:
    gw = gateway(position_limit=100)
    gw.submit(buy("B1", 100, "10.00"), 1)
    assert rule(gw.submit(buy("B2", 1, "10.00"), 2)[0], "position_limit").result == "reject"
    gw.cancel(CancelRequest("B1c", "B1", "ACME"), 3)
    assert gw.open_qty("ACME", "BUY") == 0
    assert rule(gw.submit(buy("B3", 100, "10.00"), 4)[0], "position_limit").result == "pass"


def test_order_rate_throttles_per_account_and_strategy_within_the_window() -> None:
    gw = gateway(rate_limit=2, rate_window_ns=1000)
    assert rule(gw.submit(buy("B1", 1, "10", account="A"), 0)[0], "order_rate").observed == "1"
    assert rule(gw.submit(buy("B2", 1, "10", account="A"), 500)[0], "order_rate").result == "pass"
    results, (rej,) = gw.submit(buy("B3", 1, "10", account="A"), 999)
    r = rule(results, "order_rate")
    assert (r.result, r.limit, r.observed) == ("reject", "2/1000ns", "3")
    assert rej.exec_type == "REJECTED"
    # Another account has its own budget; the first order leaves the window after 1000 ns.
    assert rule(gw.submit(buy("C1", 1, "10", account="B"), 999)[0], "order_rate").result == "pass"
    assert rule(gw.submit(buy("B4", 1, "10", account="A"), 1000)[0], "order_rate").result == "pass"


@pytest.mark.parametrize(
    ("scope", "value"),
    [("venue", "XSIM"), ("strategy", "mm"), ("symbol", "ACME"), ("account", "A")],
)
def test_kill_switch_blocks_orders_in_scope_and_cancels_open_ones(scope: str, value: str) -> None:
    gw = gateway()
    gw.submit(buy("B1", 10, "10.00", account="A", strategy="mm"), 1)
    gw.submit(buy("O1", 10, "9.00", account="Z", strategy="other", symbol="BETA"), 1)
    cancels = gw.engage_kill_switch(scope, value, "ops: runaway", ts_ns=2)
    assert [(c.exec_type, c.orig_cl_ord_id) for c in cancels] == [("CANCELED", "B1")] + (
        [("CANCELED", "O1")] if scope == "venue" else []
    )
    assert cancels[0].text == f"kill switch {scope}={value}: ops: runaway"
    results, (rej,) = gw.submit(buy("B2", 10, "10.00", account="A", strategy="mm"), 3)
    r = rule(results, "kill_switch")
    assert (r.result, r.limit, r.observed) == (
        "reject",
        "engaged",
        f"{scope}={value}: ops: runaway",
    )
    assert rej.text.startswith("risk reject: kill_switch")
    assert gw.kill_switches() == [(scope, value, "ops: runaway")]
    assert gw.release_kill_switch(scope, value) is True
    assert rule(
        gw.submit(buy("B3", 10, "10.00", account="A", strategy="mm"), 4)[0], "kill_switch"
    ).passed


def test_kill_switch_leaves_orders_out_of_scope_alone() -> None:
    gw = gateway()
    gw.submit(buy("B1", 10, "10.00", symbol="BETA"), 1)
    assert gw.engage_kill_switch("symbol", "ACME", "halt") == []
    assert rule(gw.submit(buy("B2", 10, "10.00", symbol="BETA"), 2)[0], "kill_switch").passed


def test_kill_switch_rejects_an_unknown_scope() -> None:
    with pytest.raises(ValueError, match="scope must be one of"):
        gateway().engage_kill_switch("desk", "x", "why")


def test_limits_change_at_runtime() -> None:
    gw = gateway(max_qty=10)
    assert rule(gw.submit(buy("B1", 50, "10"), 1)[0], "max_qty").result == "reject"
    assert gw.update_limits(max_qty=100).max_qty == 100
    assert rule(gw.submit(buy("B2", 50, "10"), 2)[0], "max_qty").result == "pass"
    gw.update_limits(RiskLimits())
    assert [r.rule for r in gw.submit(buy("B3", 50, "10"), 3)[0]] == ["kill_switch"]


def test_replace_is_checked_and_a_rejected_replace_leaves_the_order_as_it_was() -> None:
    gw = gateway(max_qty=100, position_limit=150)
    gw.submit(buy("B1", 100, "10.00"), 1)
    results, (rej,) = gw.replace_with_checks(ReplaceRequest("B1r", "B1", "ACME", 200), 2)
    assert {r.rule: r.result for r in results}["max_qty"] == "reject"
    assert (rej.exec_type, rej.ord_status, rej.cl_ord_id, rej.orig_cl_ord_id) == (
        "CANCEL_REJECT",
        "NEW",
        "B1r",
        "B1",
    )
    assert "max_qty" in rej.text
    assert gw.engine.top_of_book("ACME")[:2] == (D("10.00"), 100)
    # Decreasing is fine, and the position check only counts added quantity.
    (ok,) = gw.replace(ReplaceRequest("B1s", "B1", "ACME", 80), 3)
    assert ok.exec_type == "REPLACED"
    assert gw.open_qty("ACME", "BUY") == 80


def test_cancel_passes_through_even_under_a_kill_switch() -> None:
    gw = gateway()
    gw.submit(buy("B1", 10, "10.00"), 1)
    gw.engage_kill_switch("symbol", "ACME", "halt", cancel_open=False)
    (ack,) = gw.cancel(CancelRequest("B1c", "B1", "ACME"), 2)
    assert ack.exec_type == "CANCELED"


class DeferredVenue:
    """A venue across a network link: requests arrive, and reports come back, only on flush()."""

    def __init__(self) -> None:
        self.engine = MatchingEngine("XSIM")
        self.venue = "XSIM"
        self.queue: list[tuple[str, object, int]] = []
        self.listeners: list = []

    def subscribe(self, listener: object) -> None:
        self.listeners.append(listener)

    def submit(self, order: object, ts_ns: int) -> list:
        self.queue.append(("submit", order, ts_ns))
        return []

    def cancel(self, req: object, ts_ns: int) -> list:
        self.queue.append(("cancel", req, ts_ns))
        return []

    def flush(self) -> None:
        queue, self.queue = self.queue, []
        for method, req, ts in queue:
            for report in getattr(self.engine, method)(req, ts):
                for listener in self.listeners:
                    listener(report)

    def __getattr__(self, name: str) -> object:
        return getattr(self.engine, name)


def test_orders_in_flight_to_a_remote_venue_count_toward_the_position_limit() -> None:
    venue = DeferredVenue()
    gw = RiskGateway(venue, RiskLimits(position_limit=100))  # type: ignore[arg-type]
    assert rule(gw.submit(buy("B1", 60, "10.00"), 1)[0], "position_limit").passed
    results, (rej,) = gw.submit(buy("B2", 60, "10.00"), 2)  # B1 not acknowledged yet
    assert rej.exec_type == "REJECTED"
    assert (rule(results, "position_limit").result, rule(results, "position_limit").observed) == (
        "reject",
        "120",
    )
    gw.submit(buy("B1", 5, "10.00"), 3)  # a duplicate ClOrdID: the venue rejects it
    venue.flush()
    assert gw.open_qty("ACME", "BUY") == 60
    # The kill switch also reaches orders the venue has not acknowledged.
    gw.submit(buy("B3", 10, "9.00"), 4)
    gw.engage_kill_switch("symbol", "ACME", "halt", ts_ns=5)
    venue.flush()
    assert (gw.open_qty("ACME", "BUY"), venue.engine.top_of_book("ACME")) == (0, (None, 0, None, 0))


def test_a_malformed_order_is_rejected_with_the_reason_before_any_check() -> None:
    gw = gateway(max_qty=100, max_notional=D(1000), collar_bps=D(10))
    results, (rej,) = gw.submit(NewOrder("B1", "ACME", "BUY", 10, 10.5), 1)  # type: ignore[arg-type]
    assert results == []
    assert (rej.exec_type, rej.text) == ("REJECTED", "invalid limit price 10.5")
    results, (rej,) = gw.submit(NewOrder("B2", "ACME", "BUY", "10", D("10")), 2)  # type: ignore[arg-type]
    assert (results, rej.text) == ([], "invalid quantity '10'")
    assert gw.engine.order("B1") is None and gw.engine.order("B2") is None


def test_a_malformed_replace_is_rejected_by_the_venue_with_the_reason() -> None:
    gw = gateway(max_qty=100)
    gw.submit(buy("B1", 10, "10.00"), 1)
    results, (rej,) = gw.replace_with_checks(ReplaceRequest("B1r", "B1", "ACME", 10, 9.5), 2)  # type: ignore[arg-type]
    assert (results, rej.exec_type, rej.text) == ([], "CANCEL_REJECT", "invalid price 9.5")
