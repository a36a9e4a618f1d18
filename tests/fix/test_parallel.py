"""Reading a log in chunks on several processes gives exactly the one-pass result."""

from __future__ import annotations

import random

import pytest

from adapters.fix import log as fix_log
from adapters.fix import parallel
from adapters.fix.bench import as_log, corpus
from adapters.fix.log import FixLog, read_fix_log
from tests.fix.conftest import linked_log


def _same(a: FixLog, b: FixLog) -> None:
    assert a.header == b.header
    assert a.quarantined == b.quarantined
    assert a.messages == b.messages
    assert a.events == b.events


@pytest.mark.parametrize("chunk_bytes", [300, 2000, 9000])
def test_chunked_reads_equal_the_one_pass_read(monkeypatch, chunk_bytes: int) -> None:
    data = linked_log(400, seed=3)
    one = read_fix_log(data, "p.log", workers=0)
    assert one.quarantined and any(e["parents"] for e in one.events)
    kinds = {p["kind"] for e in one.events for p in e["parents"]}
    assert kinds == {"order_chain", "order_report", "report_fill", "causal"}
    monkeypatch.setattr(parallel, "CHUNK_BYTES", chunk_bytes)
    for workers in (1, 2, 3):
        _same(read_fix_log(data, "p.log", workers=workers), one)


def test_chunked_reads_of_corrupted_logs_equal_the_one_pass_read(monkeypatch) -> None:
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 4000)
    rng = random.Random(5)
    clean = as_log(corpus(300, seed=4))
    for _ in range(25):
        buf = bytearray(clean)
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(len(buf))] = rng.choice([1, 10, 48, 57, 61, 124, rng.randrange(256)])
        data = bytes(buf)
        _same(read_fix_log(data, "c.log", workers=2), read_fix_log(data, "c.log", workers=0))


@pytest.mark.parametrize("at", [5, 30])
def test_a_message_across_a_cut_is_framed_where_it_starts(monkeypatch, tmp_path, at: int) -> None:
    # A BodyLength that lands on the next line's CheckSum makes one (bad) message of two lines:
    # the cut between them is not a boundary, so the next chunk is framed in the parent.
    messages = corpus(40, seed=1)
    a, b = messages[at], messages[at + 1]
    rest = a[a.index(b"\x0135=") :]  # SOH, then the body and the trailer
    body = len(rest) - 1 + len(b"\n20260101-00:00:11.011 : ") + len(b) - 7  # to b's CheckSum
    messages[at] = a[: a.index(b"\x019=") + 3] + b"%d" % body + rest
    data = as_log(messages)
    one = read_fix_log(data, "x.log", workers=0)
    (q,) = one.quarantined
    assert q["reason"].startswith("bad checksum") and q["raw"].endswith(b.decode())
    end = q["offset"] + len(q["raw"])
    inside = data.index(b"\n", q["offset"])  # where a cut would go: the line end after a
    cuts = [0, inside, data.index(b"\n", end + 1), len(data)]
    monkeypatch.setattr(parallel, "split_points", lambda data, chunks: cuts)
    # Where in-order framing starts (a file, in case a forked worker ever framed in order too).
    spy = tmp_path / "starts"
    frame = fix_log._Reader.frame

    def logged(r: fix_log._Reader, start: int, stop: int) -> int:
        with spy.open("a") as f:
            f.write(f"{start}\n")
        return frame(r, start, stop)

    monkeypatch.setattr(fix_log._Reader, "frame", logged)
    for workers in (1, 2):
        spy.write_text("")
        _same(read_fix_log(data, "x.log", workers=workers), one)
        starts = [int(x) for x in spy.read_text().split()]
        assert inside not in starts and end in starts  # framed on from where the message ended


def test_a_failed_worker_is_replaced_by_the_parent(monkeypatch) -> None:
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 3000)
    data = linked_log(200, seed=8)
    one = read_fix_log(data, "f.log", workers=0)

    def broken(*args: object) -> bytes:
        raise RuntimeError("worker died")

    monkeypatch.setattr(fix_log._Worker, "__call__", broken)
    _same(read_fix_log(data, "f.log", workers=2), one)
    monkeypatch.setattr(parallel, "start", lambda *a: None)  # no fork available
    _same(read_fix_log(data, "f.log", workers=2), one)


def test_small_logs_stay_in_process(monkeypatch) -> None:
    def no_fork(*args: object) -> None:
        pytest.fail("a small log must not start a process")

    monkeypatch.setattr(parallel, "start", no_fork)
    log = read_fix_log(as_log(corpus(500)), "s.log")
    assert log.messages == 500


def _run_queue(monkeypatch, cpus: int, looks: list[int]) -> list[int]:
    """The machine's run queue as successive looks at it; returns the looks not taken."""
    monkeypatch.setattr(parallel, "cpu_count", lambda: cpus)
    monkeypatch.setattr(parallel, "_runnable", lambda: looks.pop(0))
    return looks


def test_a_task_runnable_for_an_instant_does_not_cost_the_worker(monkeypatch) -> None:
    # A kernel thread was runnable beside this process at the first look only.
    left = _run_queue(monkeypatch, cpus=2, looks=[2, 1, 1])
    assert parallel.idle_cpus() == 1  # one worker for a large log
    assert left == [1]  # stops looking once every other core is seen idle


def test_a_busy_machine_gets_no_worker(monkeypatch) -> None:
    # Another process keeps the second core busy: it is runnable at every look.
    left = _run_queue(monkeypatch, cpus=2, looks=[2, 2, 2])
    assert parallel.idle_cpus() == 0 and not left  # no worker, after three looks
    _run_queue(monkeypatch, cpus=4, looks=[3, 4, 3])
    assert parallel.idle_cpus() == 1


def test_without_a_run_queue_to_read_every_other_core_counts_as_idle(monkeypatch) -> None:
    def unreadable() -> int:
        raise OSError("no /proc here")

    monkeypatch.setattr(parallel, "cpu_count", lambda: 4)
    monkeypatch.setattr(parallel, "_runnable", unreadable)
    assert parallel.idle_cpus() == 3
