"""Incidents and captures as ingest finds them, and their registration in the governance ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction

from deltatrace.capture_format import Header, parse_header
from deltatrace.ingest.store import capture_digest
from deltatrace.ingest.writer import IngestError, Transform
from deltatrace.models import Capture, Incident


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


def privacy_transforms(
    policy: str | None,
) -> tuple[Transform | None, Transform | None, dict[str, Any] | None]:
    """(event transform, header transform, policy identity) for a policy name/file, or "none".

    Applied before validation and digests: data minimisation at capture time, so whatever the
    policy drops or pseudonymizes never reaches the database. None means the configured default
    (DELTATRACE_PRIVACY_POLICY, itself "default" unless set).
    """
    from django.conf import settings

    from deltatrace.privacy import KeyedPolicy, Policy, PolicyError, load_key

    name = policy if policy is not None else settings.PRIVACY_POLICY
    if not name or name == "none":
        return None, None, None
    try:
        pol = Policy.load(name)
    except PolicyError as exc:
        raise IngestError(str(exc)) from exc
    key = load_key(Path(settings.DATA_DIR) / "privacy.key")
    event_transform = KeyedPolicy(pol, key)

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
