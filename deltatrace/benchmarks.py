"""The benchmark protocol: each suite measures its figures and a baseline in the same run.

A suite is a module with ``run(quick: bool) -> Suite``. Targets are checked as the issue states them:
absolute rates on this machine and ratios against the same-run baseline; never as timed unit tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

SUITES = {
    "ingest": "deltatrace.bench",
    "fix": "adapters.fix.bench",
    "simulate": "adapters.testbed.bench",
    "replay": "replay.bench",
    "ledger": "ledger.bench",
    "report": "ledger.reports_bench",
}


@dataclass
class Target:
    name: str
    value: float
    target: float
    op: str = ">="  # ">=" for rates and ratios, "<=" for latencies

    @property
    def ok(self) -> bool:
        return self.value >= self.target if self.op == ">=" else self.value <= self.target


@dataclass
class Suite:
    name: str
    figures: dict[str, float | int | str] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.targets)

    def as_dict(self) -> dict[str, Any]:
        return {
            "suite": self.name,
            "ok": self.ok,
            "figures": self.figures,
            "targets": [{**asdict(t), "ok": t.ok} for t in self.targets],
        }


def best_of(n: int, fn: Callable[[], Any], setup: Callable[[], Any] | None = None) -> float:
    """Wall seconds of the fastest of n runs: the least disturbed by other work on the machine.

    `setup` runs untimed before each run, e.g. to free what the previous run built: a user's run
    starts with nothing to free, so freeing a million objects is not part of what is measured.
    """
    best = float("inf")
    for _ in range(n):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def rounds_of(
    n: int, runs: dict[str, Callable[[], Any]], setup: Callable[[], Any] | None = None
) -> dict[str, list[float]]:
    """Wall seconds of every run of each of ``runs``, taken in ``n`` interleaved rounds.

    For a ratio against a baseline: the CPU a virtual machine gets can change speed by half within
    seconds, so measuring one side's runs all before the other's lets the ratio swing with it. Taken
    in turns, both sides see the same machine; ``min`` of each list is then its best-of-n and the
    per-round quotients show the spread.
    """
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(n):
        for name, fn in runs.items():
            if setup is not None:
                setup()
            t0 = time.perf_counter()
            fn()
            seconds[name].append(time.perf_counter() - t0)
    return seconds
