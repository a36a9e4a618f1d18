"""``deltatrace ledger verify``: recompute everything the ledger vouches for and say what is wrong.

1. The tree: every stored entry's leaf hash and every stored perfect subtree, recomputed from the
   entries' canonical bytes (indices must run 0..n-1 without gaps).
2. Every checkpoint: its signature by a published key, and its root against the recomputed tree.
3. Every capture registered in the log: each event's digest recomputed from its row (so an edited
   row is caught) and the capture content digest recomputed from the digest column in seq order.
The first bad entry index is reported: exactly when a stored leaf hash disagrees with its entry;
otherwise (entries and nodes rewritten together) the first index after the last checkpoint that
still verifies, since nothing beyond it is vouched for.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import Any

import orjson
from django.db import connections

from deltatrace.canonical import canonical_json
from ledger import keys, merkle, note
from ledger.models import LEVEL_SHIFT, Checkpoint, LedgerEntry, LedgerNode, node_key

CHUNK = 50_000


@dataclass
class Report:
    ok: bool = True
    tree_size: int = 0
    root: str = ""
    checkpoint_size: int | None = None
    checkpoints_checked: int = 0
    captures_checked: int = 0
    events_checked: int = 0
    first_bad_index: int | None = None
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    entries_per_s: float = 0.0

    def bad(self, message: str, index: int | None = None) -> None:
        self.ok = False
        if len(self.problems) < 50:
            self.problems.append(message)
        if index is not None and (self.first_bad_index is None or index < self.first_bad_index):
            self.first_bad_index = index

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rows(sql: str, using: str) -> Iterator[list[tuple[Any, ...]]]:
    """Raw chunks: the ORM's per-row cost would dominate reading a million entries."""
    with connections[using].cursor() as cur:
        cur.execute(sql)
        while chunk := cur.fetchmany(CHUNK):
            yield chunk


def _load_entries(report: Report, using: str) -> tuple[list[bytes], list[tuple[int, str]]]:
    blobs: list[bytes] = []
    registrations: list[tuple[int, str]] = []
    q = connections[using].ops.quote_name
    sql = (
        f"SELECT {q('index')}, {q('type')}, {q('canonical')} FROM {LedgerEntry._meta.db_table}"
        f" ORDER BY {q('index')}"
    )
    for chunk in _rows(sql, using):
        start = len(blobs)
        if chunk[-1][0] != start + len(chunk) - 1 or chunk[0][0] != start:
            for offset, (index, _, _) in enumerate(chunk):
                if index != start + offset:
                    report.bad(f"entry index {start + offset} is missing (next is {index})", index)
                    chunk = chunk[:offset]
                    break
        blobs += [c.encode() for _, _, c in chunk]
        registrations += [(i, c) for i, t, c in chunk if t == "capture.registered"]
        if report.first_bad_index is not None:
            break
    return blobs, registrations


def _check_nodes(report: Report, lv: list[list[bytes]], using: str) -> None:
    """Stored nodes in key order are level 0, then level 1, ...: compare chunk by chunk."""
    n = len(lv[0])
    expected = (
        (node_key(level, i), h) for level, hashes in enumerate(lv) for i, h in enumerate(hashes)
    )
    q = connections[using].ops.quote_name
    sql = f"SELECT {q('key')}, {q('hash')} FROM {LedgerNode._meta.db_table} ORDER BY {q('key')}"
    seen = 0
    for chunk in _rows(sql, using):
        want = list(islice(expected, len(chunk)))
        seen += len(chunk)
        if [(k, bytes(h)) for k, h in chunk] == want:
            continue
        for (key, stored), exp in zip(chunk, want + [None] * len(chunk), strict=False):
            level, index = divmod(key, LEVEL_SHIFT)
            if exp is None or exp[0] != key:
                report.bad(f"stored node ({level}, {index}) is unexpected", min(index << level, n))
                return
            if bytes(stored) != exp[1]:
                what = f"leaf hash {index}" if level == 0 else f"subtree hash ({level}, {index})"
                report.bad(f"stored {what} differs from the entries", index << level)
                return
    total = sum(len(level) for level in lv) if n else 0
    if seen < total:
        report.bad(f"{total - seen} stored tree node(s) are missing")


def _check_checkpoints(report: Report, lv: list[list[bytes]], using: str) -> None:
    n = len(lv[0])
    verifiers = keys.published_verifiers(using)
    last_good = 0
    exact = report.first_bad_index is not None  # a leaf mismatch already located the change
    rows = Checkpoint.objects.using(using).order_by("tree_size", "id")
    for cp in rows.iterator(chunk_size=1000):
        report.checkpoints_checked += 1
        try:
            parsed = note.open_checkpoint(cp.note, verifiers)
        except note.NoteError as exc:
            report.bad(
                f"checkpoint {cp.pk} (size {cp.tree_size}): {exc}", None if exact else last_good
            )
            continue
        if parsed.size != cp.tree_size or parsed.root != bytes(cp.root):
            report.bad(f"checkpoint {cp.pk}: stored size/root differ from its signed note")
        if parsed.size > n:
            report.bad(
                f"checkpoint {cp.pk} signs {parsed.size} entries; only {n} stored",
                None if exact else last_good,
            )
            continue
        if merkle.root_from_levels(lv, parsed.size) != parsed.root:
            report.bad(
                f"checkpoint {cp.pk} (size {parsed.size}): root differs from the entries",
                None if exact else last_good,
            )
            continue
        last_good = parsed.size
        report.checkpoint_size = parsed.size


def _event_parents(capture_id: int) -> dict[int, list[Any]]:
    from deltatrace.capture_format import Parent
    from deltatrace.models import Edge

    out: dict[int, list[Any]] = {}
    rows = Edge.objects.filter(dst_capture_id=capture_id, inferred=False).values_list(
        "dst_seq", "src_capture__key", "src_capture_id", "src_seq", "kind"
    )
    for dst_seq, src_key, src_id, src_seq, kind in rows:
        cap = None if src_id == capture_id else src_key
        out.setdefault(dst_seq, []).append(Parent(cap, src_seq, kind))
    return out


def _check_capture(report: Report, index: int, entry: dict[str, Any]) -> None:
    from deltatrace.capture_format import row_digest
    from deltatrace.models import Capture, Event

    payload = entry.get("payload", {})
    cap = Capture.objects.filter(pk=payload.get("capture_id")).first()
    if cap is None:
        report.bad(f"entry {index}: registered capture {payload.get('capture')!r} is gone", index)
        return
    report.captures_checked += 1
    parents = _event_parents(cap.pk)
    fields = [f.attname for f in Event._meta.concrete_fields]
    h = hashlib.sha256()
    first = True
    for row in Event.objects.filter(capture_id=cap.pk).order_by("seq").values(*fields).iterator():
        report.events_checked += 1
        try:
            recomputed = row_digest(row, parents.get(row["seq"], []))
            # The stored text must be the canonical form too (e.g. \u001F for \u001f parses alike).
            canonical = canonical_json(orjson.loads(row["payload"])).decode() == row["payload"]
        except Exception:  # a corrupted row may not even parse
            recomputed, canonical = "", False
        if recomputed != row["digest"] or not canonical:
            report.bad(f"capture {cap}: event seq {row['seq']} row differs from its digest", index)
        h.update(b"" if first else b"\n")
        h.update(row["digest"].encode())
        first = False
    if h.hexdigest() != entry.get("subject") and h.hexdigest() != payload.get("digest"):
        report.bad(f"capture {cap}: content digest differs from ledger entry {index}", index)


def verify(using: str = "default", captures: bool = True) -> Report:
    report = Report()
    t0 = time.perf_counter()
    blobs, registrations = _load_entries(report, using)
    report.tree_size = len(blobs)
    lv = merkle.levels(merkle.leaf_hashes(blobs)) if blobs else [[]]
    report.root = merkle.root_from_levels(lv).hex()
    _check_nodes(report, lv, using)
    _check_checkpoints(report, lv, using)
    if report.checkpoint_size != report.tree_size:
        report.bad(f"no valid checkpoint covers all {report.tree_size} entries")
    if captures:
        latest: dict[Any, tuple[int, dict[str, Any]]] = {}
        for index, canonical in registrations:
            try:
                entry = orjson.loads(canonical)
            except orjson.JSONDecodeError:
                continue  # already reported: its leaf hash no longer matches
            latest[entry.get("payload", {}).get("capture_id")] = (index, entry)
        for index, entry in sorted(latest.values(), key=lambda x: x[0]):
            _check_capture(report, index, entry)
    report.seconds = time.perf_counter() - t0
    report.entries_per_s = report.tree_size / report.seconds if report.seconds else 0.0
    return report
