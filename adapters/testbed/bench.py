"""`deltatrace bench simulate`: simulated (recorded) events per second of a large calm run.

Baseline, measured in the same run: the bare discrete-event loop (heap push/pop of no-op
callbacks), the floor any simulation here pays per event. Best of N to damp other load.
"""

from __future__ import annotations

import gc

from adapters.testbed.scenarios import SCENARIOS
from adapters.testbed.sim import Sim
from adapters.testbed.world import START_NS, World
from deltatrace.benchmarks import Suite, Target, best_of

TARGET_EVENTS_PER_S = 200_000


def _noop() -> None:
    pass


def _bare_loop(n: int) -> None:
    sim = Sim(START_NS)
    for i in range(n):
        sim.at(START_NS + i, _noop)
    sim.run()


def run(quick: bool) -> Suite:
    ticks = 5_000 if quick else 40_000
    repeats = 2 if quick else 3
    counts: list[int] = []

    def one() -> None:
        world = World(SCENARIOS["calm"], 1, ticks)
        world.run()
        for w in world.writers.values():
            w.dump()  # serialising the captures is part of producing them
        counts.append(sum(w.count for w in world.writers.values()))

    # A world is a reference cycle (hosts hold the links that call back into them), so only the
    # collector frees it: do that untimed between runs, as a user's run starts with nothing to free.
    seconds = best_of(repeats, one, gc.collect)
    events = counts[-1]
    rate = events / seconds
    base_seconds = best_of(repeats, lambda: _bare_loop(events))
    base_rate = events / base_seconds
    return Suite(
        "simulate",
        figures={
            "ticks": ticks,
            "events": events,
            "seconds": round(seconds, 4),
            "events_per_s": round(rate),
            "bare_loop_events_per_s": round(base_rate),
            "ratio_to_bare_loop": round(rate / base_rate, 4),
        },
        targets=[Target("events_per_s", round(rate), TARGET_EVENTS_PER_S)],
    )
