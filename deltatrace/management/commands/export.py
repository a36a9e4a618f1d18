"""`deltatrace export INCIDENT --format chrome-trace|otlp --out FILE`: events and edges for trace tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser

from deltatrace.export import chrome_trace, otlp_traces
from deltatrace.management.commands.sanitize import policy_and_key
from deltatrace.models import KEY_FIELDS, Edge, Event, Incident
from deltatrace.privacy import AUDIENCES

BUILDERS = {"chrome-trace": chrome_trace, "otlp": otlp_traces}


def find_incident(ref: str) -> Incident:
    """An incident by id or unique name, or CommandError."""
    found = Incident.objects.filter(name=ref).first()
    if found is None and ref.isdigit():
        found = Incident.objects.filter(pk=int(ref)).first()
    if found is None:
        raise CommandError(f"no incident {ref!r} (give its id or name)")
    return found


def incident_events(incident: Incident) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The incident's events as capture-format dicts (plus `capture`) and its edges."""
    fields = ("capture__key", "seq", "kind", "ts_ns", "recv_ts_ns", "hlc_l", "hlc_c", "host")
    events = []
    rows = (
        Event.objects.filter(incident=incident)
        .order_by("hlc_l", "hlc_c", "host", "capture__key", "seq")
        .values(*fields, "lane", "payload", "raw", *KEY_FIELDS)
    )
    for r in rows.iterator(chunk_size=5000):
        events.append(
            {
                "capture": r["capture__key"],
                "seq": r["seq"],
                "kind": r["kind"],
                "ts_ns": r["ts_ns"],
                "recv_ts_ns": r["recv_ts_ns"],
                "hlc": [r["hlc_l"], r["hlc_c"]],
                "host": r["host"],
                "lane": r["lane"],
                "keys": {k: r[k] for k in KEY_FIELDS if r[k]},
                "payload": orjson.loads(r["payload"] or "{}"),
                "raw": r["raw"],
            }
        )
    edges = [
        {
            "src_capture": e["src_capture__key"],
            "src_seq": e["src_seq"],
            "dst_capture": e["dst_capture__key"],
            "dst_seq": e["dst_seq"],
            "kind": e["kind"],
        }
        for e in Edge.objects.filter(incident=incident)
        .values("src_capture__key", "src_seq", "dst_capture__key", "dst_seq", "kind")
        .iterator(chunk_size=5000)
    ]
    return events, edges


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
        events, edges = incident_events(incident)
        identity = None
        if opts["policy"] != "none":
            policy, key, _ = policy_and_key(opts["policy"], opts["audience"], opts["key_file"])
            events = [policy.apply_event(e, key) for e in events]
            identity = policy.identity()
        document = BUILDERS[opts["format"]](events, edges, incident=incident.name)
        if identity is not None:
            _stamp(document, opts["format"], identity)
        out = Path(opts["out"])
        try:
            out.write_bytes(orjson.dumps(document))
        except OSError as exc:
            raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None
        summary = {
            "incident": incident.name,
            "format": opts["format"],
            "out": str(out),
            "events": len(events),
            "edges": len(edges),
            "policy": identity,
        }
        if opts["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(
                f"exported {len(events)} event(s) and {len(edges)} edge(s) of {incident.name} "
                f"as {opts['format']} -> {out}"
            )


def _stamp(document: dict[str, Any], fmt: str, identity: dict[str, Any]) -> None:
    """Say in the file which privacy policy shaped it."""
    if fmt == "chrome-trace":
        document["otherData"]["privacy_policy"] = identity
        return
    for rs in document["resourceSpans"]:
        rs["resource"]["attributes"].append(
            {"key": "deltatrace.privacy.policy", "value": {"stringValue": identity["digest"]}}
        )
