"""Discrete-event core: simulated true time in integer ns and a heap of callbacks.

Ties at the same instant run in scheduling order (a monotone counter breaks them), so a run is a
pure function of the seed: no wall clock, no hash order, no threads.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any


class Sim:
    def __init__(self, start_ns: int) -> None:
        self.now = start_ns
        self._queue: list[tuple[int, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._counter = 0

    def at(self, when_ns: int, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` at true time ``when_ns`` (never in the past)."""
        self._counter += 1
        now = self.now
        heappush(self._queue, (when_ns if when_ns > now else now, self._counter, fn, args))

    def push(self, when_ns: int, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        """``at(when_ns, fn, *args)`` for a caller that never schedules into the past."""
        self._counter += 1
        heappush(self._queue, (when_ns, self._counter, fn, args))

    def after(self, delay_ns: int, fn: Callable[..., Any], *args: Any) -> None:
        self.at(self.now + delay_ns, fn, *args)

    def run(self, until_ns: int | None = None) -> None:
        queue = self._queue
        pop = heappop
        if until_ns is None:
            while queue:
                when, _, fn, args = pop(queue)
                self.now = when
                fn(*args)
            return
        while queue:
            if queue[0][0] > until_ns:
                break
            when, _, fn, args = pop(queue)
            self.now = when
            fn(*args)
