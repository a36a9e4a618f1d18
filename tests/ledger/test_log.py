"""Appending: canonical entries, stored subtrees, checkpoints after commit, append-only tables."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import rfc8785
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from ledger import keys, log, merkle, note
from ledger.models import Checkpoint, LedgerEntry, LedgerNode

from .helpers import entry, fill, hexes

pytestmark = pytest.mark.django_db


def test_append_gives_consecutive_indexes_and_canonical_entries() -> None:
    a = log.append("incident.opened", "alice", "inc-1", {"b": 1, "a": "x"}, time=1_700_000_000_000)
    b = log.append("incident.closed", "bob", "inc-1", {})
    assert (a.index, b.index) == (0, 1)
    assert a.canonical == (
        '{"actor":"alice","payload":{"a":"x","b":1},"subject":"inc-1",'
        '"time":1700000000000,"type":"incident.opened"}'
    )
    stored = LedgerEntry.objects.get(index=1).as_dict()
    assert stored["time"].endswith("Z") and stored["actor"] == "bob"
    assert rfc8785.dumps(stored).decode() == LedgerEntry.objects.get(index=1).canonical


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "incident.deleted"}, "unknown entry type"),
        ({"actor": ""}, "actor"),
        ({"payload": {"n": 2**53 + 1}}, "strict RFC 8785"),
        ({"payload": {"x": float("nan")}}, "strict RFC 8785"),
        ({"payload": [1]}, "payload must be a JSON object"),
        ({"time": "yesterday"}, "RFC 3339"),
        ({"time": "2026-01-01T00:00:00"}, "time zone"),
        ({"time": 2**60}, "within 2"),
    ],
)
def test_bad_entries_are_refused_and_the_batch_is_not_appended(
    change: dict[str, Any], message: str
) -> None:
    log.append(**entry(0))
    with pytest.raises(log.LedgerError, match=message):
        log.append_many([entry(1), {**entry(2), **change}])
    assert log.tree_size() == 1


def test_a_checkpoint_is_signed_after_commit_and_not_for_a_rollback(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        fill(5)
    cp = Checkpoint.objects.latest()
    assert cp.tree_size == 5
    parsed = note.open_checkpoint(cp.note, [keys.server_key().verifier()], origin=keys.origin())
    leaves = merkle.leaf_hashes(e.canonical.encode() for e in LedgerEntry.objects.all())
    assert parsed.root == merkle.root(leaves) == bytes(cp.root)

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        sid = transaction.savepoint()
        log.append(**entry(9))
        transaction.savepoint_rollback(sid)
    assert log.tree_size() == 5
    assert Checkpoint.objects.latest().tree_size == 5


def test_latest_checkpoint_catches_up_with_the_log() -> None:
    fill(3)  # on_commit never runs inside the test transaction
    assert not Checkpoint.objects.exists()
    assert log.latest_checkpoint().tree_size == 3
    assert log.latest_checkpoint().pk == Checkpoint.objects.latest().pk


def test_stored_nodes_are_exactly_the_perfect_subtrees() -> None:
    for batch in ([entry(i) for i in range(5)], [entry(5)], [entry(i) for i in range(6, 13)]):
        log.append_many(batch)
    leaves = merkle.leaf_hashes(e.canonical.encode() for e in LedgerEntry.objects.all())
    lv = merkle.levels(leaves)
    want = {(lvl, i): h for lvl, hs in enumerate(lv) for i, h in enumerate(hs)}
    got = {divmod(n.key, 1 << 48): bytes(n.hash) for n in LedgerNode.objects.all()}
    assert got == want


def test_db_proofs_verify_against_the_signed_root() -> None:
    fill(37)
    fill_size = 37
    leaves = merkle.leaf_hashes(e.canonical.encode() for e in LedgerEntry.objects.all())
    root = bytes(log.latest_checkpoint().root)
    for i in (0, 1, 17, 36):
        p = log.inclusion_proof(i, fill_size)
        assert p["leaf_index"] == i and p["tree_size"] == fill_size
        assert p["leaf_hash"] == leaves[i].hex()
        merkle.verify_inclusion(i, fill_size, leaves[i], hexes(p["hashes"]), root)
    for m in (1, 8, 20, 37):
        c = log.consistency_proof(m, fill_size)
        merkle.verify_consistency(m, fill_size, hexes(c["hashes"]), merkle.root(leaves[:m]), root)
    with pytest.raises(log.LedgerError, match="larger than the log"):
        log.inclusion_proof(0, 38)
    with pytest.raises(log.LedgerError, match="not in a tree"):
        log.inclusion_proof(37, 37)


def _rejected(sql: str) -> None:
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cur,
    ):
        cur.execute(sql)


def test_database_rejects_updates_and_deletes_on_ledger_tables() -> None:
    fill(4)
    log.latest_checkpoint()
    for table in ("ledger_ledgerentry", "ledger_ledgernode", "ledger_checkpoint"):
        _rejected(f"DELETE FROM {table}")
    _rejected("UPDATE ledger_ledgerentry SET canonical = '{}' WHERE \"index\" = 2")
    _rejected("UPDATE ledger_ledgernode SET hash = hash")
    _rejected("UPDATE ledger_checkpoint SET tree_size = 99")
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(index=0).update(type="incident.closed")
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(index=3).delete()
    assert log.tree_size() == 4
    assert orjson.loads(LedgerEntry.objects.get(index=2).canonical)["subject"] == "incident-2"


def test_index_collisions_cannot_fork_the_log() -> None:
    log.append(**entry(0))
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            'INSERT INTO ledger_ledgerentry ("index", type, canonical) VALUES (0, %s, %s)',
            ["incident.opened", "{}"],
        )


def test_only_a_whole_database_flush_may_empty_the_ledger() -> None:
    fill(3)
    log.latest_checkpoint()
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.all().delete()
    call_command("flush", interactive=False, verbosity=0)
    assert log.tree_size() == 0 and not Checkpoint.objects.exists()
