"""Appending to the ledger and reading it back: the API other areas call.

Entries are strict RFC 8785 records ``{type, time, actor, subject, payload}``. Appends take a lock for
the rest of the caller's transaction (PostgreSQL: a transaction-level advisory lock; SQLite: the
database write lock), so concurrent writers from any number of processes never fork or gap the log.
Each append stores the leaf and every perfect subtree it completes; a signed checkpoint follows each
committed batch (``transaction.on_commit``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import connections, transaction

from deltatrace.canonical import strict_jcs
from ledger import keys, merkle, note
from ledger.models import Checkpoint, LedgerEntry, LedgerNode, node_key

ENTRY_TYPES = frozenset(
    {
        "capture.registered",
        "incident.opened",
        "incident.closed",
        "trigger.proposed",
        "approval.recorded",
        "trigger.executed",
        "replay.verdict",
        "report.issued",
        "privacy.policy",
        "key.registered",
        "key.revoked",
        "key.rotated",
    }
)
MAX_SAFE_INT = 2**53 - 1
_PG_LOCK_ID = 0x44656C7461  # "Delta": one advisory lock for the whole log


class LedgerError(ValueError):
    """A bad entry or a bad proof request; the message says what is wrong."""


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _check_time(value: Any) -> str | int:
    if value is None:
        return now_rfc3339()
    if type(value) is int:
        if abs(value) > MAX_SAFE_INT:
            raise LedgerError("time in integer milliseconds must be within 2^53")
        return value
    if type(value) is str:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None or "T" not in value:
            raise LedgerError(f"time {value!r} is not an RFC 3339 timestamp with a time zone")
        return value
    raise LedgerError("time must be an RFC 3339 string or integer milliseconds")


def canonical_entry(
    type: str, actor: str, subject: str, payload: object, time: str | int | None = None
) -> bytes:
    """Validate one entry (payload: any value, a JSON object to pass) and return its canonical
    bytes (what the leaf hash covers)."""
    if type not in ENTRY_TYPES:
        raise LedgerError(f"unknown entry type {type!r}; one of {', '.join(sorted(ENTRY_TYPES))}")
    if not isinstance(actor, str) or not actor:
        raise LedgerError("actor must be a non-empty string")
    if not isinstance(subject, str):
        raise LedgerError("subject must be a string")
    if not isinstance(payload, dict):
        raise LedgerError("payload must be a JSON object")
    record = {
        "type": type,
        "time": _check_time(time),
        "actor": actor,
        "subject": subject,
        "payload": payload,
    }
    try:
        return strict_jcs(record)
    except Exception as exc:  # rfc8785 raises its own types for big ints, NaN, bad keys
        raise LedgerError(f"entry is not strict RFC 8785 JSON: {exc}") from exc


def _lock(using: str) -> None:
    """Serialise appenders until the end of the current transaction."""
    conn = connections[using]
    with conn.cursor() as cur:
        if conn.vendor == "postgresql":
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_ID])
        elif conn.vendor == "sqlite":
            # A write statement takes SQLite's write lock even in a deferred transaction.
            cur.execute("UPDATE ledger_signingkey SET id = id WHERE 0 = 1")


def tree_size(using: str = "default") -> int:
    last = LedgerEntry.objects.using(using).order_by("-index").values_list("index", flat=True)[:1]
    return last[0] + 1 if last else 0


_current_size = tree_size  # inclusion_proof's parameter shadows the function's name


def fetcher(using: str = "default") -> merkle.Fetch:
    """Stored perfect-subtree hashes by (level, index), one query per call."""

    def fetch(wanted: list[merkle.NodeKey]) -> dict[merkle.NodeKey, bytes]:
        by_key = {node_key(lv, i): (lv, i) for lv, i in wanted}
        rows = (
            LedgerNode.objects.using(using).filter(key__in=list(by_key)).values_list("key", "hash")
        )
        return {by_key[k]: bytes(h) for k, h in rows}

    return fetch


def _frontier(size: int, using: str) -> dict[int, bytes]:
    """The right-border perfect subtrees of a tree of ``size`` leaves, by level."""
    wanted = [(lv, (size >> lv) - 1) for lv in range(size.bit_length()) if size >> lv & 1]
    got = fetcher(using)(wanted) if wanted else {}
    return {lv: got[(lv, i)] for lv, i in wanted}


def root_hash(size: int, using: str = "default") -> bytes:
    if size == 0:
        return merkle.EMPTY_ROOT
    return merkle.hashes_for([(0, size)], fetcher(using))[0]


def append_many(entries: list[dict[str, Any]], using: str = "default") -> list[LedgerEntry]:
    """Append entries ``{type, actor, subject, payload, time?}`` atomically, in order.

    Runs inside the caller's transaction if there is one; the checkpoint is signed after commit.
    """
    for e in entries:
        if not isinstance(e, dict):
            raise LedgerError(f"each entry must be an object, got {type(e).__name__}")
    blobs = [
        canonical_entry(
            e.get("type", ""),
            e.get("actor", ""),
            e.get("subject", ""),
            e.get("payload"),
            e.get("time"),
        )
        for e in entries
    ]
    if not blobs:
        return []
    with transaction.atomic(using=using):
        _lock(using)
        size = tree_size(using)
        frontier = _frontier(size, using)
        rows: list[tuple[int, str, str]] = []
        nodes: list[tuple[int, bytes]] = []
        for offset, blob in enumerate(blobs):
            index = size + offset
            cur = merkle.leaf_hash(blob)
            nodes.append((node_key(0, index), cur))
            level, pos = 0, index
            while pos & 1:  # completes a perfect subtree with its left sibling
                cur = merkle.node_hash(frontier.pop(level), cur)
                level, pos = level + 1, pos >> 1
                nodes.append((node_key(level, pos), cur))
            frontier[level] = cur
            rows.append((index, entries[offset]["type"], blob.decode()))
        _insert(using, rows, nodes)
        # robust: a failed signing must not fail the committed caller; latest_checkpoint() catches up.
        transaction.on_commit(lambda: sign_checkpoint(using=using), using=using, robust=True)
    return [_saved(LedgerEntry(index=i, type=t, canonical=c), using) for i, t, c in rows]


def _saved(obj: LedgerEntry, using: str) -> LedgerEntry:
    obj._state.adding, obj._state.db = False, using  # written by _insert, not obj.save()
    return obj


def _insert(using: str, rows: list[tuple[int, str, str]], nodes: list[tuple[int, bytes]]) -> None:
    """Plain executemany: the ORM's per-object overhead would dominate batched appends."""
    conn = connections[using]
    q = conn.ops.quote_name
    entry_sql = (
        f"INSERT INTO {q(LedgerEntry._meta.db_table)} ({q('index')}, {q('type')}, {q('canonical')})"
        " VALUES (%s, %s, %s)"
    )
    node_sql = (
        f"INSERT INTO {q(LedgerNode._meta.db_table)} ({q('key')}, {q('hash')}) VALUES (%s, %s)"
    )
    with conn.cursor() as cur:
        for i in range(0, len(rows), 5000):
            cur.executemany(entry_sql, rows[i : i + 5000])
        for i in range(0, len(nodes), 5000):
            cur.executemany(node_sql, nodes[i : i + 5000])


def append(
    type: str,
    actor: str,
    subject: str,
    payload: dict[str, Any],
    *,
    time: str | int | None = None,
    using: str = "default",
) -> LedgerEntry:
    """Append one entry (see ``append_many``)."""
    entry = {"type": type, "actor": actor, "subject": subject, "payload": payload, "time": time}
    return append_many([entry], using=using)[0]


def sign_checkpoint(using: str = "default", force: bool = False) -> Checkpoint:
    """Sign and store a checkpoint of the current tree unless the latest already covers it."""
    key = keys.server_key()
    with transaction.atomic(using=using):
        _lock(using)
        keys.register(key, using)
        size = tree_size(using)
        latest = Checkpoint.objects.using(using).order_by("-tree_size", "-id").first()
        if latest is not None and latest.tree_size == size and not force:
            return latest
        root = root_hash(size, using)
        text = note.sign_checkpoint(
            note.Checkpoint(key.name, size, root), key.name, key.private_key
        )
        return Checkpoint.objects.using(using).create(
            tree_size=size, root=root, note=text, key_id=key.key_id
        )


def latest_checkpoint(using: str = "default") -> Checkpoint:
    """The newest signed checkpoint, signing one first if the log has grown past it."""
    latest = Checkpoint.objects.using(using).order_by("-tree_size", "-id").first()
    if latest is None or latest.tree_size != tree_size(using):
        latest = sign_checkpoint(using=using)
    return latest


def _check_size(tree_size_: int, using: str) -> None:
    current = tree_size(using)
    if tree_size_ > current:
        raise LedgerError(f"tree_size {tree_size_} is larger than the log ({current} entries)")


def inclusion_proof(
    index: int, tree_size: int | None = None, using: str = "default"
) -> dict[str, Any]:
    """``{"leaf_index", "tree_size", "leaf_hash", "hashes"}`` (hex) from stored hashes, O(log n)."""
    size = _current_size(using) if tree_size is None else tree_size
    _check_size(size, using)
    if not 0 <= index < size:
        raise LedgerError(f"index {index} is not in a tree of size {size}")
    ranges = merkle.inclusion_ranges(index, size)
    hashes = merkle.hashes_for([(index, index + 1), *ranges], fetcher(using))
    return {
        "leaf_index": index,
        "tree_size": size,
        "leaf_hash": hashes[0].hex(),
        "hashes": [h.hex() for h in hashes[1:]],
    }


def consistency_proof(first: int, second: int, using: str = "default") -> dict[str, Any]:
    """``{"first", "second", "hashes"}`` (hex): tree ``first`` is a prefix of tree ``second``."""
    _check_size(second, using)
    if not 0 < first <= second:
        raise LedgerError(f"need 0 < first <= second, got first={first} second={second}")
    hashes = merkle.consistency_proof(first, second, fetcher(using))
    return {"first": first, "second": second, "hashes": [h.hex() for h in hashes]}


def entries(start: int, end: int, using: str = "default") -> list[dict[str, Any]]:
    """Entries with index in [start, end): ``{"index", "canonical", "leaf_hash"}``."""
    rows = (
        LedgerEntry.objects.using(using)
        .filter(index__gte=start, index__lt=end)
        .order_by("index")
        .values_list("index", "canonical")
    )
    return [
        {"index": i, "canonical": c, "leaf_hash": merkle.leaf_hash(c.encode()).hex()}
        for i, c in rows
    ]
