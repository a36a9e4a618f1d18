"""The live replay on the incident page, as template tags: the event-graph page includes the replay
controls and the DAG without importing the replay app."""

from __future__ import annotations

from typing import Any

from django import template

from deltatrace.models import Incident
from deltatrace.roles import can
from replay.models import ReplayRun

register = template.Library()


def replay_context(context: template.Context, incident: Incident) -> dict[str, Any]:
    """What the replay fragments need: the incident's latest runs and whether this user may start one."""
    runs = list(ReplayRun.objects.filter(incident=incident).order_by("-created", "-id")[:10])
    return {
        "incident": incident,
        "runs": runs,
        "latest_run": runs[0] if runs else None,
        "can_replay": can(context["request"].user, "replay"),
        "stages": ("all", "signal", "planner", "executor"),
    }


@register.inclusion_tag("replay/_controls.html", takes_context=True)
def replay_controls(context: template.Context, incident: Incident) -> dict[str, Any]:
    return replay_context(context, incident)


@register.inclusion_tag("replay/_dag.html")
def replay_dag() -> dict[str, Any]:
    return {}
