"""Discrete-event core: simulated true time in integer ns and a heap of callbacks.

Ties at the same instant run in scheduling order (a monotone counter breaks them), so a run is a
pure function of the seed: no wall clock, no hash order, no threads.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any


class Sim:
    def __init__(self, start_ns: int) -> None:
        self.now = start_ns
        self._queue: list[tuple[int, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._counter = 0

    def at(self, when_ns: int, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` at true time ``when_ns`` (never in the past)."""
        self._counter += 1
        heapq.heappush(self._queue, (max(when_ns, self.now), self._counter, fn, args))

    def after(self, delay_ns: int, fn: Callable[..., Any], *args: Any) -> None:
        self.at(self.now + delay_ns, fn, *args)

    def run(self, until_ns: int | None = None) -> None:
        queue = self._queue
        pop = heapq.heappop
        while queue:
            if until_ns is not None and queue[0][0] > until_ns:
                break
            when, _, fn, args = pop(queue)
            self.now = when
            fn(*args)
