"""Ingest entry points: JSONL streams, adapter events (FIX logs), files and live batches."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from django.db import transaction

from deltatrace.capture_format import BadLine, Header, decode_line, is_header, parse_header
from deltatrace.gcpause import gc_paused
from deltatrace.ingest.catalog import (
    get_or_create_capture,
    get_or_create_incident,
    privacy_transforms,
    register_capture,
    register_policy,
)
from deltatrace.ingest.pipeline import (
    ingest_events_in_child,
    ingest_lines_in_child,
    room_for_a_copy,
    use_pipeline,
    worth_a_child,
)
from deltatrace.ingest.store import bulk_mode
from deltatrace.ingest.writer import (
    CaptureSummary,
    CaptureWriter,
    IngestError,
    Progress,
    Transform,
)
from deltatrace.live import incident_changed_on_commit
from deltatrace.models import Capture, Incident


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
    path: str | None = None,
    progress: Progress | None = None,
) -> CaptureSummary:
    """One JSONL capture stream: optional header line, then events.

    `path` names the file behind `fh` when there is one: a big file is then parsed by a second
    process (see pipeline.py), with the same outcome.
    """
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
                has_header = True
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
    writer = CaptureWriter(incident, capture, strict=strict, transform=transform, progress=progress)
    if header_error:
        assert first is not None
        writer.quarantine(1, first[1].decode("utf-8", "replace"), f"bad header: {header_error}")
    with bulk_mode():
        if first is not None and path is not None and use_pipeline(path):
            # The child reads the file itself, from the first line that is not the header.
            ingest_lines_in_child(writer, path, first[0] if pending else first[0] + 1)
            return writer.finish()
        for no, line in pending:
            writer.add_line(no, line)
        if first is not None:
            # `lines` stopped right after the first non-blank line: the rest go to the hot path as read.
            writer.add_lines(enumerate(fh, first[0] + 1))
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
    progress: Progress | None = None,
    in_child: bool = False,
) -> CaptureSummary:
    """Already-decoded events from an adapter (e.g. a FIX log), plus what it quarantined itself.

    ``in_child``: checked in a forked child while this process writes (see pipeline.py), with the
    same outcome; for many events."""
    capture = get_or_create_capture(incident, header)
    if source and capture.source != source:
        Capture.objects.filter(pk=capture.pk).update(source=source[:500])
        capture.source = source
    writer = CaptureWriter(
        incident,
        capture,
        strict=strict,
        transform=transform,
        offset_kind=offset_kind,
        progress=progress,
    )
    with bulk_mode():
        if in_child:
            ingest_events_in_child(writer, events, quarantined, source or capture.key)
        else:
            writer.add_events(events, quarantined)
        return writer.finish()


def _handed_on(events: list[Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Numbered events, each slot cleared as its event is handed on: the writer's process frees an
    event once it has its row, and reuses that memory for the rows (peak 562-570 MB against 655 MB
    for a 200,000-message log in one process)."""
    for i in range(len(events)):
        ev = events[i]
        events[i] = None
        yield i + 1, ev


def _ingest_fix(
    incident: Incident,
    data: bytes,
    source: str,
    strict: bool,
    transform: Transform | None,
    header_transform: Transform | None,
    progress: Progress | None = None,
) -> CaptureSummary:
    from adapters.fix.log import read_fix_log

    # The cyclic collector stays paused from the read until its events are freed: they are
    # hundreds of thousands of acyclic dicts, which a collection in between would traverse for
    # nothing (0.39-0.43 s after a 200,000-message log, measured). Not promoted: the events are
    # gone by then, and the ORM may leave cycles behind.
    with gc_paused(promote=False):
        log = read_fix_log(data, source)
        summary = ingest_events(
            incident,
            header_transform(log.header) if header_transform else log.header,
            _handed_on(log.events),
            [(q["offset"], q["raw"], q["reason"]) for q in log.quarantined],
            source=source,
            strict=strict,
            transform=transform,
            offset_kind="offset",
            progress=progress,
            # Checking and hashing the events in a second process while this one writes: a
            # 200,000-message log took 8.1 s in one process (1.1 s read, 3.3 s written, 3.7 s
            # checked). The child touches every event, so it ends up with a copy of them all.
            in_child=worth_a_child(len(data)) and room_for_a_copy(),
        )
        del log
        return summary


def ingest_paths(
    paths: list[str],
    incident: str,
    fmt: str = "jsonl",
    strict: bool = False,
    transform: Transform | None = None,
    actor: str = "cli",
    policy: str | None = None,
    progress: Progress | None = None,
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
        "progress": progress,
    }
    for p in paths:
        if fmt == "fix":
            data = sys.stdin.buffer.read() if p == "-" else Path(p).read_bytes()
            summary = _ingest_fix(inc, data, p, strict, transform, header_transform, progress)
        elif p == "-":
            summary = ingest_jsonl(inc, sys.stdin.buffer, "-", **opts)
        else:
            with open(p, "rb", buffering=1 << 20) as fh:
                summary = ingest_jsonl(inc, fh, p, path=p, **opts)
        register_capture(Capture.objects.get(pk=summary.id), actor)
        summaries.append(summary)
    incident_changed_on_commit(inc.pk)
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
    # No segments: a live batch is a few events, and segments pay off for bulk ingest only.
    writer = CaptureWriter(
        incident, capture, transform=transform, offset_kind="batch", segments=False
    )
    start = capture.event_count + base
    with transaction.atomic():
        for i, obj in enumerate(events):
            if type(obj) is not dict:
                writer.quarantine(start + i + 1, repr(obj)[:2000], "expected a JSON object")
                continue
            writer.add_event(start + i + 1, obj)
        summary = writer.finish(digest=False)
        # Open incident pages learn of the batch once it is committed (deltatrace.live).
        incident_changed_on_commit(incident.pk)
    return {
        "accepted": summary.accepted,
        "duplicates": summary.duplicates,
        "quarantined": summary.quarantined,
    }
