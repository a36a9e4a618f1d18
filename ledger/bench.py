"""`deltatrace bench ledger`: appends/s, verify entries/s, proof latency, against SHA-256 hashes/s.

Runs in a throwaway SQLite database (its own connection alias, migrated here, deleted after), so
the real ledger never gets benchmark entries. Sizes: 1M entries (quick: 100k).
"""

from __future__ import annotations

import hashlib
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.db import connections

from deltatrace.benchmarks import Suite, Target, best_of
from ledger import log, merkle
from ledger.verify import verify

ALIAS = "ledger_bench"
BATCH = 10_000


def _sha256_rate(n: int) -> float:
    data = [i.to_bytes(8, "big") * 8 for i in range(n)]  # 64-byte inputs, like an interior node
    sha = hashlib.sha256
    seconds = best_of(3, lambda: [sha(d).digest() for d in data])
    return n / seconds


def _entries(n: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "capture.registered",
            "time": 1_767_225_600_000 + i,
            "actor": "bench",
            "subject": hashlib.sha256(i.to_bytes(8, "big")).hexdigest(),
            "payload": {"capture_id": i, "events": i % 1000, "incident": "bench"},
        }
        for i in range(n)
    ]


def _open_db(path: Path) -> None:
    cfg = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
        },
    }
    connections.settings[ALIAS] = connections.configure_settings({"default": {}, ALIAS: cfg})[ALIAS]
    call_command("migrate", "ledger", database=ALIAS, verbosity=0)


def _latency(fn: Any, args: list[tuple[Any, ...]]) -> tuple[float, float]:
    """(median, p99) seconds of single calls."""
    times = []
    for a in args:
        t0 = time.perf_counter()
        fn(*a)
        times.append(time.perf_counter() - t0)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def run(quick: bool) -> Suite:
    n = 100_000 if quick else 1_000_000
    suite = Suite("ledger")
    sha_rate = _sha256_rate(n)
    suite.figures["entries"] = n
    suite.figures["sha256_hashes_per_s"] = round(sha_rate)

    # Verify core: leaf hashes + every level + root over the canonical bytes.
    blobs = [log.canonical_entry(**e) for e in _entries(n)]
    secs = best_of(3, lambda: merkle.root_from_levels(merkle.levels(merkle.leaf_hashes(blobs))))
    verify_rate = n / secs
    suite.figures["verify_entries_per_s"] = round(verify_rate)
    suite.figures["verify_vs_sha256"] = round(verify_rate / sha_rate, 3)

    tmp = Path(tempfile.mkdtemp(prefix="deltatrace-ledger-bench-"))
    try:
        _open_db(tmp / "bench.sqlite3")
        entries = _entries(n)
        t0 = time.perf_counter()
        for i in range(0, n, BATCH):
            log.append_many(entries[i : i + BATCH], using=ALIAS)
        append_secs = time.perf_counter() - t0
        suite.figures["append_batch"] = BATCH
        suite.figures["appends_per_s"] = round(n / append_secs)

        rng = random.Random(7)
        inc_args = [(rng.randrange(n), n, ALIAS) for _ in range(500)]
        con_args = [(rng.randrange(1, n), n, ALIAS) for _ in range(500)]
        log.inclusion_proof(*inc_args[0])  # warm the connection
        inc_med, inc_p99 = _latency(log.inclusion_proof, inc_args)
        con_med, con_p99 = _latency(log.consistency_proof, con_args)
        suite.figures["inclusion_proof_ms_median"] = round(inc_med * 1e3, 4)
        suite.figures["inclusion_proof_ms_p99"] = round(inc_p99 * 1e3, 4)
        suite.figures["consistency_proof_ms_median"] = round(con_med * 1e3, 4)
        suite.figures["consistency_proof_ms_p99"] = round(con_p99 * 1e3, 4)

        report = verify(using=ALIAS, captures=False)
        suite.figures["verify_db_entries_per_s"] = round(report.entries_per_s)
        suite.figures["verify_db_ok"] = str(report.ok)
    finally:
        if ALIAS in connections.settings:
            connections[ALIAS].close()
        shutil.rmtree(tmp, ignore_errors=True)

    suite.targets += [
        Target("verify_entries_per_s", verify_rate, 1_000_000),
        Target("inclusion_proof_ms_median", inc_med * 1e3, 1.0, "<="),
        Target("consistency_proof_ms_median", con_med * 1e3, 1.0, "<="),
    ]
    return suite
