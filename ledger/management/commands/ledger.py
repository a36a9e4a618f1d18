"""`deltatrace ledger verify [--json]`, `deltatrace ledger checkpoint`, `deltatrace ledger rotate-key`."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledger import keys, log
from ledger.verify import verify


class Command(BaseCommand):
    help = "Verify the governance ledger, sign a checkpoint, or rotate the signing key."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        v = sub.add_parser("verify", help="recompute the log and check the signed checkpoint")
        v.add_argument("--json", action="store_true", help="one JSON object on stdout")
        v.add_argument("--no-captures", action="store_true", help="skip capture digest checks")
        c = sub.add_parser("checkpoint", help="sign a checkpoint of the current tree, print it")
        c.add_argument("--json", action="store_true")
        r = sub.add_parser("rotate-key", help="replace the signing key (logged as key.rotated)")
        r.add_argument("--actor", default="cli", help="who rotates (recorded in the entry)")
        r.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        action = opts["action"]
        if action == "verify":
            self._verify(opts)
        elif action == "checkpoint":
            cp = log.latest_checkpoint()
            if opts["json"]:
                out = {"tree_size": cp.tree_size, "root": bytes(cp.root).hex(), "note": cp.note}
                self.stdout.write(json.dumps(out))
            else:
                self.stdout.write(cp.note, ending="")
        elif action == "rotate-key":
            try:
                old, new = keys.rotate_key(opts["actor"])
            except keys.LedgerKeyError as exc:
                raise CommandError(str(exc)) from exc
            if opts["json"]:
                self.stdout.write(json.dumps({"old_key_id": old.key_id, "new_key_id": new.key_id}))
            else:
                self.stdout.write(f"rotated {old.key_id} -> {new.key_id}\n{new.vkey}")

    def _verify(self, opts: dict[str, Any]) -> None:
        report = verify(captures=not opts["no_captures"])
        if opts["json"]:
            self.stdout.write(json.dumps(report.as_dict()))
        else:
            self.stdout.write(
                f"{report.tree_size} entries, root {report.root}, "
                f"{report.checkpoints_checked} checkpoints, {report.captures_checked} captures "
                f"({report.events_checked} events) in {report.seconds:.2f}s"
            )
        if not report.ok:
            where = (
                ""
                if report.first_bad_index is None
                else f" first bad index {report.first_bad_index}:"
            )
            raise CommandError(
                f"ledger verification FAILED:{where} " + "; ".join(report.problems[:5])
            )
        if not opts["json"]:
            self.stdout.write("ledger OK")
