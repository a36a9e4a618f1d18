"""Links between hosts: latency, jitter, loss, scheduled partitions and heals.

A link is one direction. Delivery is FIFO per link (a TCP-like session). A message sent while the
link is partitioned is dropped (``on_partition="drop"``: the sender must resend after the heal) or
held and delivered after the heal (``"queue"``). Both ends learn of a partition after
``detect_ns`` (a heartbeat timeout) and of the heal when it happens, through ``on_link``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adapters.testbed.sim import Sim


@dataclass(frozen=True)
class LinkSpec:
    src: str
    dst: str
    latency_ns: int = 50_000
    jitter_ns: int = 10_000
    loss: float = 0.0
    on_partition: str = "drop"  # or "queue"
    partitions: tuple[tuple[int, int], ...] = ()  # (start, end) offsets from the run start, ns
    detect_ns: int = 2_000_000


@dataclass
class Link:
    spec: LinkSpec
    sim: Sim
    rng: random.Random
    deliver: Callable[[Any], None]
    start_ns: int
    down: bool = False
    last_arrival: int = 0
    held: list[Any] = field(default_factory=list)
    sent: int = 0
    dropped: int = 0

    def send(self, msg: Any) -> None:
        self.sent += 1
        if self.down:
            if self.spec.on_partition == "queue":
                self.held.append(msg)
            else:
                self.dropped += 1
            return
        spec = self.spec
        if spec.loss and self.rng.random() < spec.loss:
            self.dropped += 1
            return
        # _schedule, inlined: this runs once per message of the whole simulation.
        delay = spec.latency_ns
        if spec.jitter_ns:
            delay += int(self.rng.random() * (spec.jitter_ns + 1))
        sim = self.sim
        arrival = sim.now + delay
        if arrival < self.last_arrival:
            arrival = self.last_arrival  # FIFO: no overtaking on one session
        self.last_arrival = arrival
        sim.push(arrival, self.deliver, (msg,))

    def _schedule(self, msg: Any) -> None:
        spec = self.spec
        delay = spec.latency_ns
        if spec.jitter_ns:
            delay += int(self.rng.random() * (spec.jitter_ns + 1))
        arrival = self.sim.now + delay
        if arrival < self.last_arrival:
            arrival = self.last_arrival  # FIFO: no overtaking on one session
        self.last_arrival = arrival
        self.sim.at(arrival, self.deliver, msg)

    def partition(self) -> None:
        self.down = True

    def heal(self) -> None:
        self.down = False
        held, self.held = self.held, []
        for msg in held:
            self._schedule(msg)


def install_partitions(link: Link, on_link: Callable[[str, str, str], None] | None = None) -> None:
    """Schedule a link's partitions; ``on_link(event, src, dst)`` is told of detection and heal."""
    spec = link.spec
    for start, end in spec.partitions:
        link.sim.at(link.start_ns + start, link.partition)
        if on_link is not None and spec.detect_ns < end - start:
            link.sim.at(
                link.start_ns + start + spec.detect_ns, on_link, "link_down", spec.src, spec.dst
            )
        link.sim.at(link.start_ns + end, link.heal)
        if on_link is not None:
            link.sim.at(link.start_ns + end, on_link, "link_up", spec.src, spec.dst)
