"""Per-host capture writer: gap-free seq, local ``ts_ns``, HLC stamps, JSONL in the capture format.

Lines are built as dicts in a fixed key order and serialised with orjson in one batch at the end,
so the bytes depend only on the simulation (never on dict hashing or timing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from adapters.testbed.clock import HLC, HostClock
from adapters.testbed.sim import Sim

Parent = dict[str, Any]


class CaptureWriter:
    """Records one host's events. ``record`` stamps them; ``recv`` also merges the sender's HLC."""

    def __init__(self, header: dict[str, Any], sim: Sim, clock: HostClock) -> None:
        self.header = header
        self.capture: str = header["capture"]
        self.sim = sim
        self.clock = clock
        self.hlc = HLC()
        self.events: list[dict[str, Any]] = []
        self.kinds: list[str] = [""]  # kinds[seq]: for edge kinds of same-capture parents
        self._read = clock.read

    def now(self) -> int:
        return self._read(self.sim.now)

    def record(
        self,
        kind: str,
        lane: str,
        keys: dict[str, str],
        payload: dict[str, Any],
        parents: list[Parent],
        ts_ns: int | None = None,
        remote_hlc: list[int] | None = None,
    ) -> dict[str, Any]:
        """Append an event stamped now (or at ``ts_ns``); returns it (its ``seq`` and ``hlc``)."""
        ts = self._read(self.sim.now) if ts_ns is None else ts_ns
        clock = self.hlc
        if remote_hlc is None:
            # HLC.tick, inlined (the hottest call of a run)
            if ts > clock.l:
                clock.l = ts
                clock.c = 0
            else:
                clock.c += 1
            hlc = [clock.l, clock.c]
        else:
            hlc = clock.recv(ts, remote_hlc[0], remote_hlc[1])
        kinds = self.kinds
        ev = {
            "seq": len(kinds),
            "kind": kind,
            "ts_ns": ts,
            "hlc": hlc,
            "lane": lane,
            "keys": keys,
            "parents": parents,
            "payload": payload,
        }
        self.events.append(ev)
        kinds.append(kind)
        return ev

    def dump(self) -> bytes:
        return b"\n".join([orjson.dumps(self.header), *_dump_lines(self.events)]) + b"\n"

    def write(self, out_dir: Path) -> Path:
        path = out_dir / f"{self.capture}.jsonl"
        path.write_bytes(self.dump())
        return path


# Between events in one batch: a string no event holds (checked: a stray copy adds a piece).
_SENTINEL = "\x1edeltatrace-line\x1e"
_SEPARATOR = b"," + orjson.dumps(_SENTINEL) + b","


def _dump_lines(events: list[dict[str, Any]]) -> list[bytes]:
    """``[orjson.dumps(e) for e in events]`` in one orjson call (each call has a fixed cost
    several times the serialising of a small event): the events go out as one list with a
    sentinel between them, split at the sentinels. Should an event ever contain the sentinel's
    text, the piece count is off and each event is dumped on its own."""
    n = len(events)
    if n < 2:
        return [orjson.dumps(e) for e in events]
    items: list[Any] = [_SENTINEL] * (2 * n - 1)
    items[0::2] = events
    lines = orjson.dumps(items)[1:-1].split(_SEPARATOR)
    if len(lines) != n:
        return [orjson.dumps(e) for e in events]
    return lines
