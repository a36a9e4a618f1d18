"""Template tags that let event-graph pages show governance without depending on its models."""

from __future__ import annotations

from django import template
from django.db.models import QuerySet

from deltatrace.models import Incident
from ledger.approvals.models import Trigger

register = template.Library()


@register.simple_tag
def incident_triggers(incident: Incident) -> QuerySet[Trigger]:
    """The triggers linked to an incident, newest first."""
    return Trigger.objects.filter(incident=incident).order_by("-created")[:20]
