"""Chunks of one large log on the other cores: where to cut, and forked workers that return bytes.

The log is cut into many chunks. Workers take them from the start, the parent from the end, each
claiming the next free one, so they meet wherever the CPU they actually got puts them: on a busy
machine the parent simply does more itself. Workers take the start because their results then
arrive in file order and the parent adds each as it comes, between its own chunks: only the
parent's own (fewer) chunks are left to add at the end, while the workers are idle. A worker is a
forked child, so it reads the parent's buffer without a copy and starts in milliseconds; each
chunk's result is one ``marshal`` blob (the fastest CPython codec for the plain dicts, lists and
strings of events), written to the worker's temporary file so that a worker never waits for the
parent to read. Cuts are only guesses at message boundaries: the caller checks that the previous
chunk really ended at each cut and otherwise frames the chunk itself.
"""

from __future__ import annotations

import multiprocessing
import os
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import IO, Any

# Below this, a fork and the transfer back cost more than a second core saves.
MIN_PARALLEL_BYTES = 4 << 20
# Small enough that a chunk's frames are still in the CPU caches when they are mapped and its result
# when the parent reads it (measured on `bench fix`: 128 KiB chunks ~200k msg/s, 1 MiB ~150k), and
# that the parent and the workers end close together; big enough that per-chunk costs stay small.
CHUNK_BYTES = 1 << 17
# One process reads a large log in chunks too, for the same cache reason (and a lower peak: only one
# chunk's frames are alive at a time). Separate from CHUNK_BYTES, which tests vary for workers.
SERIAL_CHUNK_BYTES = 1 << 17
# Looks at the run queue before forking workers (see idle_cpus).
IDLE_SAMPLES = 3
_NOTE = struct.Struct("qqq")  # chunk, offset in the worker's file, length (-1: failed)


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _runnable() -> int:
    """Runnable tasks on the machine right now, this one included (/proc/loadavg's 4th field)."""
    with open("/proc/loadavg", "rb") as f:
        return int(f.read().split()[3].split(b"/")[0])


def idle_cpus(samples: int = IDLE_SAMPLES) -> int:
    """Cores not running anything, besides this process's own: the most seen in ``samples`` looks
    1 ms apart. One look is an instant: a kernel thread that happens to be runnable then (27 of
    2,000 looks on an otherwise idle 2-core machine here) would cost a large read its worker, where
    a process that keeps a core busy shows in every look."""
    cpus = cpu_count()
    idle = 0
    for i in range(samples):
        if i:
            time.sleep(0.001)
        try:
            idle = max(idle, cpus - _runnable())
        except (OSError, ValueError, IndexError):
            return cpus - 1
        if idle >= cpus - 1:
            break
    return idle


def default_workers(size: int) -> int:
    """Worker processes for ``size`` bytes: one per idle core for a large log (on a busy machine a
    worker would only take turns with this process), from a process with no other threads (a fork
    copies only the calling thread, and any lock another holds)."""
    if size < MIN_PARALLEL_BYTES or threading.active_count() > 1:
        return 0
    return idle_cpus()


def split_points(data: bytes, chunks: int) -> list[int]:
    """[0, cut, ..., len(data)]: up to ``chunks`` chunks, each cut at a likely message boundary
    (a line end, or the start of a message that directly follows another)."""
    n = len(data)
    bounds = [0]
    for i in range(1, chunks):
        # Searched in this chunk's own stretch only: a search to the end of the file per cut
        # would scan it ``chunks`` times over.
        at, until = max(n * i // chunks, bounds[-1] + 1), n * (i + 1) // chunks
        nl = data.find(b"\n", at, until)
        if nl > 0 and data[nl - 1] == 13:  # CRLF: the framer stops before the CR
            nl -= 1
        soh = data.find(b"\x018=FIX", at, until if nl < 0 else nl)
        cut = soh + 1 if soh >= 0 else nl
        if bounds[-1] < cut < n:
            bounds.append(cut)
    bounds.append(n)
    return bounds


class Chunks:
    """Chunks 0..count-1: ``workers`` forked processes run ``func(chunk) -> bytes`` from the low
    end, the parent claims from the high end."""

    def __init__(self, count: int, func: Callable[[int], bytes], workers: int) -> None:
        ctx = multiprocessing.get_context("fork")
        self._lock = ctx.Lock()
        self._next = ctx.RawArray("q", [0, count - 1])  # lowest and highest unclaimed chunk
        self._workers: list[tuple[Any, Connection, IO[bytes]]] = []
        try:
            for _ in range(workers):
                conn, child = ctx.Pipe(duplex=False)
                out = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
                proc = ctx.Process(target=self._work, args=(func, child, out), daemon=True)
                proc.start()
                child.close()
                self._workers.append((proc, conn, out))
        except BaseException:
            self.close()
            raise

    def claim(self) -> int | None:
        """The parent's next chunk (the highest unclaimed), or None once every chunk is taken."""
        with self._lock:
            lo, hi = self._next
            if hi < lo:
                return None
            self._next[1] = hi - 1
            return hi

    def ready(self) -> Iterator[tuple[int, bytes | None]]:
        """Results that have arrived, without waiting (None: the worker failed on that chunk)."""
        for _, conn, out in self._workers:
            while not conn.closed and conn.poll():
                note = self._note(conn)
                if note is not None:
                    yield self._result(out, *note)

    def rest(self) -> Iterator[tuple[int, bytes | None]]:
        """Every remaining result; then the workers are gone."""
        for _, conn, out in self._workers:
            while not conn.closed and (note := self._note(conn)) is not None:
                yield self._result(out, *note)
        self.close()

    def close(self) -> None:
        for proc, conn, out in self._workers:
            conn.close()
            if proc.is_alive():
                proc.kill()
            proc.join()
            out.close()
        self._workers = []

    @staticmethod
    def _note(conn: Connection) -> tuple[int, int, int] | None:
        try:
            chunk, offset, length = _NOTE.unpack(conn.recv_bytes())
        except (EOFError, OSError):  # the worker is done (or died)
            conn.close()
            return None
        return chunk, offset, length

    @staticmethod
    def _result(out: IO[bytes], chunk: int, offset: int, length: int) -> tuple[int, bytes | None]:
        if length < 0:
            return chunk, None
        blob = os.pread(out.fileno(), length, offset)
        while len(blob) < length:
            more = os.pread(out.fileno(), length - len(blob), offset + len(blob))
            if not more:
                return chunk, None
            blob += more
        return chunk, blob

    def _claim_low(self) -> int | None:
        with self._lock:
            lo, hi = self._next
            if lo > hi:
                return None
            self._next[0] = lo + 1
            return lo

    def _work(self, func: Callable[[int], bytes], conn: Connection, out: IO[bytes]) -> None:
        """In the child: claim, run and report chunks until none is left."""
        offset = 0
        while (chunk := self._claim_low()) is not None:
            try:
                blob = func(chunk)
                done = 0
                while done < len(blob):
                    done += os.pwrite(out.fileno(), memoryview(blob)[done:], offset + done)
            except Exception:  # the parent then frames this chunk itself
                conn.send_bytes(_NOTE.pack(chunk, 0, -1))
                continue
            conn.send_bytes(_NOTE.pack(chunk, offset, len(blob)))
            offset += len(blob)
        conn.close()


def start(count: int, func: Callable[[int], bytes], workers: int) -> Chunks | None:
    """``Chunks``, or None where processes cannot be forked (no fork, or in a daemonic process)."""
    if workers < 1 or count < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    try:
        return Chunks(count, func, workers)
    except (AssertionError, OSError):  # e.g. "daemonic processes are not allowed to have children"
        return None
