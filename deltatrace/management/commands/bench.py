"""`deltatrace bench [SUITE...] [--quick] [--json]`: speed figures as ratios to a same-run baseline."""

from __future__ import annotations

import importlib
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deltatrace import accel
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
        cores = accel.summary()  # figures from Python sources are not the product's speed
        if not opts["json"]:
            self.stdout.write(f"(cores: {cores})")
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
                    self.stdout.write(f"  {key:<40} {_fmt(value)}")
                for t in suite.targets:
                    mark = "PASS" if t.ok else "MISS"
                    self.stdout.write(
                        f"  [{mark}] {t.name}: {_fmt(t.value)} (target {t.op} {_fmt(t.target)})"
                    )
        if opts["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "ok": all(s.ok for s in results),
                        "cores": cores,
                        "suites": [s.as_dict() for s in results],
                    }
                )
            )


def _fmt(value: object) -> str:
    """Figures as people read them: thousands separated, ratios and seconds to 3 places."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3f}".rstrip("0").rstrip(".") if value else "0"
