"""Two-process ingest: a forked child validates and hashes, the parent writes, batch by batch.

Decoding, validating and hashing an event costs about as much CPU as SQLite spends storing it, and
one Python process cannot overlap the two (the GIL; a writer thread measured 3x slower). So for a
big regular JSONL file, or the events of a big FIX log, a forked child runs the ordinary
`CaptureWriter` event by event — the same checks, quarantine reasons, inferred links and batch
boundaries — but instead of writing a batch it ships it to the parent, which writes it with the same
`_write_batch` in the same order. (A FIX log is read first, in this process: its header, which names
the capture, comes from the whole log; the child inherits the events, copy-on-write, which is why
it is only forked with memory to spare: see `room_for_a_copy`.) The database is only ever touched
by the parent: the child never uses the connection it inherited, and leaves with `os._exit` so
nothing of it is closed or flushed twice.

Batches travel as ``marshal`` (the same interpreter on both ends of a fork; the rows are plain
tuples of ints, strings and None): the parent, the busier side, reads a batch four times faster
than from orjson (0.30 against 1.26 s for 317,062 rows) and gets the tuples the one-process path
writes. The pipe holds a batch in flight and the child's thread two more, which bounds memory and
keeps the two processes in step. Outcome, idempotency and crash behaviour are those of the
sequential path: whole batches in order, then the capture is finalised by the parent.
"""

from __future__ import annotations

import contextlib
import itertools
import marshal
import multiprocessing
import os
import pickle
import queue
import threading
import traceback
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection
from typing import Any

import orjson
from django.conf import settings

from deltatrace.ingest.writer import CaptureWriter, IngestError
from deltatrace.segments import SegmentError
from deltatrace.segments import pack as pack_segment

_BATCH, _PICKLED, _SEGMENT, _ERROR, _DONE = b"B", b"P", b"S", b"E", b"D"
# What the child runs on its writer (whose batches are shipped rather than written).
Feed = Callable[[CaptureWriter], None]


def worth_a_child(size: int) -> bool:
    """Two processes for ``size`` bytes of input: forking costs ~10 ms, so only big inputs."""
    threshold: int = settings.INGEST_PIPELINE_MIN_BYTES
    return threshold >= 0 and size >= threshold and hasattr(os, "fork")


def room_for_a_copy() -> bool:
    """Whether the machine could hold a second copy of this process's memory, with a quarter to
    spare: what a forked child that touches every object inherited ends up with (copy-on-write;
    a reference count is a write). False where /proc cannot tell."""
    try:
        with open("/proc/self/status", "rb") as f:
            own = next(int(line.split()[1]) for line in f if line.startswith(b"RssAnon:"))
        with open("/proc/meminfo", "rb") as f:
            free = next(int(line.split()[1]) for line in f if line.startswith(b"MemAvailable:"))
    except (OSError, StopIteration, ValueError, IndexError):
        return False
    return free > own * 5 // 4


def use_pipeline(path: str) -> bool:
    """Big regular files only: stdin cannot be re-read by the child."""
    if path == "-":
        return False
    try:
        return os.path.isfile(path) and worth_a_child(os.path.getsize(path))
    except OSError:
        return False


def ingest_lines_in_child(writer: CaptureWriter, path: str, first_line_no: int) -> None:
    """Parse `path` from line `first_line_no` on in a child process; write its batches here."""

    def feed(child_writer: CaptureWriter) -> None:
        with open(path, "rb", buffering=1 << 20) as fh:
            child_writer.add_lines(itertools.islice(enumerate(fh, 1), first_line_no - 1, None))

    _run_in_child(writer, feed, f"{path}: the parser process")


def ingest_events_in_child(
    writer: CaptureWriter,
    events: Iterable[tuple[int, dict[str, Any]]],
    quarantined: Iterable[tuple[int, str, str]],
    source: str,
) -> None:
    """An adapter's events (and what it quarantined itself, first) checked in a child process;
    their batches written here."""

    def feed(child_writer: CaptureWriter) -> None:
        child_writer.add_events(events, quarantined)

    # Here the child is the slower side (checking an event costs more than storing it once the
    # parsing is done), so the writer packs the event segments itself.
    _run_in_child(writer, feed, f"{source}: the checking process", pack_segments=False)


def _run_in_child(
    writer: CaptureWriter, feed: Feed, label: str, pack_segments: bool = True
) -> None:
    """Run ``feed`` on the writer in a forked child that ships its batches; write them here
    (``pack_segments``: the child packs each batch's event segment too)."""
    # Whatever the parent buffered (a quarantined header) goes first, as it would sequentially.
    writer.flush()
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_child,
        args=(send, recv, writer, feed, label, pack_segments),
        name="deltatrace-parse",
    )
    child.start()
    send.close()
    segment: bytes | None = None  # the next batch's event segment, when the parser packed it
    try:
        while True:
            try:
                msg = recv.recv_bytes()
            except EOFError:
                raise IngestError(f"{label} stopped unexpectedly") from None
            tag, body = msg[:1], msg[1:]
            if tag == _SEGMENT:
                segment = body
            elif tag in (_BATCH, _PICKLED):
                batch = marshal.loads(body) if tag == _BATCH else pickle.loads(body)
                rows, lines, edges, quarantine = batch
                writer._write_batch(rows, lines, _resolve(writer, edges), quarantine, segment)
                segment = None
            elif tag == _ERROR:
                raise IngestError(body.decode())
            else:
                _merge_totals(writer, orjson.loads(body))
                break
    finally:
        recv.close()
        if child.is_alive():
            child.terminate()
        child.join()


def _resolve(writer: CaptureWriter, edges: list[Any]) -> list[Any]:
    """Parents in other captures come as capture keys: only the parent may create captures."""
    return [e if type(e[1]) is not str else (e[0], writer._capture_id(e[1]), *e[2:]) for e in edges]


def _merge_totals(writer: CaptureWriter, totals: dict[str, Any]) -> None:
    for ts in (totals["min_ts"], totals["max_ts"]):
        if ts is not None:
            writer._min_ts = ts if writer._min_ts is None else min(ts, writer._min_ts)
            writer._max_ts = ts if writer._max_ts is None else max(ts, writer._max_ts)
    for reason, n in totals["reasons"].items():
        writer.summary.reasons[reason] = writer.summary.reasons.get(reason, 0) + n


class _Shipper:
    """Sends the child's messages, in order, from a thread: a send blocks until the parent has
    read the whole message, which it does only between writes, so without this the child would
    wait out each write instead of preparing the next batch. Up to ``depth`` messages wait here
    (a batch is a few MB)."""

    def __init__(self, conn: Connection, depth: int = 2) -> None:
        self._conn = conn
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="deltatrace-ship", daemon=True)
        self._thread.start()

    def send(self, msg: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(msg)

    def close(self) -> None:
        """Wait until everything queued is sent."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (msg := self._queue.get()) is not None:
            if self._error is not None:
                continue  # the parent is gone: drain, so that a send never waits forever
            try:
                self._conn.send_bytes(msg)
            except BaseException as exc:  # re-raised in the sending thread
                self._error = exc


def _child(
    conn: Connection,
    parent_end: Connection,
    writer: CaptureWriter,
    feed: Feed,
    label: str,
    pack_segments: bool,
) -> None:
    # The fork gave this process the parent's reading end too: closed, so that if the parent dies
    # (killed mid-ingest) the next send fails and this process ends, instead of waiting forever
    # for a reader that is itself.
    parent_end.close()
    code = 0
    ship = _Shipper(conn)
    try:
        known = writer._capture_ids

        def send_batch(
            rows: list[Any],
            lines: list[int],
            edges: list[Any],
            quarantine: list[Any],
            segment: bytes | None = None,
        ) -> None:
            # Where the writer is the slower of the two processes (JSONL: parsing is done here), its
            # event segment is packed here, unless a cause names a capture the parent has yet to
            # create (it packs that one).
            if pack_segments and writer.segments and rows and all(type(e[1]) is int for e in edges):
                # Rows out of seq order make no segment: the parent would not store it either.
                with contextlib.suppress(SegmentError):
                    ship.send(_SEGMENT + pack_segment(rows, edges))
            batch = (rows, lines, edges, quarantine)
            try:
                ship.send(_BATCH + marshal.dumps(batch))
            except ValueError:  # a value marshal does not take (none expected): pickle copes
                ship.send(_PICKLED + pickle.dumps(batch, protocol=5))

        # Instance attributes shadow the methods: same buffering, shipped instead of written.
        writer._write_batch = send_batch  # type: ignore[method-assign]

        def capture_ref(key: str) -> Any:  # an id when known, else the key, for the parent
            return known.get(key) or key

        writer._capture_id = capture_ref  # type: ignore[method-assign]
        writer._min_ts = writer._max_ts = None
        writer.summary.reasons = {}
        feed(writer)
        writer.flush()
        totals = {"min_ts": writer._min_ts, "max_ts": writer._max_ts}
        ship.send(_DONE + orjson.dumps({**totals, "reasons": writer.summary.reasons}))
    except IngestError as exc:
        with contextlib.suppress(BaseException):  # the parent may be gone: nobody to tell
            ship.send(_ERROR + str(exc).encode())
    except BaseException:  # everything else reaches the user with its traceback
        with contextlib.suppress(BaseException):
            ship.send(_ERROR + f"{label} failed:\n{traceback.format_exc()}".encode())
        code = 1
    finally:
        ship.close()
        conn.close()
        os._exit(code)
