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

    def now(self) -> int:
        return self.clock.read(self.sim.now)

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
        ts = self.clock.read(self.sim.now) if ts_ns is None else ts_ns
        if remote_hlc is None:
            hlc = self.hlc.tick(ts)
        else:
            hlc = self.hlc.recv(ts, remote_hlc[0], remote_hlc[1])
        ev = {
            "seq": len(self.kinds),
            "kind": kind,
            "ts_ns": ts,
            "hlc": hlc,
            "lane": lane,
            "keys": keys,
            "parents": parents,
            "payload": payload,
        }
        self.events.append(ev)
        self.kinds.append(kind)
        return ev

    def dump(self) -> bytes:
        out = [orjson.dumps(self.header)]
        out.extend(map(orjson.dumps, self.events))
        return b"\n".join(out) + b"\n"

    def write(self, out_dir: Path) -> Path:
        path = out_dir / f"{self.capture}.jsonl"
        path.write_bytes(self.dump())
        return path
