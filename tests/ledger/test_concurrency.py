"""Concurrent appenders in several processes and threads never fork or gap the log."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection, connections

from ledger import log
from ledger.models import Checkpoint, LedgerEntry
from ledger.verify import verify

from .conftest import IS_POSTGRES

REPO = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "postgresql":
        port = s["PORT"] or 5432
        auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
        return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{port}/{s['NAME']}"
    return f"sqlite:///{s['NAME']}"


def _assert_one_unforked_log(expected: Counter[str]) -> None:
    subjects = Counter(
        e["subject"] for e in (x.as_dict() for x in LedgerEntry.objects.order_by("index"))
    )
    assert subjects == expected
    indexes = list(LedgerEntry.objects.order_by("index").values_list("index", flat=True))
    assert indexes == list(range(len(indexes)))
    log.latest_checkpoint()
    report = verify()
    assert report.ok, report.problems


def test_parallel_processes_append_without_fork_or_gap(
    transactional_db: None, ledger_key_dir: Path
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DELTATRACE_HOME": str(ledger_key_dir),
        "PYTHONPATH": str(REPO),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.ledger.appender", f"p{n}", "60", "7"],
            cwd=REPO,
            env=env,
            stderr=subprocess.PIPE,
        )
        for n in range(4)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()[-2000:]
    _assert_one_unforked_log(Counter({f"p{n}-{i}": 1 for n in range(4) for i in range(60)}))
    # Every committed batch got its checkpoint, each signed over a prefix of the same log.
    assert Checkpoint.objects.filter(tree_size=240).exists()


def test_parallel_threads_append_without_fork_or_gap(transactional_db: None) -> None:
    errors: list[BaseException] = []

    def work(tag: str) -> None:
        try:
            for start in range(0, 40, 5):
                log.append_many(
                    [
                        {
                            "type": "incident.opened",
                            "actor": tag,
                            "subject": f"{tag}-{i}",
                            "payload": {},
                        }
                        for i in range(start, start + 5)
                    ]
                )
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(f"t{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    _assert_one_unforked_log(Counter({f"t{n}-{i}": 1 for n in range(4) for i in range(40)}))


@pytest.mark.postgres
@pytest.mark.skipif(not IS_POSTGRES, reason="needs DATABASE_URL pointing at PostgreSQL")
@pytest.mark.django_db
def test_postgres_has_append_only_triggers_on_every_ledger_table() -> None:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname LIKE '%%_append_only' ORDER BY c.relname"
        )
        tables = [r[0] for r in cur.fetchall()]
    assert tables == ["ledger_checkpoint", "ledger_ledgerentry", "ledger_ledgernode"]
