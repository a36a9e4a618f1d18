"""Two-process replay of a large incident stored in SQLite: the merge on the second core.

Re-running a strategy needs only its own capture's events in seq order, and the merge keeps every
capture in seq order (program order is one of its edges): so the two are independent until the
verdict. A forked child opens its own connection to the database file, loads every capture in its
light form (what the merge and the clock checks read), merges, and sends back the merged order as
(capture, seq) pairs, the anomalies, and the light captures' events as columns. Meanwhile this
process loads the strategy captures in full and re-runs them. It then rebuilds exactly the events
and the ``Merged`` the one-process path gives (``load_events`` + ``merge``; the tests compare the
two), and the verdict is computed as usual.

The child never touches a connection it inherited, shares no Python objects it would write to
(it starts before anything is loaded, so nothing is copied page by page), and leaves with
``os._exit``. Used only where it is safe and pays: SQLite, fork, no other threads in this process,
a big incident, a whole-incident strategy replay (no ``--path``, no risk what-if).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sqlite3
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from replay.engine import (
    CaptureInfo,
    IncidentData,
    Options,
    StrategyRun,
    Trace,
    clock_offsets,
    gc_paused,
    run_strategy,
    strategy_captures,
    verdict,
)
from replay.load import load_events
from replay.merge import Anomaly, Ev, Merged, merge
from replay.sandbox import ReplayError

MIN_EVENTS = 200_000  # below this, forking and shipping the columns back cost more than they save
_NO_PARENTS: tuple[tuple[str, int, str], ...] = ()


def usable(n_events: int, opts: Options, light: frozenset[int]) -> bool:
    return (
        n_events >= MIN_EVENTS
        and bool(light)
        and opts.path is None
        and not any(k.startswith("risk.") for k in opts.sets)
        and hasattr(os, "fork")
        and threading.active_count() == 1
    )


def replay_split(
    cursor: Any,
    db_path: str,
    incident_id: int,
    name: str,
    captures: list[CaptureInfo],
    keys_by_id: dict[int, str],
    light: frozenset[int],
    opts: Options,
    qmark: bool = False,
    phases: dict[str, float] | None = None,
) -> tuple[dict[str, Any], Trace, IncidentData]:
    """The verdict and trace ``replay_traced`` gives for the incident, and the loaded incident
    (light captures without keys and payloads, as ``load_events(..., light=light)`` gives).
    ``cursor`` reads the database file ``db_path`` (``qmark``: a bare sqlite3 cursor).
    ``phases`` gets this process's seconds per phase (for the benchmark)."""
    offsets = clock_offsets(captures)
    tiers = opts.tiers
    clock = _Phases(phases)
    child = _Child(lambda: _merge_in_child(db_path, incident_id, keys_by_id, light, tiers, offsets))
    try:
        with gc_paused():
            full_ids = frozenset(i for i in keys_by_id if i not in light)
            full = load_events(cursor, incident_id, keys_by_id, qmark=qmark, only=full_ids)
            per_cap: dict[str, list[Ev]] = {keys_by_id[i]: [] for i in full_ids}
            for ev in full:
                per_cap[ev.capture].append(ev)  # each capture in seq order (ORDER BY seq)
            clock.lap("load_strategy_captures")
            runs: list[StrategyRun] | None = [
                run_strategy(c, per_cap[c.key], opts) for c in strategy_captures(captures)
            ]
            clock.lap("rerun_strategies")
            raw = child.result()
            clock.lap("wait_for_merge")
            shipped = _Shipped(raw)
            events = _events(shipped, keys_by_id, per_cap)
            merged = _merged(shipped, events)
            clock.lap("rebuild_merge_here")
            if merged.cycles_broken:
                runs = None  # breaking a cycle may reorder a capture: re-run on the merged order
            data = IncidentData(name, captures, events)
            trace = Trace(merged.events, [])
            result = verdict(data, merged, opts, trace, runs)
            clock.lap("compare_and_verdict")
            return result, trace, data
    finally:
        child.close()


class _Phases:
    def __init__(self, out: dict[str, float] | None) -> None:
        self.out = out
        self.t = time.perf_counter()

    def lap(self, name: str) -> None:
        if self.out is not None:
            now = time.perf_counter()
            self.out[name] = round(now - self.t, 3)
            self.t = now


class _Child:
    """``work() -> bytes`` in a forked child; ``result()`` waits for the bytes."""

    def __init__(self, work: Callable[[], bytes]) -> None:
        read, write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(read)
            code = 0
            try:
                payload = b"K" + work()
            except BaseException:
                payload, code = b"E" + traceback.format_exc().encode(), 1
            try:
                with os.fdopen(write, "wb") as out:
                    out.write(payload)
            finally:
                os._exit(code)
        os.close(write)
        self.read: int | None = read

    def result(self) -> bytes:
        assert self.read is not None
        with os.fdopen(self.read, "rb") as pipe:
            self.read = None
            data = pipe.read()
        os.waitpid(self.pid, 0)
        self.pid = 0
        if not data.startswith(b"K"):
            detail = data[1:].decode(errors="replace").strip().splitlines()
            raise ReplayError(f"the merge worker failed: {detail[-1] if detail else 'no answer'}")
        return data[1:]

    def close(self) -> None:
        """Stop a child whose result is no longer wanted (the replay failed before it)."""
        if self.read is not None:
            os.close(self.read)
            self.read = None
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.pid = 0


def _merge_in_child(
    db_path: str,
    incident_id: int,
    keys_by_id: dict[int, str],
    light: frozenset[int],
    tiers: Sequence[tuple[str, int]],
    offsets: dict[str, int],
) -> bytes:
    con = sqlite3.connect(db_path)
    try:
        with gc_paused():
            events = load_events(
                con.cursor(), incident_id, keys_by_id, qmark=True, light=frozenset(keys_by_id)
            )
            merged = merge(events, tiers=tiers, max_offset_ns=offsets)
    finally:
        con.close()
    light_keys = {keys_by_id[i] for i in light}
    return _ship(events, light_keys, merged)


# --- what the child sends: orjson columns (ints and small string tables), then a pickle ---


def _ship(events: list[Ev], light_keys: set[str], merged: Merged) -> bytes:
    names: dict[str, int] = {}  # every string shipped (capture keys, kinds, hosts, lanes, edges)

    def code(text: str) -> int:
        c = names.get(text)
        if c is None:
            c = names[text] = len(names)
        return c

    caps: dict[str, list[list[int]]] = {}
    for ev in events:
        if ev.capture not in light_keys:
            continue
        cols = caps.get(ev.capture)
        if cols is None:
            cols = caps[ev.capture] = [[] for _ in range(8)]
        seqs, kinds, ts, hl, hc, hosts, lanes, parents = cols
        seqs.append(ev.seq)
        kinds.append(code(ev.kind))
        ts.append(ev.ts_ns)
        hl.append(ev.hlc_l)
        hc.append(ev.hlc_c)
        hosts.append(code(ev.host))
        lanes.append(code(ev.lane))
        parents.append(len(ev.parents))
        for pcap, pseq, pkind in ev.parents:
            parents.append(code(pcap))
            parents.append(pseq)
            parents.append(code(pkind))
    order_caps = [code(ev.capture) for ev in merged.events]
    order_seqs = [ev.seq for ev in merged.events]
    columns = orjson.dumps([list(names), caps, order_caps, order_seqs])
    anomalies = [
        (a.src, a.dst, a.edge, a.skew_ns, a.tier, a.within_declared) for a in merged.anomalies
    ]
    rest = pickle.dumps((anomalies, merged.dangling, merged.cycles_broken, merged.fast_path))
    return len(columns).to_bytes(8, "little") + columns + rest


class _Shipped:
    def __init__(self, data: bytes) -> None:
        n = int.from_bytes(data[:8], "little")
        names, caps, order_caps, order_seqs = orjson.loads(data[8 : 8 + n])
        self.names: list[str] = names
        self.caps: dict[str, list[list[int]]] = caps
        self.order_caps: list[int] = order_caps
        self.order_seqs: list[int] = order_seqs
        self.anomalies, self.dangling, self.cycles, self.fast = pickle.loads(data[8 + n :])


def _events(shipped: _Shipped, keys_by_id: dict[int, str], full: dict[str, list[Ev]]) -> list[Ev]:
    """All events in ``load_events`` order: capture by capture (capture id order), seq order."""
    out: list[Ev] = []
    for cap_id in sorted(keys_by_id):
        key = keys_by_id[cap_id]
        if key in full:
            out.extend(full[key])
        elif key in shipped.caps:
            _light_events(key, shipped.caps[key], shipped.names, out)
    return out


def _light_events(key: str, cols: list[list[int]], names: list[str], out: list[Ev]) -> None:
    seqs, kinds, ts, hl, hc, hosts, lanes, parents = cols
    j = 0
    for i in range(len(seqs)):
        count = parents[j]
        j += 1
        ps = _NO_PARENTS
        if count:
            ps = tuple(
                (names[parents[j + 3 * t]], parents[j + 3 * t + 1], names[parents[j + 3 * t + 2]])
                for t in range(count)
            )
            j += 3 * count
        out.append(
            Ev(
                key,
                seqs[i],
                names[kinds[i]],
                ts[i],
                hl[i],
                hc[i],
                names[hosts[i]],
                names[lanes[i]],
                {},
                {},
                ps,
            )
        )


def _merged(shipped: _Shipped, events: list[Ev]) -> Merged:
    by_cap: dict[str, list[Ev | None]] = {}
    for ev in events:
        arr = by_cap.get(ev.capture)
        if arr is None:
            arr = by_cap[ev.capture] = []
        while len(arr) <= ev.seq:
            arr.append(None)
        arr[ev.seq] = ev
    names = shipped.names
    order: list[Ev] = []
    for c, seq in zip(shipped.order_caps, shipped.order_seqs, strict=True):
        found = by_cap[names[c]][seq]
        assert found is not None
        order.append(found)
    anomalies = [Anomaly(*a) for a in shipped.anomalies]
    return Merged(order, anomalies, shipped.dangling, shipped.cycles, shipped.fast)
