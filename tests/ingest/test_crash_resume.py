"""A killed ingest, started again, ends with exactly the content of one clean run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deltatrace.bench import write_capture

ROOT = Path(__file__).resolve().parents[2]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DELTATRACE_HOME=str(home), PYTHONPATH=str(ROOT))
    return env


def _cli(home: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "deltatrace.cli", *args],
        env=_env(home),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _content(home: Path) -> tuple[list[tuple], list[tuple], list[tuple]]:
    db = sqlite3.connect(home / "deltatrace.sqlite3")
    events = db.execute(
        "SELECT c.key, e.seq, e.kind, e.ts_ns, e.payload, e.digest FROM deltatrace_event e "
        "JOIN deltatrace_capture c ON c.id = e.capture_id ORDER BY c.key, e.seq"
    ).fetchall()
    edges = db.execute(
        "SELECT src_seq, dst_seq, kind, inferred FROM deltatrace_edge ORDER BY dst_seq, src_seq, kind"
    ).fetchall()
    captures = db.execute("SELECT key, event_count, digest FROM deltatrace_capture").fetchall()
    return events, edges, captures


def _count(home: Path) -> int:
    try:
        db = sqlite3.connect(home / "deltatrace.sqlite3", timeout=1)
        return db.execute("SELECT COUNT(*) FROM deltatrace_event").fetchone()[0]
    except sqlite3.Error:
        return 0


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@pytest.mark.slow
def test_a_killed_ingest_resumes_to_the_same_content_as_a_clean_run(tmp_path):
    capture = tmp_path / "big.jsonl"
    write_capture(capture, 150_000)
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    for home in (clean, crashed):
        home.mkdir()
        assert _cli(home, "migrate", "-v0").wait(120) == 0

    assert _cli(clean, "ingest", str(capture), "--incident", "i").wait(300) == 0

    proc = _cli(crashed, "ingest", str(capture), "--incident", "i")
    deadline = time.monotonic() + 120
    while _count(crashed) < 40_000 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "ingest finished before it could be killed; use a bigger capture"
    parser = _children(proc.pid) if sys.platform == "linux" else []  # the forked parser
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    # The parser notices its writer is gone and ends too; it never lingers holding the files.
    deadline = time.monotonic() + 20
    while not all(_gone(p) for p in parser) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_gone(p) for p in parser), "the forked parser outlived the killed ingest"
    partial = _count(crashed)
    assert 0 < partial < 150_000
    assert partial % 20_000 == 0, "a killed ingest must leave whole batches only"

    assert _cli(crashed, "ingest", str(capture), "--incident", "i").wait(300) == 0
    assert _content(crashed) == _content(clean)
