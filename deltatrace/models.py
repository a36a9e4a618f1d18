"""The event graph: incidents group captures; captures hold events (nodes); edges link cause to effect."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import models

from deltatrace.capture_format import EDGE_KINDS, EVENT_KINDS, KEY_FIELDS  # noqa: F401


class Incident(models.Model):
    SEVERITIES = [("low", "Low"), ("medium", "Medium"), ("high", "High"), ("critical", "Critical")]
    STATUSES = [("open", "Open"), ("investigating", "Investigating"), ("closed", "Closed")]

    name = models.SlugField(max_length=100, unique=True)
    title = models.CharField(max_length=200, blank=True)
    severity = models.CharField(max_length=10, choices=SEVERITIES, default="medium")
    status = models.CharField(max_length=15, choices=STATUSES, default="open")
    description = models.TextField(blank=True)
    # The time window is derived from the events at ingest; kept here so lists need no aggregate.
    start_ns = models.BigIntegerField(null=True, blank=True)
    end_ns = models.BigIntegerField(null=True, blank=True)
    event_count = models.BigIntegerField(default=0)
    quarantined_count = models.BigIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.title or self.name

    def get_absolute_url(self) -> str:
        return f"/incidents/{self.pk}/"


class Capture(models.Model):
    """One recorded stream from one host or source."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="captures")
    key = models.CharField(max_length=100)
    host = models.CharField(max_length=100, blank=True)
    adapter = models.CharField(max_length=50, blank=True)
    clock = models.JSONField(default=dict, blank=True)
    strategy = models.JSONField(default=dict, blank=True)
    meta = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=500, blank=True, help_text="file name or endpoint")
    event_count = models.BigIntegerField(default=0)
    quarantined_count = models.BigIntegerField(default=0)
    seq_gaps = models.BigIntegerField(default=0)
    digest = models.CharField(max_length=64, blank=True, help_text="SHA-256 over event digests")
    registered_digest = models.CharField(
        max_length=64, blank=True, help_text="the digest last logged in the governance ledger"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["incident", "key"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "key"], name="capture_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.incident.name}/{self.key}"


class Event(models.Model):
    """A node of the event graph. Written in bulk by ingest (raw SQL), never one ORM save at a time."""

    # No single-column FK indexes: (incident, hlc) and (capture, seq) below already lead with
    # them, and every extra index costs the bulk insert a B-tree update per event.
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    capture = models.ForeignKey(
        Capture, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=16)
    ts_ns = models.BigIntegerField()
    recv_ts_ns = models.BigIntegerField(null=True, blank=True)
    hlc_l = models.BigIntegerField()
    hlc_c = models.IntegerField(default=0)
    host = models.CharField(max_length=100)
    lane = models.CharField(max_length=50)
    symbol = models.CharField(max_length=50, blank=True, default="")
    cl_ord_id = models.CharField(max_length=100, blank=True, default="")
    orig_cl_ord_id = models.CharField(max_length=100, blank=True, default="")
    order_id = models.CharField(max_length=100, blank=True, default="")
    exec_id = models.CharField(max_length=100, blank=True, default="")
    signal_id = models.CharField(max_length=100, blank=True, default="")
    plan_id = models.CharField(max_length=100, blank=True, default="")
    # Canonical JSON text of the payload; parsed lazily by readers that need it.
    payload = models.TextField(default="{}")
    raw = models.TextField(null=True, blank=True)
    digest = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["capture", "seq"], name="event_capture_seq_unique")
        ]
        indexes = [models.Index(fields=["incident", "hlc_l", "hlc_c"], name="event_merged_order")]

    def __str__(self) -> str:
        return f"{self.kind} {self.capture_id}:{self.seq}"

    @property
    def ref(self) -> str:
        return f"{self.capture_id}:{self.seq}"

    def payload_dict(self) -> dict[str, Any]:
        import orjson

        value: dict[str, Any] = orjson.loads(self.payload)
        return value

    def keys_dict(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in KEY_FIELDS if getattr(self, k)}


class Edge(models.Model):
    """Cause -> effect, addressed by (capture, seq) so a cross-host parent may arrive later."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    # Covered by edge_src and by the leading columns of edge_unique (see Event).
    src_capture = models.ForeignKey(
        Capture, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    src_seq = models.BigIntegerField()
    dst_capture = models.ForeignKey(
        Capture, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    dst_seq = models.BigIntegerField()
    kind = models.CharField(max_length=16)
    inferred = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dst_capture", "dst_seq", "src_capture", "src_seq", "kind"],
                name="edge_unique",
            )
        ]
        indexes = [models.Index(fields=["src_capture", "src_seq"], name="edge_src")]

    def __str__(self) -> str:
        return f"{self.src_capture_id}:{self.src_seq} -{self.kind}-> {self.dst_capture_id}:{self.dst_seq}"


class EventSegment(models.Model):
    """One ingest batch of a capture, packed by column for fast replay loading
    (deltatrace/segments.py). Derived from the event and edge rows, written with them."""

    capture = models.ForeignKey(
        Capture, on_delete=models.CASCADE, related_name="segments", db_index=False
    )
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    events = models.IntegerField()
    edges = models.IntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["capture", "first_seq"], name="segment_capture_seq")
        ]

    def __str__(self) -> str:
        return f"segment {self.capture_id}:{self.first_seq}-{self.last_seq}"


class QuarantinedLine(models.Model):
    """Input that could not become an event, kept verbatim with the reason."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="quarantine")
    capture = models.ForeignKey(Capture, on_delete=models.CASCADE, related_name="quarantine")
    line_no = models.BigIntegerField(help_text="line number (JSONL) or byte offset (FIX)")
    offset_kind = models.CharField(max_length=8, default="line")
    raw = models.TextField()
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["capture", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["capture", "line_no"], name="quarantine_unique")
        ]

    def __str__(self) -> str:
        return f"{self.capture} {self.offset_kind} {self.line_no}: {self.reason}"


class CaptureToken(models.Model):
    """A bearer token that may write events into one capture only (live adapters)."""

    capture = models.ForeignKey(Capture, on_delete=models.CASCADE, related_name="tokens")
    key = models.CharField(max_length=64, unique=True, default=secrets.token_hex)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"token for {self.capture}"


class RawAccess(models.Model):
    """Who saw retained raw source bytes (e.g. a FIX message), when, and which events: every view."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="raw_accesses")
    via = models.CharField(max_length=10, help_text="page or api")
    refs = models.JSONField(default=list, help_text="capture_id:seq of each event shown")

    class Meta:
        ordering = ["-at"]
        verbose_name_plural = "raw accesses"

    def __str__(self) -> str:
        return f"{self.user} saw raw of {len(self.refs)} event(s) via {self.via}"

    @classmethod
    def record(cls, user: Any, events: list[Event], via: str) -> None:
        """One row per view, grouped per incident; nothing is written when no raw was shown."""
        by_incident: dict[int, list[str]] = {}
        for ev in events:
            if ev.raw is not None:
                by_incident.setdefault(ev.incident_id, []).append(ev.ref)
        RawAccess.objects.bulk_create(
            [
                RawAccess(user=user, incident_id=inc, via=via, refs=refs)
                for inc, refs in by_incident.items()
            ]
        )
