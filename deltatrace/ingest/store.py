"""What ingest does to the database besides inserting rows: bulk-write settings, a capture's content
digest, and the incident's totals and time window."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

from deltatrace.gcpause import gc_paused
from deltatrace.models import Capture, Incident

_BULK_CACHE_KIB = 64 * 1024


@contextmanager
def bulk_mode() -> Iterator[None]:
    """Settings for a bulk ingest, restored afterwards; durability is untouched.

    SQLite: a 64 MiB page cache instead of 2 MiB, because each batch updates the event table, the
    edge table and their nine indexes, and with the default cache their pages keep evicting each
    other (measured: ~20% of the time spent in executemany). The cyclic garbage collector is paused:
    the hot path builds only acyclic tuples, dicts and strings, freed by reference counting, and each
    batch would otherwise be traversed again by every collection while it is buffered.
    """
    restore: int | None = None
    if connection.vendor == "sqlite":
        with connection.cursor() as cur:
            cur.execute("PRAGMA cache_size")
            (restore,) = cur.fetchone()
            cur.execute(f"PRAGMA cache_size = {-_BULK_CACHE_KIB}")
    try:
        # Not promoted: what survives a batch is little, and the ORM may leave cycles behind.
        with gc_paused(promote=False):
            yield
    finally:
        if restore is not None:
            with connection.cursor() as cur:
                cur.execute(f"PRAGMA cache_size = {int(restore)}")


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
