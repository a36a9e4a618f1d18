"""Per-host capture writer: gap-free seq, local ``ts_ns``, HLC stamps, JSONL in the capture format.

Lines are built as dicts in a fixed key order and serialised with orjson in batches of
``CHUNK`` events as the run goes, so the bytes depend only on the simulation (never on dict
hashing or timing). Recorded events are never mutated afterwards, so serialising a batch early
gives the bytes a single dump at the end would; keeping only bytes (not hundreds of thousands of
dicts) spares the cyclic GC a pass over every event and keeps the working set in cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from adapters.testbed.clock import HLC, HostClock
from adapters.testbed.sim import Sim

Parent = dict[str, Any]

CHUNK = 64  # events per orjson batch: amortises the per-call cost, stays cache-sized


class CaptureWriter:
    """Records one host's events. ``record`` stamps them; ``recv`` also merges the sender's HLC."""

    def __init__(self, header: dict[str, Any], sim: Sim, clock: HostClock) -> None:
        self.header = header
        self.capture: str = header["capture"]
        self.sim = sim
        self.clock = clock
        self.hlc = HLC()
        self.kinds: list[str] = [""]  # kinds[seq]: for edge kinds of same-capture parents
        self._read = clock.read
        self._pending: list[dict[str, Any]] = []  # recorded, not yet serialised
        self._chunks: list[bytes] = []  # serialised events, newline-separated, in seq order

    @property
    def count(self) -> int:
        """Events recorded so far."""
        return len(self.kinds) - 1

    @property
    def events(self) -> list[dict[str, Any]]:
        """The recorded events, decoded from their lines (for inspection; not a hot path)."""
        return [orjson.loads(line) for line in self.dump().splitlines()[1:]]

    def now(self) -> int:
        return self._read(self.sim.now)

    def at(self, sim_ns: int) -> int:
        """This host's clock reading at simulated time ``sim_ns`` (not before its last reading)."""
        return self._read(sim_ns)

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
        """Append an event stamped now (or at ``ts_ns``); returns it (its ``seq`` and ``hlc``).
        The event and the dicts it holds must not be changed afterwards."""
        ts = self._read(self.sim.now) if ts_ns is None else ts_ns
        clock = self.hlc
        # HLC.tick and HLC.recv, inlined (the hottest call of a run)
        if remote_hlc is None:
            if ts > clock.l:
                clock.l = ts
                clock.c = 0
            else:
                clock.c += 1
        else:
            old = clock.l
            ml = remote_hlc[0]
            new = old if old >= ml else ml
            if ts > new:
                new = ts
            if new == old:
                if new == ml:
                    mc = remote_hlc[1]
                    clock.c = (clock.c if clock.c >= mc else mc) + 1
                else:
                    clock.c += 1
            elif new == ml:
                clock.c = remote_hlc[1] + 1
            else:
                clock.c = 0
            clock.l = new
        hlc = [clock.l, clock.c]
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
        kinds.append(kind)
        pending = self._pending
        pending.append(ev)
        if len(pending) >= CHUNK:
            self._flush()
        return ev

    def _flush(self) -> None:
        if self._pending:
            self._chunks.append(b"\n".join(_dump_lines(self._pending)))
            self._pending = []

    def dump(self) -> bytes:
        self._flush()
        # The final newline as an empty last piece: `+ b"\n"` would copy the whole capture again.
        return b"\n".join([orjson.dumps(self.header), *self._chunks, b""])

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
    lines = orjson.dumps(items).split(_SEPARATOR)
    if len(lines) != n:
        return [orjson.dumps(e) for e in events]
    lines[0] = lines[0][1:]  # the list's brackets, stripped here rather than by copying it all
    lines[-1] = lines[-1][:-1]
    return lines
