"""Read a whole FIX message log into one capture: header, events and quarantined input."""

from __future__ import annotations

import marshal
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import PurePath
from typing import Any, NamedTuple

from adapters.fix import parallel
from adapters.fix.bulk import comp_id_votes, normalize_frames
from adapters.fix.framing import Framer
from adapters.fix.mapping import FixNormalizer
from deltatrace.gcpause import gc_paused


@dataclass
class FixLog:
    header: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    messages: int = 0  # valid messages turned into events


def capture_key(source: str) -> str:
    """The capture key of a file: its name without extension (`-` is stdin)."""
    if source in ("-", ""):
        return "stdin"
    name = PurePath(source).name
    return name.split(".", 1)[0] or name


def _local_comp_id(votes: Counter[str]) -> str | None:
    if not votes:
        return None
    # Ties go to the first in code-point order (= the UTF-8 byte order).
    return min(votes.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def read_fix_log(data: bytes, source: str, workers: int | None = None) -> FixLog:
    """Frame, verify and map every message of a FIX log; bad input is quarantined, never fatal.

    A large log is cut into small chunks, shared with ``workers`` forked processes (default: one
    per idle core for a log of a few MB or more), or read one after another without workers; the
    result is identical to one pass.
    """
    # Millions of small acyclic dicts: the cyclic GC would rescan them over and over (~1.5x here),
    # and once more after the read, unless promoted on the way out (see gc_paused).
    with gc_paused():
        return _read(data, source, workers)


class _Chunk(NamedTuple):
    """A chunk's result, recorded: its links are resolved when it is added in file order (see
    FixNormalizer.replay)."""

    start: int
    end: int
    events: list[dict[str, Any]]
    framing_quarantined: list[dict[str, Any]]
    mapping_quarantined: list[dict[str, Any]]
    begin_strings: set[str]
    votes: dict[str, int]
    ops: list[tuple[Any, ...]]
    by_msg: dict[tuple[str, int], int]
    base: int  # its events are numbered base + 1 ... end_seq
    end_seq: int
    messages: int


def _record(data: bytes, key: str, bounds: list[int], chunk: int, base: int = 0) -> _Chunk:
    """A chunk framed from its cut and normalised in record mode (its order links are resolved
    when it is added in file order; see FixNormalizer.replay), its events numbered from
    ``base + 1``."""
    start = bounds[chunk]
    framer = Framer(data).run(start, bounds[chunk + 1])
    norm = FixNormalizer(key, "", record=True)
    norm.seq = base
    events: list[dict[str, Any]] = []
    mapped_q: list[dict[str, Any]] = []
    messages = normalize_frames(framer.frames, norm, events, mapped_q)
    votes = comp_id_votes(framer.frames)
    # The frames go before a worker marshals the result: while a frame still holds the values its
    # events hold too, marshal marks every such shared object for back-references, which costs it
    # a lookup per object to write and the reader a list append per object to read (measured on a
    # 1 MiB chunk: writing ~18% and reading ~33% faster without them).
    framer.frames.clear()
    assert norm.ops is not None
    return _Chunk(
        start,
        framer.end,
        events,
        framer.quarantined,
        mapped_q,
        framer.begin_strings,
        votes,
        norm.ops,
        norm._by_msg,
        base,
        norm.seq,
        messages,
    )


class _Worker:
    """A worker's chunks, as marshal bytes (marshal takes plain tuples only).

    While a worker has had every chunk from the first (as the one worker of a 2-core machine has
    until it meets the parent), it knows how many events come before the next one and numbers its
    events as they will stay: the parent then renumbers nothing (its links are still resolved in
    file order). Otherwise they are numbered from 1 and renumbered when added."""

    def __init__(self, data: bytes, key: str, bounds: list[int]) -> None:
        self.data, self.key, self.bounds = data, key, bounds
        self.next, self.base = 0, 0  # the chunk that would follow on, and its events' base

    def __call__(self, chunk: int) -> bytes:
        follows = chunk == self.next
        self.next = -1  # until this chunk is done: a failure ends the run
        result = _record(self.data, self.key, self.bounds, chunk, self.base if follows else 0)
        if follows:
            self.next, self.base = chunk + 1, result.end_seq
        return marshal.dumps(tuple(result))


class _Reader:
    """Accumulates chunks in file order: framed here, or a worker's (record mode) replayed."""

    def __init__(self, data: bytes, key: str) -> None:
        self.data = data
        # The normaliser's host is only a fallback sender, and framing admits no message without
        # SenderCompID(49): the host is worked out at the end, for the header.
        self.norm = FixNormalizer(key, "")
        self.events: list[dict[str, Any]] = []
        self.framing_q: list[dict[str, Any]] = []
        self.mapping_q: list[dict[str, Any]] = []
        self.votes: Counter[str] = Counter()
        self.begin_strings: set[str] = set()
        self.messages = 0

    def frame(self, start: int, stop: int) -> int:
        """Frame and map [start, stop) here; returns where framing ended."""
        framer = Framer(self.data).run(start, stop)
        self.messages += normalize_frames(framer.frames, self.norm, self.events, self.mapping_q)
        self.framing_q += framer.quarantined
        self.begin_strings |= framer.begin_strings
        self.votes.update(comp_id_votes(framer.frames))
        return framer.end

    def add(self, chunk: _Chunk) -> int:
        self.norm.replay(chunk.events, chunk.ops, chunk.by_msg, chunk.end_seq, chunk.base)
        self.events += chunk.events
        self.messages += chunk.messages
        self.framing_q += chunk.framing_quarantined
        self.mapping_q += chunk.mapping_quarantined
        self.begin_strings |= chunk.begin_strings
        self.votes.update(chunk.votes)
        return chunk.end


def _gather(
    reader: _Reader, pool: parallel.Chunks, record: Callable[[int], _Chunk], bounds: list[int]
) -> None:
    """Every chunk added to ``reader`` in file order. Workers send theirs from the start, each
    added as it arrives, between the chunks this process records from the end; what is left is
    added once every chunk is taken. A chunk whose worker failed, or that does not start where
    the previous one ended (a message ran past the cut), is framed here instead."""
    count = len(bounds) - 1
    results: dict[int, _Chunk | None] = {}
    pos, nxt = 0, 0  # where the next chunk must start, and its index

    def take(ready: Iterable[tuple[int, bytes | None]]) -> None:
        for i, blob in ready:
            results[i] = _Chunk(*marshal.loads(blob)) if blob is not None else None

    def add_done() -> None:
        nonlocal pos, nxt
        while nxt < count and nxt in results:
            chunk = results.pop(nxt)
            if chunk is not None and chunk.start == pos:
                pos = reader.add(chunk)
            elif pos < bounds[nxt + 1]:  # else a message ran past this chunk's end
                pos = reader.frame(pos, bounds[nxt + 1])
            nxt += 1

    while (mine := pool.claim()) is not None:
        results[mine] = record(mine)
        take(pool.ready())
        add_done()
    take(pool.rest())
    for i in range(nxt, count):
        results.setdefault(i, None)  # a worker that died mid-chunk sent nothing for it
    add_done()


def _read(data: bytes, source: str, workers: int | None) -> FixLog:
    key = capture_key(source)
    n = len(data)
    if workers is None:
        workers = parallel.default_workers(n)
    bounds = [0, n]
    if workers > 0:
        bounds = parallel.split_points(data, max(2, n // parallel.CHUNK_BYTES))
    elif n >= parallel.MIN_PARALLEL_BYTES:
        # No workers: this process frames the chunks one after another (below), as when workers
        # fail; the result is the same as one pass (tests/fix/test_parallel.py).
        bounds = parallel.split_points(data, n // parallel.SERIAL_CHUNK_BYTES)
    pool = None
    if len(bounds) > 2:
        pool = parallel.start(len(bounds) - 1, _Worker(data, key, bounds), workers)
    reader = _Reader(data, key)
    if pool is not None:
        _gather(reader, pool, partial(_record, data, key, bounds), bounds)
    else:
        pos = 0
        for i in range(len(bounds) - 1):
            if pos < bounds[i + 1]:  # else a message ran past this chunk's end
                pos = reader.frame(pos, bounds[i + 1])
    host = _local_comp_id(reader.votes) or key
    reader.norm.host = host
    header: dict[str, Any] = {
        "format": "deltatrace.capture",
        "version": 1,
        "capture": key,
        "host": host,
        "adapter": "fix-log",
        "meta": {"source": source, "begin_strings": sorted(reader.begin_strings)},
    }
    # Framing's quarantine then mapping's, each in file order, as one pass gives them: the sort
    # is stable.
    quarantined = reader.framing_q + reader.mapping_q
    quarantined.sort(key=lambda q: q["offset"])
    return FixLog(header, reader.events, quarantined, reader.messages)
