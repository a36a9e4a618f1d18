"""Strategies by name and version: what the testbed runs and replay resolves from a capture header."""

from __future__ import annotations

from adapters.strategies.base import Strategy
from adapters.strategies.market_maker import MarketMaker
from adapters.strategies.momentum import Momentum

STRATEGIES: dict[tuple[str, str], type[Strategy]] = {
    (cls.name, cls.version): cls for cls in (MarketMaker, Momentum)
}


def get_strategy(name: str, version: str) -> type[Strategy]:
    """The strategy class registered as (name, version); KeyError with the known ones otherwise."""
    try:
        return STRATEGIES[(name, version)]
    except KeyError:
        known = ", ".join(f"{n} {v}" for n, v in sorted(STRATEGIES))
        raise KeyError(f"unknown strategy {name} {version}; known: {known}") from None
