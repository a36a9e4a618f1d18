"""Short order constructors for the exchange sandbox tests (prices as decimal strings)."""

from __future__ import annotations

from decimal import Decimal

from adapters.exchange import NewOrder


def buy(cl: str, qty: int, price: str | None, **kw: str) -> NewOrder:
    return NewOrder(cl, kw.pop("symbol", "ACME"), "BUY", qty, _px(price), **_kind(price, kw))


def sell(cl: str, qty: int, price: str | None, **kw: str) -> NewOrder:
    return NewOrder(cl, kw.pop("symbol", "ACME"), "SELL", qty, _px(price), **_kind(price, kw))


def _px(price: str | None) -> Decimal | None:
    return None if price is None else Decimal(price)


def _kind(price: str | None, kw: dict[str, str]) -> dict[str, str]:
    return {"ord_type": "LIMIT" if price is not None else "MARKET", **kw}
