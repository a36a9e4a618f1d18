"""`deltatrace bench ingest`: capture ingest against a bare sqlite3 executemany of the same rows.

Both run on scratch databases in a temporary directory with the schema the migrations create, so the
baseline pays for the same table and indexes. Ingest runs in a subprocess with its own
DELTATRACE_HOME, timed inside that process (Django start-up and migrations excluded).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from deltatrace.benchmarks import Suite, Target

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z


def write_capture(path: Path, n: int, host: str = "strategy-1") -> None:
    """A realistic mixed capture: ticks, signals, plan deltas, orders, reports and fills."""
    header = {
        "format": "deltatrace.capture",
        "version": 1,
        "capture": host,
        "host": host,
        "adapter": "bench",
    }
    with open(path, "wb") as fh:
        fh.write(orjson.dumps(header) + b"\n")
        buf = []
        px = 10_000
        for seq in range(1, n + 1):
            ts = T0 + seq * 1_000
            r = seq % 10
            if r < 6:
                px += (seq * 7919) % 5 - 2
                ev: dict[str, Any] = {
                    "seq": seq,
                    "kind": "MDTick",
                    "ts_ns": ts,
                    "lane": "md",
                    "keys": {"symbol": "ACME"},
                    "payload": {
                        "bid": f"{px / 100:.2f}",
                        "ask": f"{(px + 2) / 100:.2f}",
                        "bid_size": 500,
                        "ask_size": 300,
                    },
                }
            elif r == 6:
                ev = {
                    "seq": seq,
                    "kind": "Signal",
                    "ts_ns": ts,
                    "keys": {"symbol": "ACME", "signal_id": f"s{seq}"},
                    "parents": [{"seq": seq - 1, "kind": "tick_signal"}],
                    "payload": {"name": "momentum", "value": "0.0012"},
                }
            elif r == 7:
                ev = {
                    "seq": seq,
                    "kind": "Order",
                    "ts_ns": ts,
                    "keys": {"symbol": "ACME", "cl_ord_id": f"C{seq}"},
                    "parents": [{"seq": seq - 1, "kind": "plan_order"}],
                    "payload": {
                        "action": "new",
                        "side": "BUY",
                        "qty": 100,
                        "price": f"{px / 100:.2f}",
                        "type": "LIMIT",
                        "tif": "DAY",
                    },
                }
            elif r == 8:
                ev = {
                    "seq": seq,
                    "kind": "ExecReport",
                    "ts_ns": ts,
                    "keys": {
                        "symbol": "ACME",
                        "cl_ord_id": f"C{seq - 1}",
                        "order_id": f"O{seq}",
                        "exec_id": f"E{seq}",
                    },
                    "payload": {
                        "exec_type": "NEW",
                        "ord_status": "NEW",
                        "cum_qty": 0,
                        "leaves_qty": 100,
                        "avg_px": "0",
                    },
                }
            else:
                ev = {
                    "seq": seq,
                    "kind": "Fill",
                    "ts_ns": ts,
                    "keys": {
                        "symbol": "ACME",
                        "cl_ord_id": f"C{seq - 2}",
                        "exec_id": f"E{seq - 1}",
                    },
                    "payload": {
                        "side": "BUY",
                        "last_qty": 100,
                        "last_px": f"{px / 100:.2f}",
                        "cum_qty": 100,
                        "leaves_qty": 0,
                    },
                }
            buf.append(orjson.dumps(ev))
            if len(buf) >= 50_000:
                fh.write(b"\n".join(buf) + b"\n")
                buf = []
        if buf:
            fh.write(b"\n".join(buf) + b"\n")


_WORKER = """
import json, sys, time, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from deltatrace.ingest import ingest_paths
t0 = time.perf_counter()
summary = ingest_paths([sys.argv[1]], "bench", actor="bench")
elapsed = time.perf_counter() - t0
print(json.dumps({"elapsed": elapsed, "accepted": summary["accepted"]}))
"""


def _run_ingest(home: Path, capture: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "DELTATRACE_HOME": str(home),
        "DJANGO_SETTINGS_MODULE": "deltatrace.settings",
    }
    env.pop("DATABASE_URL", None)  # the target is the embedded SQLite
    out = subprocess.run(
        [sys.executable, "-c", _WORKER, str(capture)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"ingest worker failed: {out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _baseline(schema_db: Path, capture: Path, scratch: Path) -> float:
    """Seconds for a bare executemany of the rows ingest would write, into the same schema."""
    src = sqlite3.connect(schema_db)
    ddl = [
        sql
        for (sql,) in src.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name IN ('deltatrace_event', 'deltatrace_incident', "
            "'deltatrace_capture', 'auth_user') AND sql IS NOT NULL ORDER BY type DESC"
        )
    ]
    src.close()
    db = sqlite3.connect(scratch, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=OFF")
    for sql in ddl:
        db.execute(sql)
    rows = []
    with open(capture, "rb") as fh:
        next(fh)
        for line in fh:
            e = orjson.loads(line)
            k = e.get("keys", {})
            rows.append(
                (
                    1,
                    1,
                    e["seq"],
                    e["kind"],
                    e["ts_ns"],
                    None,
                    e["ts_ns"],
                    0,
                    "strategy-1",
                    e.get("lane", "x"),
                    k.get("symbol", ""),
                    k.get("cl_ord_id", ""),
                    "",
                    k.get("order_id", ""),
                    k.get("exec_id", ""),
                    k.get("signal_id", ""),
                    "",
                    orjson.dumps(e.get("payload", {})).decode(),
                    None,
                    "0" * 64,
                )
            )
    cols = (
        "incident_id, capture_id, seq, kind, ts_ns, recv_ts_ns, hlc_l, hlc_c, host, lane, symbol, cl_ord_id, "
        "orig_cl_ord_id, order_id, exec_id, signal_id, plan_id, payload, raw, digest"
    )
    t0 = time.perf_counter()
    for i in range(0, len(rows), 20_000):
        db.execute("BEGIN")
        db.executemany(
            f"INSERT INTO deltatrace_event ({cols}) VALUES ({', '.join('?' * 20)})",
            rows[i : i + 20_000],
        )
        db.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    db.close()
    return elapsed


def run(quick: bool = False) -> Suite:
    n = 100_000 if quick else 1_000_000
    suite = Suite("ingest")
    with tempfile.TemporaryDirectory(prefix="dt-bench-") as tmp:
        root = Path(tmp)
        capture = root / "capture.jsonl"
        write_capture(capture, n)
        home = root / "home"
        home.mkdir()
        result = _run_ingest(home, capture)
        base = _baseline(home / "deltatrace.sqlite3", capture, root / "baseline.sqlite3")
    rate = n / result["elapsed"]
    base_rate = n / base
    suite.figures.update(
        {
            "events": n,
            "ingest_seconds": round(result["elapsed"], 3),
            "ingest_events_per_s": round(rate),
            "executemany_rows_per_s": round(base_rate),
            "ratio_to_executemany": round(rate / base_rate, 3),
        }
    )
    suite.targets.append(Target("ingest events/s (embedded SQLite)", round(rate), 250_000))
    suite.targets.append(Target("ingest / bare executemany", round(rate / base_rate, 3), 0.35))
    return suite
