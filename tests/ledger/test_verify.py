"""`ledger verify`: any altered byte in entries, tree nodes, checkpoints or events is found."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ledger import log
from ledger.models import LedgerEntry, maintenance
from ledger.verify import verify

from .helpers import fill

pytestmark = pytest.mark.django_db


@contextmanager
def tamper() -> Iterator[Any]:
    """Write to the database behind the application's back, as a rogue operator could."""
    with maintenance(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SET LOCAL session_replication_role = replica")  # skips triggers
        yield cur
        if connection.vendor == "postgresql":
            cur.execute("SET LOCAL session_replication_role = origin")


def _flip_char(text: str, rng: random.Random) -> tuple[int, str]:
    pos = rng.randrange(len(text))
    ch = text[pos]
    # Another printable ASCII character: the row stays valid text, only its content changes.
    new = chr(33 + (ord(ch) - 33 + rng.randrange(1, 94)) % 94) if 33 <= ord(ch) < 127 else "x"
    return pos, text[:pos] + new + text[pos + 1 :]


def test_an_untouched_log_verifies() -> None:
    fill(20)
    log.latest_checkpoint()
    report = verify()
    assert report.ok, report.problems
    assert report.tree_size == 20 and report.checkpoint_size == 20


@pytest.mark.parametrize("seed", range(8))
def test_a_random_byte_flip_in_any_entry_is_found_at_its_index(seed: int) -> None:
    rng = random.Random(seed)
    fill(40)
    log.latest_checkpoint()
    index = rng.randrange(40)
    text = LedgerEntry.objects.get(index=index).canonical
    _, flipped = _flip_char(text, rng)
    with tamper() as cur:
        cur.execute(
            'UPDATE ledger_ledgerentry SET canonical = %s WHERE "index" = %s', [flipped, index]
        )
    report = verify()
    assert not report.ok
    assert report.first_bad_index == index, report.problems


def test_a_rewritten_history_with_matching_nodes_fails_the_signed_checkpoint() -> None:
    fill(10)
    log.latest_checkpoint()
    fill(6)
    log.latest_checkpoint()
    with tamper() as cur:
        cur.execute('DELETE FROM ledger_ledgerentry WHERE "index" >= 12')
        cur.execute("DELETE FROM ledger_ledgernode")
    # Re-append different entries 12..15 and rebuild every stored node consistently.
    from ledger import merkle
    from ledger.models import node_key

    rows = list(LedgerEntry.objects.values_list("canonical", flat=True))
    forged = [r.replace("incident-1", "incident-X") for r in rows[10:12]]
    with tamper() as cur:
        for i, text in zip((10, 11), forged, strict=True):
            cur.execute(
                'UPDATE ledger_ledgerentry SET canonical = %s WHERE "index" = %s', [text, i]
            )
        blobs = [r.encode() for r in [*rows[:10], *forged]]
        lv = merkle.levels(merkle.leaf_hashes(blobs))
        for level, hashes in enumerate(lv):
            for i, h in enumerate(hashes):
                cur.execute(
                    "INSERT INTO ledger_ledgernode (key, hash) VALUES (%s, %s)",
                    [node_key(level, i), h],
                )
    report = verify()
    assert not report.ok
    assert report.first_bad_index == 10, report.problems
    assert any("only 12 stored" in p for p in report.problems)


def test_a_forged_checkpoint_signature_is_found() -> None:
    fill(5)
    cp = log.latest_checkpoint()
    forged = cp.note.replace("\n5\n", "\n4\n")
    with tamper() as cur:
        cur.execute("UPDATE ledger_checkpoint SET note = %s WHERE id = %s", [forged, cp.pk])
    report = verify()
    assert not report.ok and any("invalid signature" in p for p in report.problems)


EVENT_COLUMNS = ("kind", "host", "lane", "symbol", "cl_ord_id", "payload", "raw", "digest")


def _capture(tmp_path: Path) -> Path:
    lines = [{"format": "deltatrace.capture", "version": 1, "capture": "strat", "host": "h1"}]
    for seq in range(1, 13):
        lines.append(
            {
                "seq": seq,
                "kind": "Order" if seq % 2 else "MDTick",
                "ts_ns": 1_767_225_600_000_000_000 + seq * 1000,
                "lane": "executor",
                "keys": {"symbol": "ACME", "cl_ord_id": f"C{seq}"},
                "parents": [{"seq": seq - 1, "kind": "causal"}] if seq > 1 else [],
                "payload": {"qty": seq * 10, "price": f"101.{seq:02d}", "note": "a\u001fb"},
                "raw": f"8=FIX.4.4\u000135={seq}\u0001",
            }
        )
    path = tmp_path / "strat.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return path


@pytest.fixture
def ingested(tmp_path: Path) -> dict[str, Any]:
    ingest = pytest.importorskip("deltatrace.ingest")
    summary: dict[str, Any] = ingest.ingest_paths([str(_capture(tmp_path))], "ledger-verify")
    assert summary["accepted"] == 12
    assert LedgerEntry.objects.filter(type="capture.registered").count() == 1
    log.latest_checkpoint()
    return summary


def test_ingested_captures_verify(ingested: dict[str, Any]) -> None:
    report = verify()
    assert report.ok, report.problems
    assert report.captures_checked == 1 and report.events_checked == 12


@pytest.mark.parametrize("seed", range(10))
def test_a_random_byte_flip_in_any_event_row_is_found(ingested: dict[str, Any], seed: int) -> None:
    from deltatrace.models import Event

    rng = random.Random(seed)
    ev = Event.objects.order_by("seq")[rng.randrange(12)]
    column = EVENT_COLUMNS[seed % len(EVENT_COLUMNS)]
    _, flipped = _flip_char(getattr(ev, column), rng)
    with tamper() as cur:
        cur.execute(f"UPDATE deltatrace_event SET {column} = %s WHERE id = %s", [flipped, ev.pk])
    report = verify()
    assert not report.ok, f"{column} flip not detected"
    registered = LedgerEntry.objects.get(type="capture.registered").index
    assert report.first_bad_index == registered
    assert any("strat" in p for p in report.problems)


def test_changed_event_numbers_are_found(ingested: dict[str, Any]) -> None:
    with tamper() as cur:
        cur.execute("UPDATE deltatrace_event SET ts_ns = ts_ns + 1 WHERE seq = 7")
    assert not verify().ok


def test_the_command_exits_non_zero_with_the_first_bad_index(capsys: Any) -> None:
    fill(6)
    log.latest_checkpoint()
    call_command("ledger", "verify", "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is True and out["tree_size"] == 6
    with tamper() as cur:
        cur.execute("""UPDATE ledger_ledgerentry SET canonical = '{}' WHERE "index" = 3""")
    with pytest.raises(CommandError, match="first bad index 3"):
        call_command("ledger", "verify", "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["first_bad_index"] == 3
