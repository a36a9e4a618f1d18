"""The named scenarios: one world (feed, strategy, risk gateway, venue) with one fault each.

| name | strategy | what happens |
| --- | --- | --- |
| calm | market_maker | an ordinary session: quotes, replaces, fills; no faults |
| partition-burst | momentum | the strategy<->gateway session is cut (both ways, messages dropped) right after
  the 2nd order of a burst; the rest of the burst and the acks are lost; after the heal the
  strategy resends its in-flight orders and the gateway answers resends it has already handled |
| stale-md | market_maker | the feed->strategy link is cut for 300 ms while the price gaps; the strategy keeps
  quoting the old prices and the venue fills it at them |
| fat-finger | momentum | the 3rd order is keyed 1000x too big; the risk gateway rejects it (max_qty,
  max_notional, position_limit) and it never reaches the venue |
| kill-switch | momentum | an operator engages the strategy's kill switch at the gateway after its 3rd order,
  mid-burst: the rest of the burst is rejected by the kill_switch rule and open orders are cancelled |
| clock-skew | market_maker | the venue's clock runs 3 ms behind (declared tolerance 100 us), so its reports
  carry ts_ns earlier than the orders that caused them: wall-clock order contradicts causality |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from adapters.exchange.types import RiskLimits

MS = 1_000_000
US = 1_000


@dataclass(frozen=True)
class ClockSpec:
    offset_ns: int = 0
    drift_ppm: int = 0
    sync_error_ns: int = 5 * US


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    strategy: str = "market_maker"
    strategy_version: str = "1.0.0"
    params: dict[str, Any] = field(default_factory=dict)
    ticks: int = 1200
    tick_interval_ns: int = 1 * MS
    limits: RiskLimits = field(
        default_factory=lambda: RiskLimits(
            max_qty=5000,
            max_notional=Decimal(500000),
            collar_bps=Decimal(300),
            position_limit=5000,
            rate_limit=500,
        )
    )
    clocks: dict[str, ClockSpec] = field(default_factory=dict)
    max_offset_ns: int = 100 * US
    # How long the strategy host takes to decide on an input that makes it act: uniform in [lo, hi).
    decision_ns: tuple[int, int] = (4 * US, 12 * US)
    # How long the risk gateway takes to check one order: uniform in [lo, hi).
    check_ns: tuple[int, int] = (1 * US, 3 * US)
    # Faults. Times are offsets from the run start, in ns.
    md_partitions: tuple[tuple[int, int], ...] = ()
    price_jumps: dict[int, int] = field(default_factory=dict)  # tick number -> cents
    partition_after_orders: int | None = None  # cut strategy<->gateway after the Nth order
    partition_ns: int = 40 * MS
    kill_after_orders: int | None = None  # engage the kill switch after the gateway's Nth order


DEFAULT_CLOCKS = {
    "feed": ClockSpec(offset_ns=20 * US, drift_ppm=3),
    "strategy": ClockSpec(offset_ns=-8 * US, drift_ppm=-2),
    "gateway": ClockSpec(offset_ns=-15 * US, drift_ppm=1),
    "venue": ClockSpec(offset_ns=30 * US, drift_ppm=5),
}

_BURSTY = {"threshold_bps": "5", "lookback": 10, "target_qty": 800}

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "calm",
            "An ordinary session: the market maker quotes, replaces and gets filled; no faults.",
        ),
        Scenario(
            "partition-burst",
            "The strategy<->gateway session is cut (both directions, messages dropped) right after "
            "the 2nd order of a burst; acks and the rest of the burst are lost; after the heal the "
            "strategy resends its in-flight orders and the gateway answers duplicates.",
            strategy="momentum",
            params=_BURSTY,
            partition_after_orders=2,
        ),
        Scenario(
            "stale-md",
            "The feed->strategy link is cut for 300 ms while the price gaps down 40 cents; the "
            "market maker keeps quoting the old prices and the venue fills it at them.",
            md_partitions=((400 * MS, 700 * MS),),
            price_jumps={500: -40},
        ),
        Scenario(
            "fat-finger",
            "The momentum taker's 3rd order is keyed 1000x too big; the risk gateway rejects it "
            "(max_qty, max_notional, position_limit) and it never reaches the venue.",
            strategy="momentum",
            params={**_BURSTY, "fat_finger_order": 3},
        ),
        Scenario(
            "kill-switch",
            "An operator engages the momentum strategy's kill switch at the gateway after its 3rd "
            "order, mid-burst: the rest of the burst is rejected by the kill_switch rule and open "
            "orders are cancelled.",
            strategy="momentum",
            params=_BURSTY,
            kill_after_orders=3,
        ),
        Scenario(
            "clock-skew",
            "The venue's clock runs 3 ms behind true time (declared tolerance 100 us): its reports "
            "carry ts_ns earlier than the orders that caused them, so wall-clock order contradicts "
            "causality; HLC order stays causal.",
            clocks={"venue": ClockSpec(offset_ns=-3 * MS, drift_ppm=5)},
        ),
    )
}


class UnknownScenario(KeyError):
    def __str__(self) -> str:
        return f"unknown scenario {self.args[0]!r}; scenarios: {', '.join(SCENARIOS)}"
