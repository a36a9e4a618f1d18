"""Order entry to the exchange sandbox over FIX, through the risk gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from adapters.exchange.engine import MatchingEngine
from adapters.exchange.fix_gateway import start_gateway
from adapters.exchange.risk import RiskGateway
from adapters.exchange.types import RiskLimits
from adapters.fix.acceptor import FixAcceptor
from adapters.fix.session import SessionConfig
from tests.fix_session.initiator import Initiator


def order(cl: str, side: str, qty: int, price: str | None, **extra: str) -> list:  # type: ignore[type-arg]
    body: list = [(11, cl), (55, "ACME"), (54, side), (38, qty), (40, "2" if price else "1")]  # type: ignore[type-arg]
    if price:
        body.append((44, price))
    return body + list(extra.items())


@pytest.fixture
async def venue() -> AsyncIterator[tuple[FixAcceptor, Initiator]]:
    gateway = RiskGateway(MatchingEngine("XSIM"), RiskLimits(max_qty=1000))
    acceptor, port = await start_gateway(gateway, SessionConfig(sender_comp_id="XSIM"))
    ini = await Initiator(target="XSIM").connect(port)
    await ini.logon()
    yield acceptor, ini
    await ini.close()
    await acceptor.stop()


async def test_orders_over_fix_rest_match_and_report_fills(venue) -> None:
    _, ini = venue
    await ini.send("D", order("B1", "1", 100, "101.00"))
    new = await ini.expect("8")
    assert (new.get(11), new.get(150), new.get(39), new.get(151)) == (b"B1", b"0", b"0", b"100")
    await ini.send("D", order("S1", "2", 60, "100.50"))
    reports = [await ini.expect("8") for _ in range(3)]
    by_order = {(r.get(11), r.get(150)): r for r in reports}
    aggressor = by_order[(b"S1", b"F")]
    assert (aggressor.get(32), aggressor.get(31), aggressor.get(39)) == (b"60", b"101.00", b"2")
    resting = by_order[(b"B1", b"F")]
    assert (resting.get(14), resting.get(151), resting.get(39)) == (b"60", b"40", b"1")


async def test_cancel_and_replace_over_fix(venue) -> None:
    _, ini = venue
    await ini.send("D", order("B1", "1", 100, "99.00"))
    await ini.expect("8")
    await ini.send(
        "G", [(11, "B2"), (41, "B1"), (55, "ACME"), (54, "1"), (38, 150), (40, "2"), (44, "99.50")]
    )
    replaced = await ini.expect("8")
    assert (replaced.get(150), replaced.get(11), replaced.get(41)) == (b"5", b"B2", b"B1")
    assert replaced.get(38) == b"150"
    await ini.send("F", [(11, "B3"), (41, "B2"), (55, "ACME"), (54, "1")])
    canceled = await ini.expect("8")
    assert (canceled.get(150), canceled.get(39)) == (b"4", b"4")
    await ini.send("F", [(11, "B4"), (41, "NOPE"), (55, "ACME"), (54, "1")])
    reject = await ini.expect("9")
    assert (reject.get(41), reject.get(434)) == (b"NOPE", b"1")


async def test_a_risk_rejected_order_never_reaches_the_book(venue) -> None:
    acceptor, ini = venue
    await ini.send("D", order("BIG", "1", 5000, "101.00"))
    rej = await ini.expect("8")
    assert (rej.get(150), rej.get(39)) == (b"8", b"8")
    assert b"max_qty" in (rej.get(58) or b"")
    assert acceptor.app.gateway.engine.open_orders() == []


async def test_a_malformed_order_gets_a_business_reject(venue) -> None:
    acceptor, ini = venue
    await ini.send("D", [(11, "X1"), (54, "1"), (38, 10), (40, "2"), (44, "1")])  # no Symbol
    rej = await ini.expect("j")
    assert (rej.get(372), rej.get(380), rej.get(379)) == (b"D", b"5", b"X1")
    await ini.send("D", order("X2", "1", 10, "-5"))
    rej = await ini.expect("j")
    assert rej.get(380) == b"0" and b"44" in (rej.get(58) or b"")
    assert acceptor.app.gateway.engine.open_orders() == []
    assert acceptor.session is not None and acceptor.session.state == "active"


def test_prices_stay_decimal_on_the_wire() -> None:
    from adapters.exchange.fix_gateway import parse_order
    from adapters.fix.wire import Frame

    f = Frame(
        [(35, b"D"), (11, b"A"), (55, b"ACME"), (54, b"2"), (38, b"7"), (40, b"2"), (44, b"0.1")],
        b"",
    )
    parsed = parse_order(f)
    assert parsed.price == Decimal("0.1") and parsed.qty == 7 and parsed.side == "SELL"  # type: ignore[union-attr]
