"""`deltatrace export INCIDENT --format chrome-trace|otlp --out FILE`: events and edges for trace tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deltatrace.exports import BUILDERS, export_bytes
from deltatrace.management.commands.sanitize import policy_and_key
from deltatrace.models import Incident
from deltatrace.privacy import AUDIENCES


def find_incident(ref: str) -> Incident:
    """An incident by id or unique name, or CommandError."""
    found = Incident.objects.filter(name=ref).first()
    if found is None and ref.isdigit():
        found = Incident.objects.filter(pk=int(ref)).first()
    if found is None:
        raise CommandError(f"no incident {ref!r} (give its id or name)")
    return found


class Command(BaseCommand):
    help = "Export an incident as Chrome Trace Event JSON (Perfetto) or OTLP JSON traces."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("incident", metavar="INCIDENT", help="incident id or name")
        parser.add_argument("--format", required=True, choices=sorted(BUILDERS))
        parser.add_argument("--out", required=True, metavar="FILE")
        parser.add_argument(
            "--policy", default="default", help="privacy policy applied on export; 'none' for none"
        )
        parser.add_argument("--audience", choices=AUDIENCES, default="internal")
        parser.add_argument(
            "--key-file", help="pseudonymisation key (default DATA_DIR/privacy.key)"
        )
        parser.add_argument("--json", action="store_true", help="one JSON summary on stdout")

    def handle(self, *args: Any, **opts: Any) -> None:
        incident = find_incident(opts["incident"])
        policy, key = None, None
        if opts["policy"] != "none":
            policy, key, _ = policy_and_key(opts["policy"], opts["audience"], opts["key_file"])
        blob, n_events, n_edges = export_bytes(incident, opts["format"], policy, key)
        identity = policy.identity() if policy is not None else None
        out = Path(opts["out"])
        try:
            out.write_bytes(blob)
        except OSError as exc:
            raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None
        summary = {
            "incident": incident.name,
            "format": opts["format"],
            "out": str(out),
            "events": n_events,
            "edges": n_edges,
            "policy": identity,
        }
        if opts["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(
                f"exported {n_events} event(s) and {n_edges} edge(s) of {incident.name} "
                f"as {opts['format']} -> {out}"
            )
