"""Capture ingest: validate, dedupe, quarantine, link and store events in bulk.

The hot path never saves ORM objects one at a time: rows are built as tuples and written per batch
with one `executemany` (SQLite) or COPY into a staging table (PostgreSQL), inside one transaction per
batch, so a killed ingest leaves whole batches only. Re-running is idempotent: events dedupe on
(capture, seq), edges and quarantined lines on their own unique keys, so a resumed ingest ends with
exactly the content of one clean run.
"""

from __future__ import annotations

import hashlib
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from django.db import connection, transaction

from deltatrace.capture_format import (
    KEY_FIELDS,
    BadLine,
    Header,
    Normalized,
    decode_line,
    is_header,
    normalize_event,
    parse_header,
)
from deltatrace.models import Capture, Incident

BATCH = 20_000
Transform = Callable[[dict[str, Any]], dict[str, Any]]


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


# --- captures and incidents ---------------------------------------------------------------------


def get_or_create_incident(name: str) -> Incident:
    if name.isdigit():
        found = Incident.objects.filter(pk=int(name)).first()
        if found:
            return found
    incident, _ = Incident.objects.get_or_create(name=name, defaults={"title": name})
    return incident


def get_or_create_capture(incident: Incident, header: dict[str, Any] | Header) -> Capture:
    """The capture of this key in the incident, created or completed from the header."""
    h = header if isinstance(header, Header) else parse_header(header, header.get("capture", ""))
    capture, created = Capture.objects.get_or_create(
        incident=incident,
        key=h.capture,
        defaults={
            "host": h.host,
            "adapter": h.adapter,
            "clock": h.clock,
            "strategy": h.strategy,
            "meta": h.meta,
        },
    )
    if not created and not capture.adapter and h.adapter:
        # A placeholder made for a cross-capture parent reference, now filled in by its own header.
        Capture.objects.filter(pk=capture.pk).update(
            host=h.host, adapter=h.adapter, clock=h.clock, strategy=h.strategy, meta=h.meta
        )
        capture.refresh_from_db()
    return capture


# --- the writer ---------------------------------------------------------------------------------

_EVENT_COLS = (
    "incident_id, capture_id, seq, kind, ts_ns, recv_ts_ns, hlc_l, hlc_c, host, lane, "
    + ", ".join(KEY_FIELDS)
    + ", payload, raw, digest"
)
_EVENT_PARAMS = ", ".join(["%s"] * (10 + len(KEY_FIELDS) + 3))
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
        threaded: bool = False,
    ) -> None:
        self.incident = incident
        self.capture = capture
        self.strict = strict
        self.transform = transform
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
        self._thread: threading.Thread | None = None
        if threaded and not connection.in_atomic_block:
            self._start_thread()

    # -- input --
    def add_line(self, line_no: int, line: bytes) -> None:
        try:
            obj = decode_line(line)
            ev = normalize_event(obj, self.capture.host, self.transform, self.capture.key)
        except BadLine as exc:
            self.quarantine(line_no, line.decode("utf-8", "replace"), str(exc))
            return
        self._add(line_no, ev)

    def add_event(self, line_no: int, obj: dict[str, Any]) -> None:
        try:
            ev = normalize_event(obj, self.capture.host, self.transform, self.capture.key)
        except BadLine as exc:
            import orjson

            self.quarantine(line_no, orjson.dumps(obj, default=str).decode(), str(exc))
            return
        self._add(line_no, ev)

    def quarantine(self, line_no: int, raw: str, reason: str) -> None:
        if self.strict:
            raise IngestError(
                f"{self.capture.source or self.capture.key}: {self.offset_kind} {line_no}: {reason}"
            )
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
            cid = get_or_create_capture(self.incident, Header(capture=key)).pk
            self._capture_ids[key] = cid
        return cid

    def _add(self, line_no: int, ev: Normalized) -> None:
        keys = ev.keys
        cap = self._cap_id
        inc = self._inc_id
        self._rows.append(
            (
                inc,
                cap,
                ev.seq,
                ev.kind,
                ev.ts_ns,
                ev.recv_ts_ns,
                ev.hlc_l,
                ev.hlc_c,
                ev.host,
                ev.lane,
                keys.get("symbol", ""),
                keys.get("cl_ord_id", ""),
                keys.get("orig_cl_ord_id", ""),
                keys.get("order_id", ""),
                keys.get("exec_id", ""),
                keys.get("signal_id", ""),
                keys.get("plan_id", ""),
                ev.payload_json,
                ev.raw,
                ev.digest,
            )
        )
        self._row_lines.append(line_no)
        if self._min_ts is None or ev.ts_ns < self._min_ts:
            self._min_ts = ev.ts_ns
        if self._max_ts is None or ev.ts_ns > self._max_ts:
            self._max_ts = ev.ts_ns
        stated = set()
        for p in ev.parents:
            src = cap if p.capture is None else self._capture_id(p.capture)
            self._edges.append((inc, src, p.seq, cap, ev.seq, p.kind, False))
            stated.add(p.kind)
        if ev.kind in ("Order", "ExecReport", "Fill", "RiskCheck"):
            self._infer(ev, stated)
        if len(self._rows) >= BATCH:
            self.flush()

    def _infer(self, ev: Normalized, stated: set[str]) -> None:
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
        """Hand the buffered batch to the writer: one transaction per batch."""
        batch = (self._rows, self._row_lines, self._edges, self._quarantine)
        if not any(batch):
            return
        self._rows, self._row_lines, self._edges, self._quarantine = [], [], [], []
        if self._thread is not None:
            self._raise_writer_error()
            self._queue.put(batch)
        else:
            self._write_batch(*batch)

    def _start_thread(self) -> None:
        """Write batches from a second thread while this one parses the next batch.

        sqlite3 and psycopg release the GIL while the database works, so on two cores parsing and
        writing overlap. Only used outside an enclosing transaction: the thread has its own
        connection, so it cannot take part in a caller's transaction.
        """
        self._queue: queue.Queue[tuple[Any, ...] | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._writer_loop, name="ingest-writer", daemon=True)
        self._thread.start()

    def _writer_loop(self) -> None:
        try:
            while (batch := self._queue.get()) is not None:
                if self._error is None:
                    try:
                        self._write_batch(*batch)
                    except BaseException as exc:  # surfaced to the parsing thread at its next flush
                        self._error = exc
        finally:
            connection.close()

    def _raise_writer_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _stop_thread(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
            self._raise_writer_error()

    def _write_batch(
        self,
        rows: list[tuple[Any, ...]],
        lines: list[int],
        edges: list[tuple[Any, ...]],
        quarantine: list[tuple[Any, ...]],
    ) -> None:
        with transaction.atomic():
            inserted = self._insert_events(rows)
            if inserted < len(rows):
                quarantine = quarantine + self._sort_out_conflicts(rows, lines, inserted)
            self._insert_ignore("deltatrace_edge", _EDGE_COLS, edges, "edge_unique")
            if quarantine:
                self.summary.quarantined += self._insert_ignore(
                    "deltatrace_quarantinedline",
                    "incident_id, capture_id, line_no, offset_kind, raw, reason",
                    quarantine,
                    "quarantine_unique",
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
    ) -> None:
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
        try:
            self.flush()
        finally:
            self._stop_thread()
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
            h = hashlib.sha256()
            cur.execute(
                "SELECT digest FROM deltatrace_event WHERE capture_id = %s ORDER BY seq", [cap.pk]
            )
            first = True
            while batch := cur.fetchmany(50_000):
                for (d,) in batch:
                    if not first:
                        h.update(b"\n")
                    h.update(d.encode())
                    first = False
            cur.execute(
                "SELECT COUNT(*) FROM deltatrace_quarantinedline WHERE capture_id = %s", [cap.pk]
            )
            (quarantined,) = cur.fetchone()
        before = cap.event_count
        cap.event_count = count
        cap.seq_gaps = max_seq - count
        cap.quarantined_count = quarantined
        cap.digest = capture_digest(cap.pk) if with_digest and count else ""
        Capture.objects.filter(pk=cap.pk).update(
            event_count=count,
            seq_gaps=cap.seq_gaps,
            quarantined_count=quarantined,
            digest=cap.digest,
        )
        self.summary.accepted = count - before
        self.summary.digest = cap.digest
        update_incident_stats(self.incident, self._min_ts, self._max_ts)


def capture_digest(capture_id: int) -> str:
    """SHA-256 of the capture's event digests (hex) in seq order, joined by newlines."""
    h = hashlib.sha256()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT digest FROM deltatrace_event WHERE capture_id = %s ORDER BY seq", [capture_id]
        )
        sep = b""
        while batch := cur.fetchmany(50_000):
            h.update(sep + "\n".join(d for (d,) in batch).encode())
            sep = b"\n"
    return h.hexdigest()


def update_incident_stats(incident: Incident, min_ts: int | None, max_ts: int | None) -> None:
    from django.db.models import Sum

    totals = Capture.objects.filter(incident=incident).aggregate(
        events=Sum("event_count"), quarantined=Sum("quarantined_count")
    )
    fields: dict[str, Any] = {
        "event_count": totals["events"] or 0,
        "quarantined_count": totals["quarantined"] or 0,
    }
    if min_ts is not None:
        fields["start_ns"] = (
            min(min_ts, incident.start_ns) if incident.start_ns is not None else min_ts
        )
    if max_ts is not None:
        fields["end_ns"] = max(max_ts, incident.end_ns) if incident.end_ns is not None else max_ts
    Incident.objects.filter(pk=incident.pk).update(**fields)
    for k, v in fields.items():
        setattr(incident, k, v)


# --- entry points -------------------------------------------------------------------------------


def _lines(fh: BinaryIO) -> Iterator[tuple[int, bytes]]:
    for no, line in enumerate(fh, 1):
        line = line.rstrip(b"\r\n")
        if line.strip():
            yield no, line


def ingest_jsonl(
    incident: Incident,
    fh: BinaryIO,
    source: str,
    *,
    strict: bool = False,
    transform: Transform | None = None,
    header_transform: Transform | None = None,
) -> CaptureSummary:
    """One JSONL capture stream: optional header line, then events."""
    lines = _lines(fh)
    first = next(lines, None)
    default_key = Path(source).stem if source != "-" else "stdin"
    header = Header(capture=default_key, host=default_key)
    pending: list[tuple[int, bytes]] = []
    header_error: str | None = None
    has_header = False
    if first is not None:
        try:
            obj = decode_line(first[1])
            if is_header(obj):
                header = parse_header(
                    header_transform(obj) if header_transform else obj, default_key
                )
            else:
                pending.append(first)
        except BadLine as exc:
            if first[1].lstrip().startswith(b'{"format"'):
                header_error = str(exc)
            else:
                pending.append(first)
    if header_transform is not None and not has_header:
        # No header line: the capture still records which privacy policy was applied.
        header = parse_header(header_transform(header.as_dict()), default_key)
    if header_error and strict:
        raise IngestError(f"{source}: line 1: {header_error}")
    capture = get_or_create_capture(incident, header)
    if capture.source != source:
        Capture.objects.filter(pk=capture.pk).update(source=source[:500])
        capture.source = source
    writer = CaptureWriter(incident, capture, strict=strict, transform=transform, threaded=True)
    if header_error:
        assert first is not None
        writer.quarantine(1, first[1].decode("utf-8", "replace"), f"bad header: {header_error}")
    add = writer.add_line
    for no, line in pending:
        add(no, line)
    for no, line in lines:
        add(no, line)
    return writer.finish()


def ingest_events(
    incident: Incident,
    header: dict[str, Any],
    events: Iterable[tuple[int, dict[str, Any]]],
    quarantined: Iterable[tuple[int, str, str]] = (),
    *,
    source: str = "",
    strict: bool = False,
    transform: Transform | None = None,
    offset_kind: str = "line",
) -> CaptureSummary:
    """Already-decoded events from an adapter (e.g. a FIX log), plus what it quarantined itself."""
    capture = get_or_create_capture(incident, header)
    if source and capture.source != source:
        Capture.objects.filter(pk=capture.pk).update(source=source[:500])
        capture.source = source
    writer = CaptureWriter(
        incident, capture, strict=strict, transform=transform, offset_kind=offset_kind
    )
    for offset, raw, reason in quarantined:
        writer.quarantine(offset, raw, reason)
    for no, obj in events:
        writer.add_event(no, obj)
    return writer.finish()


def _ingest_fix(
    incident: Incident,
    data: bytes,
    source: str,
    strict: bool,
    transform: Transform | None,
    header_transform: Transform | None,
) -> CaptureSummary:
    from adapters.fix.log import read_fix_log

    log = read_fix_log(data, source)
    return ingest_events(
        incident,
        header_transform(log.header) if header_transform else log.header,
        enumerate(log.events, 1),
        [(q["offset"], q["raw"], q["reason"]) for q in log.quarantined],
        source=source,
        strict=strict,
        transform=transform,
        offset_kind="offset",
    )


def privacy_transforms(
    policy: str | None,
) -> tuple[Transform | None, Transform | None, dict[str, Any] | None]:
    """(event transform, header transform, policy identity) for a policy name/file, or "none".

    Applied before validation and digests: data minimisation at capture time, so whatever the
    policy drops or pseudonymizes never reaches the database. None means the configured default
    (DELTATRACE_PRIVACY_POLICY, itself "default" unless set).
    """
    from django.conf import settings

    from deltatrace.privacy import Policy, PolicyError, load_key

    name = policy if policy is not None else settings.PRIVACY_POLICY
    if not name or name == "none":
        return None, None, None
    try:
        pol = Policy.load(name)
    except PolicyError as exc:
        raise IngestError(str(exc)) from exc
    key = load_key(Path(settings.DATA_DIR) / "privacy.key")
    apply_event = pol.apply_event

    def event_transform(ev: dict[str, Any]) -> dict[str, Any]:
        return apply_event(ev, key)

    def header_transform(h: dict[str, Any]) -> dict[str, Any]:
        return pol.apply_header(h, key)

    return event_transform, header_transform, {**pol.identity(), "policy": pol.as_dict()}


def register_policy(identity: dict[str, Any], actor: str) -> None:
    """Each policy version used at ingest is a ledger entry, logged once."""
    try:
        from ledger.log import append
        from ledger.models import LedgerEntry
    except ImportError:
        return
    digest = identity["digest"]
    if LedgerEntry.objects.filter(type="privacy.policy", canonical__contains=digest).exists():
        return
    with transaction.atomic():
        append("privacy.policy", actor, digest.removeprefix("sha256:"), identity)


def ingest_paths(
    paths: list[str],
    incident: str,
    fmt: str = "jsonl",
    strict: bool = False,
    transform: Transform | None = None,
    actor: str = "cli",
    policy: str | None = None,
) -> dict[str, Any]:
    """Ingest files (or `-` for stdin) into an incident; returns the `--json` summary.

    `policy` names the privacy policy applied at capture time (see privacy_transforms); an explicit
    `transform` replaces it.
    """
    header_transform = None
    identity = None
    if transform is None:
        transform, header_transform, identity = privacy_transforms(policy)
    if fmt not in ("jsonl", "fix"):
        raise IngestError(f"unknown format {fmt!r} (expected jsonl or fix)")
    for p in paths:
        if p != "-" and not Path(p).is_file():
            raise IngestError(f"{p}: no such file")
    inc = get_or_create_incident(incident)
    if identity is not None:
        register_policy(identity, actor)
    summaries = []
    opts: dict[str, Any] = {
        "strict": strict,
        "transform": transform,
        "header_transform": header_transform,
    }
    for p in paths:
        if fmt == "fix":
            data = sys.stdin.buffer.read() if p == "-" else Path(p).read_bytes()
            summary = _ingest_fix(inc, data, p, strict, transform, header_transform)
        elif p == "-":
            summary = ingest_jsonl(inc, sys.stdin.buffer, "-", **opts)
        else:
            with open(p, "rb", buffering=1 << 20) as fh:
                summary = ingest_jsonl(inc, fh, p, **opts)
        register_capture(Capture.objects.get(pk=summary.id), actor)
        summaries.append(summary)
    return {
        "incident": inc.name,
        "incident_id": inc.pk,
        "captures": [s.as_dict() for s in summaries],
        "accepted": sum(s.accepted for s in summaries),
        "duplicates": sum(s.duplicates for s in summaries),
        "quarantined": sum(s.quarantined for s in summaries),
    }


def append_events(
    capture: Capture, events: list[dict[str, Any]], transform: Transform | None = None
) -> dict[str, Any]:
    """A live batch for one capture: validated, deduped, quarantined with reasons, atomic."""
    incident = capture.incident
    base = capture.quarantined_count
    writer = CaptureWriter(incident, capture, transform=transform, offset_kind="batch")
    start = capture.event_count + base
    with transaction.atomic():
        for i, obj in enumerate(events):
            if type(obj) is not dict:
                writer.quarantine(start + i + 1, repr(obj)[:2000], "expected a JSON object")
                continue
            writer.add_event(start + i + 1, obj)
        summary = writer.finish(digest=False)
    return {
        "accepted": summary.accepted,
        "duplicates": summary.duplicates,
        "quarantined": summary.quarantined,
    }


def register_capture(capture: Capture, actor: str) -> None:
    """Log the capture's content digest in the governance ledger when it changed since last time."""
    if not capture.digest and capture.event_count:
        capture.digest = capture_digest(capture.pk)
        Capture.objects.filter(pk=capture.pk).update(digest=capture.digest)
    if not capture.digest or capture.digest == capture.registered_digest:
        return
    try:
        from ledger.log import append
    except ImportError:  # the ledger app is optional for the event-graph core
        return
    with transaction.atomic():
        append(
            "capture.registered",
            actor,
            capture.digest,
            {
                "incident": capture.incident.name,
                "capture": capture.key,
                "capture_id": capture.pk,
                "events": capture.event_count,
                "digest": capture.digest,
            },
        )
        Capture.objects.filter(pk=capture.pk).update(registered_digest=capture.digest)
