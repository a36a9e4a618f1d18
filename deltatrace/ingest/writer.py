"""The capture writer: rows built as tuples and written per batch in one transaction each.

The hot path never saves ORM objects one at a time: each batch is one `executemany` (SQLite) or a
COPY into a staging table (PostgreSQL). Events dedupe on (capture, seq), edges and quarantined lines
on their own unique keys, so re-running is idempotent and a killed ingest leaves whole batches only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import orjson
from django.db import connection, transaction

from deltatrace.capture_format import (
    KEY_FIELDS,
    BadLine,
    Header,
    Normalized,
    decode_line,
    normalize_event,
)
from deltatrace.ingest.store import capture_digest, update_incident_stats
from deltatrace.models import Capture, Incident
from deltatrace.segments import INSERT_SQL as SEGMENT_INSERT_SQL
from deltatrace.segments import pack as pack_segment

BATCH = 20_000
# Captures that record what people did about an incident, not what the pipeline did.
AFTER_THE_FACT = frozenset({"governance"})
Transform = Callable[[dict[str, Any]], dict[str, Any]]
# (capture key, lines written so far): called after each committed batch of a capture.
Progress = Callable[[str, int], None]


class IngestError(Exception):
    """A fatal ingest problem (e.g. --strict and a bad line); the message is for the user."""


@dataclass
class CaptureSummary:
    capture: str
    id: int
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    digest: str = ""
    reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "capture": self.capture,
            "id": self.id,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "digest": self.digest,
            "quarantine_reasons": self.reasons,
        }


_EVENT_COLS = (
    "incident_id, capture_id, seq, kind, ts_ns, recv_ts_ns, hlc_l, hlc_c, host, lane, "
    + ", ".join(KEY_FIELDS)
    + ", payload, raw, digest"
)
_NO_KEYS = ("",) * len(KEY_FIELDS)
_NONE_STATED: frozenset[str] = frozenset()
_INFERRED_KINDS = frozenset({"Order", "ExecReport", "Fill", "RiskCheck"})
_SEQ, _TS, _DIGEST = itemgetter(2), itemgetter(4), itemgetter(19)  # event row columns
_EDGE_COLS = "incident_id, src_capture_id, src_seq, dst_capture_id, dst_seq, kind, inferred"


class CaptureWriter:
    """Writes one capture's events in batches; keeps the state for inferred links and digests."""

    def __init__(
        self,
        incident: Incident,
        capture: Capture,
        *,
        strict: bool = False,
        transform: Transform | None = None,
        offset_kind: str = "line",
        progress: Progress | None = None,
        segments: bool = True,
    ) -> None:
        self.incident = incident
        self.capture = capture
        self.strict = strict
        self.transform = transform
        self.progress = progress
        self._lines_done = 0
        self.offset_kind = offset_kind
        self.summary = CaptureSummary(capture.key, capture.pk)
        self._rows: list[tuple[Any, ...]] = []
        self._row_lines: list[int] = []
        self._edges: list[tuple[Any, ...]] = []
        self._quarantine: list[tuple[Any, ...]] = []
        # Latest event per correlation key, for links the source did not state (order chains etc.).
        self._orders: dict[str, int] = {}
        self._orders_by_oid: dict[str, int] = {}
        self._reports: dict[str, int] = {}
        self._capture_ids: dict[str, int] = {capture.key: capture.pk}
        self._min_ts: int | None = None
        self._max_ts: int | None = None
        self._vendor = connection.vendor
        # Plain ints: model .pk is a property call, too slow for the per-event path.
        self._cap_id: int = capture.pk
        self._inc_id: int = incident.pk
        # The capture digest, built batch by batch (see _note_digests).
        self._stream = hashlib.sha256()
        self._stream_ok = True
        self._stream_count = 0
        self._stream_last = 0
        # Whether batches still go into event segments as well (see _store_segment).
        self.segments = segments

    # -- input --
    def add_line(self, line_no: int, line: bytes) -> None:
        try:
            obj = decode_line(line)
            ev = normalize_event(obj, self.capture.host, self.transform, self.capture.key)
        except BadLine as exc:
            self.quarantine(line_no, line.decode("utf-8", "replace"), str(exc))
            return
        self.add_normalized(line_no, ev)

    def add_lines(self, lines: Iterable[tuple[int, bytes]]) -> None:
        """Numbered lines as read (line ends included): the JSONL hot path.

        Same outcome as `add_line` on each non-blank line without its line end: JSON ignores
        trailing whitespace, so only a line that fails to decode is stripped and looked at again.
        """
        loads, add = orjson.loads, self.add_normalized
        host, key, transform = self.capture.host, self.capture.key, self.transform
        for no, line in lines:
            try:
                obj = loads(line)
            except orjson.JSONDecodeError:
                line = line.rstrip(b"\r\n")
                if line.strip():
                    self.add_line(no, line)  # words the reason from the line as stored
                continue
            try:
                ev = normalize_event(obj, host, transform, key)
            except BadLine as exc:
                self.quarantine(no, line.rstrip(b"\r\n").decode("utf-8", "replace"), str(exc))
                continue
            add(no, ev)

    def add_events(
        self,
        events: Iterable[tuple[int, dict[str, Any]]],
        quarantined: Iterable[tuple[int, str, str]] = (),
    ) -> None:
        """An adapter's numbered events, after what it quarantined itself (offset, raw, reason)."""
        for offset, raw, reason in quarantined:
            self.quarantine(offset, raw, reason)
        for no, obj in events:
            self.add_event(no, obj)

    def add_event(self, line_no: int, obj: dict[str, Any]) -> None:
        try:
            ev = normalize_event(obj, self.capture.host, self.transform, self.capture.key)
        except BadLine as exc:
            self.quarantine(line_no, _as_text(obj), str(exc))
            return
        self.add_normalized(line_no, ev)

    def quarantine(self, line_no: int, raw: str, reason: str) -> None:
        if self.strict:
            raise IngestError(
                f"{self.capture.source or self.capture.key}: {self.offset_kind} {line_no}: {reason}"
            )
        if "\x00" in raw or "\x00" in reason:
            # PostgreSQL text holds no NUL: shown as \x00, as undecodable bytes are (\xNN).
            raw, reason = raw.replace("\x00", "\\x00"), reason.replace("\x00", "\\x00")
        self._quarantine.append(
            (self.incident.pk, self.capture.pk, line_no, self.offset_kind, raw, reason[:300])
        )
        key = reason.split(":")[0][:60]
        self.summary.reasons[key] = self.summary.reasons.get(key, 0) + 1
        if len(self._quarantine) >= BATCH:
            self.flush()

    def _capture_id(self, key: str) -> int:
        cid = self._capture_ids.get(key)
        if cid is None:
            from deltatrace.ingest.catalog import get_or_create_capture

            cid = get_or_create_capture(self.incident, Header(capture=key)).pk
            self._capture_ids[key] = cid
        return cid

    def add_normalized(self, line_no: int, ev: Normalized) -> None:
        # One unpack instead of a dozen attribute reads: this runs once per event.
        seq, kind, ts_ns, recv, hlc_l, hlc_c, host, lane, keys, payload, raw, digest, parents = ev
        cap = self._cap_id
        inc = self._inc_id
        if keys:
            kg = keys.get
            key_cols: tuple[str, ...] = (
                kg("symbol", ""),
                kg("cl_ord_id", ""),
                kg("orig_cl_ord_id", ""),
                kg("order_id", ""),
                kg("exec_id", ""),
                kg("signal_id", ""),
                kg("plan_id", ""),
            )
        else:
            key_cols = _NO_KEYS
        rows = self._rows
        rows.append(
            (
                inc,
                cap,
                seq,
                kind,
                ts_ns,
                recv,
                hlc_l,
                hlc_c,
                host,
                lane,
                *key_cols,
                payload,
                raw,
                digest,
            )
        )
        self._row_lines.append(line_no)
        stated: set[str] | frozenset[str] = _NONE_STATED
        if parents:
            stated = set()
            for p in parents:
                src = cap if p.capture is None else self._capture_id(p.capture)
                self._edges.append((inc, src, p.seq, cap, seq, p.kind, False))
                stated.add(p.kind)
        if kind in _INFERRED_KINDS:
            self._infer(ev, stated)
        if len(rows) >= BATCH:
            self.flush()

    def _infer(self, ev: Normalized, stated: set[str] | frozenset[str]) -> None:
        """Links implied by correlation keys within this capture, unless the source stated them."""
        keys, cap, inc, seq = ev.keys, self._cap_id, self._inc_id, ev.seq
        clid = keys.get("cl_ord_id")
        if ev.kind == "Order":
            orig = keys.get("orig_cl_ord_id")
            if orig and "order_chain" not in stated and orig in self._orders:
                self._edges.append((inc, cap, self._orders[orig], cap, seq, "order_chain", True))
            if clid:
                self._orders[clid] = seq
            return
        parent = self._orders.get(clid) if clid else None
        if parent is None and keys.get("order_id"):
            parent = self._orders_by_oid.get(keys["order_id"])
        if ev.kind == "ExecReport":
            if keys.get("order_id") and parent is not None:
                self._orders_by_oid.setdefault(keys["order_id"], parent)
            if keys.get("exec_id"):
                self._reports[keys["exec_id"]] = seq
            if parent is not None and "order_report" not in stated and parent != seq:
                self._edges.append((inc, cap, parent, cap, seq, "order_report", True))
        elif ev.kind == "Fill":
            report = self._reports.get(keys.get("exec_id", ""))
            if report is not None and "report_fill" not in stated:
                self._edges.append((inc, cap, report, cap, seq, "report_fill", True))
        elif ev.kind == "RiskCheck" and parent is not None and "order_risk" not in stated:
            self._edges.append((inc, cap, parent, cap, seq, "order_risk", True))

    # -- output --
    def flush(self) -> None:
        """Write the buffered batch: one transaction per batch."""
        batch = (self._rows, self._row_lines, self._edges, self._quarantine)
        if not any(batch):
            return
        self._rows, self._row_lines, self._edges, self._quarantine = [], [], [], []
        rows = batch[0]
        if rows:  # the incident window, over every valid event (duplicates included)
            lo, hi = min(map(_TS, rows)), max(map(_TS, rows))
            self._min_ts = lo if self._min_ts is None else min(lo, self._min_ts)
            self._max_ts = hi if self._max_ts is None else max(hi, self._max_ts)
        self._write_batch(*batch)

    def _write_batch(
        self,
        rows: list[tuple[Any, ...]],
        lines: list[int],
        edges: list[tuple[Any, ...]],
        quarantine: list[tuple[Any, ...]],
        segment: bytes | None = None,
    ) -> None:
        """Write one batch in one transaction (``segment``: its event segment, if already packed)."""
        with transaction.atomic():
            inserted = self._insert_events(rows)
            if inserted < len(rows):
                quarantine = quarantine + self._sort_out_conflicts(rows, lines, inserted)
            if rows and self._stream_ok:
                self._note_digests(rows, inserted)
            new_edges = self._insert_ignore("deltatrace_edge", _EDGE_COLS, edges, "edge_unique")
            if rows and self.segments:
                all_new = inserted == len(rows) and new_edges == len(edges)
                self._store_segment(rows, edges, all_new, segment)
            if quarantine:
                self.summary.quarantined += self._insert_ignore(
                    "deltatrace_quarantinedline",
                    "incident_id, capture_id, line_no, offset_kind, raw, reason",
                    quarantine,
                    "quarantine_unique",
                )
        if self.progress is not None:
            self._lines_done += len(rows) + len(quarantine)
            self.progress(self.capture.key, self._lines_done)

    def _note_digests(self, rows: list[tuple[Any, ...]], inserted: int) -> None:
        """Hash the batch's digests into the capture digest while they are at hand, which is valid as
        long as every row is new and seqs only increase; `finish` then checks no other rows exist
        and skips re-reading them all. Otherwise `capture_digest` reads them from the table."""
        seqs = list(map(_SEQ, rows))
        if (
            inserted != len(rows)
            or seqs[0] <= self._stream_last
            or seqs != sorted(seqs)
            or len(set(seqs)) != len(seqs)
        ):
            self._stream_ok = False
            return
        text = "\n".join(map(_DIGEST, rows))
        self._stream.update((("\n" + text) if self._stream_count else text).encode())
        self._stream_count += inserted
        self._stream_last = seqs[-1]

    def _store_segment(
        self,
        rows: list[tuple[Any, ...]],
        edges: list[tuple[Any, ...]],
        all_new: bool,
        blob: bytes | None = None,
    ) -> None:
        """The batch as an event segment, in its transaction. Only while every batch so far was all
        new and in seq order (the conditions of the streamed digest): after one that was not, the
        capture's segments could no longer account for its rows, so none are written from then on
        and replays read the rows."""
        if not (all_new and self._stream_ok):
            self.segments = False
            return
        if blob is None:
            blob = pack_segment(rows, edges)
        with connection.cursor() as cur:
            cur.execute(
                SEGMENT_INSERT_SQL,
                [self._cap_id, rows[0][2], rows[-1][2], len(rows), len(edges), blob],
            )

    def _insert_events(self, rows: list[tuple[Any, ...]]) -> int:
        if not rows:
            return 0
        if self._vendor == "postgresql":
            return self._copy_events(rows)
        return self._insert_ignore(
            "deltatrace_event", _EVENT_COLS, rows, "event_capture_seq_unique"
        )

    def _insert_ignore(
        self, table: str, cols: str, rows: list[tuple[Any, ...]], _constraint: str
    ) -> int:
        if not rows:
            return 0
        params = ", ".join(["%s"] * len(rows[0]))
        verb = "INSERT OR IGNORE INTO" if self._vendor == "sqlite" else "INSERT INTO"
        tail = "" if self._vendor == "sqlite" else " ON CONFLICT DO NOTHING"
        with connection.cursor() as cur:
            cur.executemany(f"{verb} {table} ({cols}) VALUES ({params}){tail}", rows)
            return max(cur.rowcount, 0)

    def _copy_events(self, rows: list[tuple[Any, ...]]) -> int:
        """PostgreSQL: COPY into a temporary staging table, then one INSERT ... ON CONFLICT DO NOTHING."""
        with connection.cursor() as cur:
            # Only the copied columns: the stage has no id, so LIKE ... would bring a NOT NULL id along.
            cur.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS event_stage ON COMMIT DELETE ROWS AS "
                f"SELECT {_EVENT_COLS} FROM deltatrace_event WITH NO DATA"
            )
            raw_cur = cur.cursor
            with raw_cur.copy(f"COPY event_stage ({_EVENT_COLS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(
                f"INSERT INTO deltatrace_event ({_EVENT_COLS}) SELECT {_EVENT_COLS} FROM event_stage "
                "ON CONFLICT DO NOTHING"
            )
            inserted = cur.rowcount
            cur.execute("DELETE FROM event_stage")
        return inserted

    def _sort_out_conflicts(
        self, rows: list[tuple[Any, ...]], lines: list[int], inserted: int
    ) -> list[tuple[Any, ...]]:
        """Rows that were not inserted: true duplicates, or a seq reused with different content."""
        seqs = sorted({r[2] for r in rows})
        stored: dict[int, str] = {}
        with connection.cursor() as cur:
            for i in range(0, len(seqs), 900):
                chunk = seqs[i : i + 900]
                cur.execute(
                    "SELECT seq, digest FROM deltatrace_event WHERE capture_id = %s AND seq IN ("
                    + ",".join(["%s"] * len(chunk))
                    + ")",
                    [self.capture.pk, *chunk],
                )
                stored.update(cur.fetchall())
        conflicts = []
        for row, line_no in zip(rows, lines, strict=True):
            seq, digest = row[2], row[-1]
            if stored.get(seq) != digest:
                reason = f"duplicate seq {seq} with different content (stored digest {stored.get(seq, '?')[:12]})"
                if self.strict:
                    raise IngestError(
                        f"{self.capture.source or self.capture.key}: {self.offset_kind} {line_no}: {reason}"
                    )
                raw = {
                    "seq": seq,
                    "kind": row[3],
                    "ts_ns": row[4],
                    "payload": row[-3],
                    "raw": row[-2],
                }
                conflicts.append(
                    (self._inc_id, self._cap_id, line_no, self.offset_kind, repr(raw), reason)
                )
                self.summary.reasons["duplicate seq with different content"] = (
                    self.summary.reasons.get("duplicate seq with different content", 0) + 1
                )
        self.summary.duplicates += len(rows) - inserted - len(conflicts)
        return conflicts

    def finish(self, digest: bool = True) -> CaptureSummary:
        """Flush and update the capture's counts; `digest=False` (live batches) leaves the content
        digest to be recomputed when the capture is registered, instead of rehashing per batch."""
        self.flush()
        self._finalise_capture(digest)
        return self.summary

    def _finalise_capture(self, with_digest: bool) -> None:
        """Counts, seq gaps, the content digest and the incident window, from the stored rows."""
        cap = self.capture
        with connection.cursor() as cur:
            cur.execute(
                "SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM deltatrace_event WHERE capture_id = %s",
                [cap.pk],
            )
            count, max_seq = cur.fetchone()
            cur.execute(
                "SELECT COUNT(*) FROM deltatrace_quarantinedline WHERE capture_id = %s", [cap.pk]
            )
            (quarantined,) = cur.fetchone()
        before = cap.event_count
        cap.event_count = count
        cap.seq_gaps = max_seq - count
        cap.quarantined_count = quarantined
        if not (with_digest and count):
            cap.digest = ""
        elif self._stream_ok and self._stream_count == count:  # the table holds our rows only
            cap.digest = self._stream.hexdigest()
        else:
            cap.digest = capture_digest(cap.pk)
        Capture.objects.filter(pk=cap.pk).update(
            event_count=count,
            seq_gaps=cap.seq_gaps,
            quarantined_count=quarantined,
            digest=cap.digest,
        )
        self.summary.accepted = count - before
        self.summary.digest = cap.digest
        if cap.adapter in AFTER_THE_FACT:
            # Acts of governance on an incident happen when they happen, often months later;
            # they must not stretch the window of what the pipeline did.
            update_incident_stats(self.incident, None, None)
        else:
            update_incident_stats(self.incident, self._min_ts, self._max_ts)


def _as_text(obj: Any) -> str:
    """An adapter's event as JSON text for the quarantine, whatever it holds (json copes with
    integers beyond 64 bits, which orjson refuses)."""
    try:
        return orjson.dumps(obj, default=str).decode()
    except TypeError:
        return json.dumps(obj, default=str)
