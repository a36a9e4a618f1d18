"""Capture ingest: validate, dedupe, quarantine, link and store events in bulk.

The hot path never saves ORM objects one at a time: rows are built as tuples and written per batch
with one `executemany` (SQLite) or COPY into a staging table (PostgreSQL), inside one transaction per
batch, so a killed ingest leaves whole batches only. Re-running is idempotent: events dedupe on
(capture, seq), edges and quarantined lines on their own unique keys, so a resumed ingest ends with
exactly the content of one clean run.
"""

from deltatrace.ingest.catalog import (
    get_or_create_capture,
    get_or_create_incident,
    privacy_transforms,
    register_capture,
    register_policy,
)
from deltatrace.ingest.sources import append_events, ingest_events, ingest_jsonl, ingest_paths
from deltatrace.ingest.store import capture_digest, update_incident_stats
from deltatrace.ingest.writer import BATCH, CaptureSummary, CaptureWriter, IngestError

__all__ = [
    "BATCH",
    "CaptureSummary",
    "CaptureWriter",
    "IngestError",
    "append_events",
    "capture_digest",
    "get_or_create_capture",
    "get_or_create_incident",
    "ingest_events",
    "ingest_jsonl",
    "ingest_paths",
    "privacy_transforms",
    "register_capture",
    "register_policy",
    "update_incident_stats",
]
