"""`deltatrace report build INCIDENT --out FILE.zip [--audience A]` and `deltatrace report verify`.

``verify`` touches no database and no network: it is the bundle's own single-file verifier.
"""

from __future__ import annotations

import getpass
import json
import shutil
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledger.reports import verify as bundle_verify

AUDIENCES = ("regulator", "internal", "public")


class Command(BaseCommand):
    help = "Build a signed audit report bundle for an incident, or verify one offline."
    requires_system_checks: list[str] = []  # verify must work without a database

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        b = sub.add_parser("build", help="build, sign and log a report bundle (ZIP)")
        b.add_argument("incident", metavar="INCIDENT", help="incident id or unique name")
        b.add_argument("--out", required=True, metavar="FILE.zip")
        b.add_argument("--audience", choices=AUDIENCES, default="regulator")
        b.add_argument("--actor", help="who builds it (default cli:<login name>)")
        b.add_argument("--json", action="store_true", help="one JSON object on stdout")
        v = sub.add_parser("verify", help="verify a bundle offline (no database, no network)")
        v.add_argument("bundle", metavar="FILE.zip")
        v.add_argument("--key", help="pin the server key: C2SP vkey, base64, PEM, or a file")
        v.add_argument("--json", action="store_true", help="one JSON object on stdout")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "build":
            self._build(opts)
        else:
            self._verify(opts)

    def _build(self, opts: dict[str, Any]) -> None:
        from ledger.reports.bundle import build
        from replay.load import resolve_incident

        out = Path(opts["out"])
        if not out.parent.is_dir():
            raise CommandError(f"cannot write {out}: {out.parent} is not a directory")
        try:
            incident = resolve_incident(opts["incident"])
        except Exception as exc:
            raise CommandError(str(exc)) from None
        actor = opts["actor"] or f"cli:{_login()}"
        built = build(incident, opts["audience"], actor)
        try:
            shutil.copyfile(built.path, out)
        except OSError as exc:
            raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None
        r = built.report
        summary = {
            "incident": incident.name,
            "report_id": r.report_id,
            "audience": r.audience,
            "out": str(out),
            "sha256": r.sha256,
            "size": r.size,
            "events": r.events,
            "ledger_index": r.ledger_index,
        }
        if opts["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(
                f"report {r.report_id} of {incident.name} ({r.audience}, {r.events} events) "
                f"-> {out}\nsha256 {r.sha256}; issued at ledger index {r.ledger_index}"
            )

    def _verify(self, opts: dict[str, Any]) -> None:
        try:
            pinned = bundle_verify.load_key_arg(opts["key"]) if opts["key"] else None
            res = bundle_verify.verify_bundle(opts["bundle"], pinned)
        except bundle_verify.BundleError as exc:
            raise CommandError(str(exc)) from None
        if opts["json"]:
            self.stdout.write(json.dumps(res.as_dict()))
        else:
            self.stdout.write(bundle_verify.render(res, opts["bundle"]))
        if not res.ok:
            first = res.failures[0]
            raise CommandError(
                f"bundle does NOT verify: {len(res.failures)} failed check(s); first: "
                f"{first['file']}: {first['check']} - {first['detail']}"
            )


def _login() -> str:
    try:
        return getpass.getuser()
    except OSError:
        return "unknown"
