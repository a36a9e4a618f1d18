"""Replay runs and their numbered steps: the database is the source of truth for live viewers.

State changes are conditional UPDATEs (``filter(status=...).update(...)``) so several workers, the API
and the dashboard never race: whoever's UPDATE matched a row owns the transition (the pattern of
healthchecks' ``sendalerts``).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from deltatrace.models import Event, Incident

# A running run whose worker has not written a heartbeat for this long is presumed dead.
STALE_AFTER = timedelta(seconds=120)


class ReplayRun(models.Model):
    QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
    STATUSES = [
        (QUEUED, "Queued"),
        (RUNNING, "Running"),
        (DONE, "Done"),
        (FAILED, "Failed"),
        (CANCELLED, "Cancelled"),
    ]
    FINISHED = frozenset({DONE, FAILED, CANCELLED})

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="replays")
    # {"stage": "all"|..., "sets": {...}, "path": "cap:seq"|None, "force": bool}
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=QUEUED, db_index=True)
    progress = models.FloatField(default=0.0, help_text="0..1")
    phase = models.CharField(max_length=40, blank=True)
    total_steps = models.BigIntegerField(null=True, blank=True, help_text="known once computed")
    steps_written = models.BigIntegerField(default=0)
    verdict = models.JSONField(null=True, blank=True)
    run_digest = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    # Which worker holds the run; every write by that worker is conditional on it.
    worker = models.CharField(max_length=64, blank=True)
    attempts = models.IntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"replay {self.pk} of {self.incident_id} ({self.status})"

    @property
    def group(self) -> str:
        return group_name(self.pk)

    def claim(self) -> str | None:
        """Take a queued run for this worker; None when another worker (or a cancel) got there first."""
        token = uuid.uuid4().hex
        now = timezone.now()
        n = ReplayRun.objects.filter(pk=self.pk, status=self.QUEUED).update(
            status=self.RUNNING,
            worker=token,
            started=now,
            heartbeat=now,
            attempts=models.F("attempts") + 1,
        )
        return token if n == 1 else None

    def cancel(self) -> bool:
        """Cancel unless already finished; the worker notices at its next batch."""
        n = (
            ReplayRun.objects.filter(pk=self.pk)
            .exclude(status__in=self.FINISHED)
            .update(status=self.CANCELLED, finished=timezone.now(), worker="")
        )
        return n == 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.pk,
            "incident": self.incident_id,
            "params": self.params,
            "status": self.status,
            "progress": round(self.progress, 4),
            "phase": self.phase,
            "total_steps": self.total_steps,
            "steps_written": self.steps_written,
            "verdict": self.verdict,
            "run_digest": self.run_digest,
            "error": self.error,
            "created_by": self.created_by.get_username() if self.created_by else None,
            "created": self.created.isoformat() if self.created else None,
            "started": self.started.isoformat() if self.started else None,
            "finished": self.finished.isoformat() if self.finished else None,
        }


def group_name(run_id: int) -> str:
    return f"replay-{run_id}"


class ReplayStep(models.Model):
    """One step of a run, numbered 1..N without gaps in merged order."""

    # No index of its own: the (run, n) constraint below leads with it.
    run = models.ForeignKey(
        ReplayRun, on_delete=models.CASCADE, related_name="steps", db_index=False
    )
    n = models.BigIntegerField()
    # The recorded event (None for an output the replay produced that was never recorded).
    event = models.ForeignKey(
        Event,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="+",
    )
    ref = models.CharField(max_length=120, blank=True, help_text="capture key:seq")
    kind = models.CharField(max_length=20)
    host = models.CharField(max_length=100, blank=True)
    lane = models.CharField(max_length=50, blank=True)
    ts_ns = models.BigIntegerField(null=True, blank=True)
    recorded_digest = models.CharField(max_length=64, blank=True)
    replayed_digest = models.CharField(max_length=64, blank=True)
    # None: an input (nothing to compare); True/False: an output that matched or diverged.
    match = models.BooleanField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["run", "n"]
        constraints = [models.UniqueConstraint(fields=["run", "n"], name="replay_step_unique")]

    def __str__(self) -> str:
        return f"step {self.n} of run {self.run_id}"


STEP_FIELDS = (
    "n",
    "event_id",
    "ref",
    "kind",
    "host",
    "lane",
    "ts_ns",
    "recorded_digest",
    "replayed_digest",
    "match",
    "summary",
)


def step_dicts(run_id: int, after: int, limit: int) -> list[dict[str, Any]]:
    """Steps ``after < n <= after + limit`` as plain dicts (the wire shape of a step)."""
    rows = ReplayStep.objects.filter(run_id=run_id, n__gt=after, n__lte=after + limit).order_by("n")
    return [
        {
            "n": n,
            "event": ev,
            "ref": ref,
            "kind": kind,
            "host": host,
            "lane": lane,
            "ts_ns": ts,
            "recorded": rec,
            "replayed": rep,
            "match": match,
            "summary": summary,
        }
        for n, ev, ref, kind, host, lane, ts, rec, rep, match, summary in rows.values_list(
            *STEP_FIELDS
        )
    ]
