"""Replay verdicts in the governance ledger: every verdict a user obtained is a `replay.verdict` entry."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from deltatrace.models import Incident


def verdict_entry(incident: Incident, result: dict[str, Any]) -> dict[str, Any]:
    """The ledger payload: what was replayed and what came out (strict JCS: strings and small ints)."""
    first = result.get("first_divergence") or {}
    recorded = first.get("recorded") or {}
    replayed = first.get("replayed") or {}
    return {
        "incident": incident.name,
        "incident_id": incident.pk,
        "status": result["status"],
        "mode": str(result.get("mode", "")),
        "stage": str(result.get("stage", "all")),
        "set": {str(k): str(v) for k, v in sorted((result.get("set") or {}).items())},
        "path": str(result.get("path") or ""),
        "events": int(result.get("events", 0)),
        "outputs_compared": int(result.get("outputs_compared", 0)),
        "first_divergence": {
            "recorded": str(recorded.get("ref", "")),
            "replayed": str(replayed.get("ref", "")),
        }
        if first
        else None,
        "run_digest": result["run_digest"],
    }


def log_verdict(incident: Incident, result: dict[str, Any], actor: str) -> int:
    """Append the verdict to the ledger; returns the entry's index."""
    from ledger.log import append

    with transaction.atomic():
        entry = append(
            "replay.verdict", actor, result["run_digest"], verdict_entry(incident, result)
        )
    return int(entry.index)
