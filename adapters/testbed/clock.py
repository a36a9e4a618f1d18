"""Host clocks (offset, drift, sync error) and the hybrid logical clock of Kulkarni et al. (2014).

A host clock reads ``true + offset + drift + sync error``: drift in ppm of the time since the run
started, sync error a value in [-sync_error_ns, +sync_error_ns] redrawn every ``sync_interval_ns``
(as after each PTP/NTP correction). Readings never go backwards on one host (the clock slews).

The HLC stamp ``(l, c)`` tracks the largest physical time seen, so that a receive is always stamped
after its send even when the receiver's clock is behind: merged HLC order is causal order.
"""

from __future__ import annotations

import random


class HostClock:
    def __init__(
        self,
        start_ns: int,
        rng: random.Random,
        offset_ns: int = 0,
        drift_ppm: int = 0,
        sync_error_ns: int = 0,
        sync_interval_ns: int = 1_000_000_000,
    ) -> None:
        self.start = start_ns
        self.rng = rng
        self.offset = offset_ns
        self.drift_ppm = drift_ppm
        self.sync_error = sync_error_ns
        self.sync_interval = sync_interval_ns
        self._interval = -1
        self._err = 0
        self._last = 0
        self._last_true = -1  # true time of the last reading, which ``_last`` holds

    def read(self, true_ns: int) -> int:
        if true_ns == self._last_true:
            return self._last  # a host reads its clock several times per instant: same value
        self._last_true = true_ns
        elapsed = true_ns - self.start
        if self.sync_error:
            interval = elapsed // self.sync_interval
            if interval != self._interval:
                self._interval = interval
                self._err = self.rng.randint(-self.sync_error, self.sync_error)
        t = true_ns + self.offset + elapsed * self.drift_ppm // 1_000_000 + self._err
        if t < self._last:
            t = self._last
        self._last = t
        return t


class HLC:
    """Hybrid logical clock. ``tick`` for local and send events, ``recv`` for receives."""

    __slots__ = ("c", "l")

    def __init__(self) -> None:
        self.l = 0
        self.c = 0

    def tick(self, pt: int) -> list[int]:
        if pt > self.l:
            self.l = pt
            self.c = 0
        else:
            self.c += 1
        return [self.l, self.c]

    def recv(self, pt: int, ml: int, mc: int) -> list[int]:
        old = self.l
        new = old if old >= ml else ml  # max(old, ml, pt), without the builtin call
        if pt > new:
            new = pt
        if new == old and new == ml:
            self.c = max(self.c, mc) + 1
        elif new == old:
            self.c += 1
        elif new == ml:
            self.c = mc + 1
        else:
            self.c = 0
        self.l = new
        return [self.l, self.c]
