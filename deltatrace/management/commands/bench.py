"""`deltatrace bench [SUITE...] [--quick] [--json]`: speed figures as ratios to a same-run baseline."""

from __future__ import annotations

import importlib
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deltatrace.benchmarks import SUITES, Suite


class Command(BaseCommand):
    help = "Run the benchmark suites: " + ", ".join(SUITES)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("suites", nargs="*", metavar="SUITE", help="default: all")
        parser.add_argument("--quick", action="store_true", help="smaller inputs (a smoke run)")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **opts: Any) -> None:
        names = opts["suites"] or list(SUITES)
        unknown = [n for n in names if n not in SUITES]
        if unknown:
            raise CommandError(f"unknown suite {unknown[0]!r}; choose from {', '.join(SUITES)}")
        results: list[Suite] = []
        for name in names:
            try:
                module = importlib.import_module(SUITES[name])
            except ImportError as exc:
                raise CommandError(f"suite {name!r} is not available: {exc}") from exc
            if not opts["json"]:
                self.stdout.write(f"== {name} ==")
            suite: Suite = module.run(quick=opts["quick"])
            results.append(suite)
            if not opts["json"]:
                for key, value in suite.figures.items():
                    shown = f"{value:,}" if isinstance(value, int) else str(value)
                    self.stdout.write(f"  {key:<40} {shown}")
                for t in suite.targets:
                    mark = "PASS" if t.ok else "MISS"
                    self.stdout.write(
                        f"  [{mark}] {t.name}: {t.value:,} (target {t.op} {t.target:,})"
                    )
        if opts["json"]:
            self.stdout.write(
                json.dumps(
                    {"ok": all(s.ok for s in results), "suites": [s.as_dict() for s in results]}
                )
            )
