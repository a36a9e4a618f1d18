"""`deltatrace simulate`: run a testbed scenario and write per-host captures plus a manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from adapters.testbed import SCENARIOS, run_scenario


class Command(BaseCommand):
    help = "Run a partitioned-network testbed scenario; write one JSONL capture per host."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scenario", required=True, help=f"one of: {', '.join(SCENARIOS)}")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--out", required=True, help="output directory")
        parser.add_argument(
            "--events",
            type=int,
            default=None,
            help="scale: number of market-data ticks (default per scenario, ~1200)",
        )
        parser.add_argument("--ingest", action="store_true", help="ingest the captures afterwards")
        parser.add_argument("--incident", help="incident name for --ingest")
        parser.add_argument("--json", action="store_true", help="one JSON object on stdout")

    def handle(self, *args: Any, **opts: Any) -> None:
        name = opts["scenario"]
        if name not in SCENARIOS:
            raise CommandError(f"unknown scenario {name!r}; scenarios: {', '.join(SCENARIOS)}")
        if opts["events"] is not None and opts["events"] < 1:
            raise CommandError("--events must be a positive number of ticks")
        if opts["ingest"] and not opts["incident"]:
            raise CommandError("--ingest needs --incident NAME")
        out = Path(opts["out"])
        if out.exists() and not out.is_dir():
            raise CommandError(f"--out {out} exists and is not a directory")
        manifest = run_scenario(name, opts["seed"], out, ticks=opts["events"])
        result: dict[str, Any] = {"out": str(out), "manifest": manifest}
        if opts["ingest"]:
            from deltatrace.ingest import ingest_paths

            paths = [str(out / f["path"]) for f in manifest["files"]]
            result["ingest"] = ingest_paths(paths, opts["incident"])
        if opts["json"]:
            self.stdout.write(json.dumps(result, sort_keys=True))
            return
        self.stdout.write(
            f"scenario {name} seed {opts['seed']}: {manifest['events']} events -> {out}"
        )
        for f in manifest["files"]:
            self.stdout.write(f"  {f['path']}: {f['events']} events sha256 {f['sha256']}")
        if "ingest" in result:
            ing = result["ingest"]
            self.stdout.write(
                f"ingested into {ing.get('incident')}: accepted {ing.get('accepted')}, "
                f"duplicates {ing.get('duplicates')}, quarantined {ing.get('quarantined')}"
            )
