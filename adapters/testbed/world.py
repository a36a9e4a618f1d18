"""Build a scenario's world, run it, and write the captures and ``manifest.json``."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

import deltatrace
from adapters.exchange.engine import MatchingEngine
from adapters.strategies.registry import get_strategy
from adapters.testbed.clock import HostClock
from adapters.testbed.hosts import FeedHost, StrategyHost
from adapters.testbed.network import Link, LinkSpec, install_partitions
from adapters.testbed.scenarios import DEFAULT_CLOCKS, SCENARIOS, Scenario, UnknownScenario
from adapters.testbed.sim import Sim
from adapters.testbed.venue import GatewayHost, VenueHost, gateway_meta, risk_limits_meta
from adapters.testbed.writer import CaptureWriter
from deltatrace.gcpause import gc_paused

# 1.1: the gateway header records its risk limits; 1.2: the strategy host takes time to decide
# and the gateway time to check
TESTBED_VERSION = "1.2.0"
START_NS = 1_767_364_200_000_000_000  # 2026-01-02 14:30:00 UTC
SYMBOL = "ACME"
START_CENTS = 10_000
HOSTS = ("feed", "strategy", "gateway", "venue")


def _draw(rng: random.Random, span: tuple[int, int]) -> Callable[[], int] | None:
    """Durations uniform in [lo, hi) ns from a stream of their own, so drawing them never shifts
    what the other generators draw (None: the host answers instantly)."""
    lo, hi = span
    if hi <= 0:
        return None
    return lambda: lo + int(rng.random() * (hi - lo))


class World:
    def __init__(self, scenario: Scenario, seed: int, ticks: int | None = None) -> None:
        self.scenario = sc = scenario
        self.seed = seed
        self.sim = sim = Sim(START_NS)
        rng = {name: random.Random(f"{seed}:{name}") for name in (*HOSTS, "links", "clocks")}
        self.strategy = get_strategy(sc.strategy, sc.strategy_version)(sc.params)
        self.writers: dict[str, CaptureWriter] = {}
        for role in HOSTS:
            spec = sc.clocks.get(role, DEFAULT_CLOCKS[role])
            clock = HostClock(
                START_NS, rng["clocks"], spec.offset_ns, spec.drift_ppm, spec.sync_error_ns
            )
            key = f"{role}-1"
            header: dict[str, Any] = {
                "format": "deltatrace.capture",
                "version": 1,
                "capture": key,
                "host": key,
                "adapter": "testbed",
                "clock": {"source": "ptp", "max_offset_ns": sc.max_offset_ns},
            }
            if role == "strategy":
                header["strategy"] = self.strategy.identity()
            header["meta"] = {
                "scenario": sc.name,
                "seed": seed,
                "role": role,
                "testbed_version": TESTBED_VERSION,
                "clock_truth": {
                    "offset_ns": spec.offset_ns,
                    "drift_ppm": spec.drift_ppm,
                    "sync_error_ns": spec.sync_error_ns,
                },
            }
            if role == "gateway":  # so a replay can re-run its checks with other limits
                header["meta"]["risk_limits"] = risk_limits_meta(sc.limits)
                header["meta"]["risk_gateway"] = gateway_meta(
                    "XSIM", {SYMBOL: Decimal(START_CENTS) / 100}, sc.strategy
                )
            self.writers[role] = CaptureWriter(header, sim, clock)
        w = self.writers
        links_rng = rng["links"]
        self.links: dict[str, Link] = {}

        def link(name: str, spec: LinkSpec, deliver: Any) -> Link:
            self.links[name] = lk = Link(spec, sim, links_rng, deliver, START_NS)
            return lk

        self.strategy_host = StrategyHost(
            w["strategy"],
            self.strategy,
            seed,
            self._send_order,
            _draw(random.Random(f"{seed}:decide"), sc.decision_ns),
        )
        self.venue_host = VenueHost(
            w["venue"], MatchingEngine("XSIM", market_data=False), self._venue_out
        )
        self.gateway = GatewayHost(
            w["gateway"],
            "XSIM",
            sc.limits,
            Decimal(START_CENTS) / 100,
            sc.strategy,
            self._gw_to_venue,
            self._gw_to_strategy,
            _draw(random.Random(f"{seed}:check"), sc.check_ns),
        )
        md = link(
            "feed>strategy",
            LinkSpec("feed-1", "strategy-1", 80_000, 20_000, partitions=sc.md_partitions),
            self.strategy_host.receive,
        )
        mv = link(
            "feed>venue", LinkSpec("feed-1", "venue-1", 40_000, 5_000), self.venue_host.on_tick
        )
        self.s2g = link(
            "strategy>gateway",
            LinkSpec("strategy-1", "gateway-1", 30_000, 10_000),
            self.gateway.on_order,
        )
        self.g2s = link(
            "gateway>strategy",
            LinkSpec("gateway-1", "strategy-1", 30_000, 10_000),
            self.strategy_host.receive,
        )
        self.g2v = link(
            "gateway>venue",
            LinkSpec("gateway-1", "venue-1", 20_000, 4_000),
            self.venue_host.on_order,
        )
        self.v2g = link(
            "venue>gateway",
            LinkSpec("venue-1", "gateway-1", 20_000, 4_000),
            self.gateway.on_report,
        )
        install_partitions(md)
        # Hosts were built before their links: hand them the links' send directly from now on
        # (the _gw_*/_venue_out forwarders would only add a call per message).
        self.gateway.to_venue = self.g2v.send
        self.gateway.to_strategy = self.g2s.send
        self.venue_host.to_gateway = self.v2g.send
        self.feed = FeedHost(
            w["feed"],
            rng["feed"],
            SYMBOL,
            START_CENTS,
            sc.tick_interval_ns,
            ticks or sc.ticks,
            [md.send, mv.send],
        )
        self.feed.jump_at = dict(sc.price_jumps)
        self.orders_sent = 0
        self.gateway_orders = 0

    # -- wiring with the scenario's fault triggers ---------------------------------------
    def _send_order(self, msg: Any) -> None:
        self.orders_sent += 1
        self.s2g.send(msg)
        n = self.scenario.partition_after_orders
        if n is not None and self.orders_sent == n:
            self._cut_order_session(self.scenario.partition_ns)

    def _cut_order_session(self, duration: int) -> None:
        now = self.sim.now - START_NS
        for lk in (self.s2g, self.g2s):
            lk.spec = replace(lk.spec, partitions=((now, now + duration),))
            install_partitions(lk, self._on_link if lk is self.s2g else None)
        self.s2g.partition()
        self.g2s.partition()

    def _on_link(self, event: str, src: str, dst: str) -> None:
        self.strategy_host.on_link(event, dst)

    def _gw_to_venue(self, item: Any) -> None:
        self.g2v.send(item)

    def _gw_to_strategy(self, msg: Any) -> None:
        self.g2s.send(msg)

    def _venue_out(self, item: Any) -> None:
        self.v2g.send(item)

    def run(self) -> None:
        n = self.scenario.kill_after_orders
        if n is not None:
            on_order = self.gateway.on_order

            def counted(msg: Any) -> None:
                on_order(msg)
                self.gateway_orders += 1
                if self.gateway_orders == n:
                    self.gateway.kill_switch(
                        "strategy", self.scenario.strategy, "operator: runaway burst"
                    )

            self.s2g.deliver = counted
        self.feed.start()
        # The run allocates hundreds of thousands of long-lived dicts and makes no cycles worth
        # collecting; the cyclic GC's repeated passes over them cost more than the work, and the
        # first one after the run (serialising the captures) walked them all again (40-57 ms).
        # The world itself is one cycle: once dropped, the next full collection frees it.
        with gc_paused():
            self.sim.run()


def run_scenario(name: str, seed: int, out_dir: Path, ticks: int | None = None) -> dict[str, Any]:
    """Run scenario ``name`` with ``seed``; write one JSONL capture per host and ``manifest.json``."""
    if name not in SCENARIOS:
        raise UnknownScenario(name)
    world = World(SCENARIOS[name], seed, ticks)
    world.run()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: list[dict[str, Any]] = []
    for role in HOSTS:
        w = world.writers[role]
        data = w.dump()
        path = out_dir / f"{w.capture}.jsonl"
        path.write_bytes(data)
        files.append(
            {
                "path": path.name,
                "capture": w.capture,
                "host_role": role,
                "events": w.count,
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    manifest = {
        "scenario": name,
        "description": world.scenario.description,
        "seed": seed,
        "ticks": ticks or world.scenario.ticks,
        "events": sum(f["events"] for f in files),
        "versions": {
            "deltatrace": deltatrace.__version__,
            "testbed": TESTBED_VERSION,
            "capture_format": 1,
            "strategy": {k: v for k, v in world.strategy.identity().items() if k != "params"},
        },
        "files": files,
        "links": {
            name: {"sent": lk.sent, "dropped": lk.dropped} for name, lk in world.links.items()
        },
    }
    (out_dir / "manifest.json").write_bytes(
        orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    )
    return manifest
