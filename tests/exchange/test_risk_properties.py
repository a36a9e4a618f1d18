"""Property tests of the risk gateway under random flows (its own orders and other participants')."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.exchange import (
    CancelRequest,
    MatchingEngine,
    NewOrder,
    ReplaceRequest,
    RiskGateway,
    RiskLimits,
)

PRICES = [Decimal("9.98") + Decimal("0.01") * i for i in range(5)]

ops = st.lists(
    st.one_of(
        # (via gateway?, side, qty, price or None for market)
        st.tuples(
            st.just("new"),
            st.booleans(),
            st.sampled_from(["BUY", "SELL"]),
            st.integers(1, 40),
            st.sampled_from([*PRICES, None]),
        ),
        st.tuples(st.just("cancel"), st.integers(0, 7)),
        st.tuples(st.just("replace"), st.integers(0, 7), st.integers(-20, 30)),
    ),
    min_size=10,
    max_size=60,
)


@settings(max_examples=120, deadline=None)
@given(ops, st.integers(20, 120))
def test_position_never_exceeds_the_limit_and_tracking_matches_the_venue(
    stream: list[tuple], limit: int
) -> None:
    engine = MatchingEngine("XSIM")
    gw = RiskGateway(engine, RiskLimits(position_limit=limit, max_qty=35))
    mine: list[str] = []  # ClOrdIDs routed through the gateway (latest of each chain last)
    position = 0
    for i, op in enumerate(stream):
        cl = f"C{i}"
        if op[0] == "new":
            _, via_gateway, side, qty, price = op
            kind = "LIMIT" if price is not None else "MARKET"
            order = NewOrder(
                cl, "ACME", side, qty, price, kind, account="G" if via_gateway else "X"
            )
            if via_gateway:
                results, reports = gw.submit(order, i)
                if any(not r.passed for r in results):
                    assert engine.order(cl) is None  # never reached the venue
                mine.append(cl)
            else:
                reports = engine.submit(order, i)
        elif mine:
            orig = mine[-1 - op[1] % min(8, len(mine))]
            if op[0] == "cancel":
                reports = gw.cancel(CancelRequest(cl, orig, "ACME"), i)
            else:
                cur = engine.order(orig)
                qty = (cur.order_qty if cur else 10) + op[2]
                reports = gw.replace(ReplaceRequest(cl, orig, "ACME", qty), i)
            mine.append(cl)
        else:
            continue
        for r in reports:
            if r.last_qty and r.account == "G":
                position += r.last_qty if r.side == "BUY" else -r.last_qty
        assert gw.position("ACME") == position
        assert -limit <= position <= limit
        live = [engine.order(c) for c in mine]
        for side in ("BUY", "SELL"):
            open_ids = {
                r.order_id: r.leaves_qty for r in live if r and r.side == side and r.leaves_qty
            }
            assert gw.open_qty("ACME", side) == sum(open_ids.values())
