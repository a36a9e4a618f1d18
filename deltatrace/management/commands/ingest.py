"""`deltatrace ingest PATH... --incident NAME [--format jsonl|fix] [--strict] [--json]`."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deltatrace.ingest import IngestError, ingest_paths


class Command(BaseCommand):
    help = "Load capture files (JSON Lines or FIX logs) into an incident; '-' reads stdin."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument(
            "--incident", required=True, help="incident id or name (created if new)"
        )
        parser.add_argument("--format", choices=["jsonl", "fix"], default="jsonl")
        parser.add_argument("--strict", action="store_true", help="stop at the first bad line")
        parser.add_argument(
            "--policy",
            default=None,
            help="privacy policy applied before storing: a built-in name, a JSON file, or 'none' "
            "(default: $DELTATRACE_PRIVACY_POLICY or 'default')",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **opts: Any) -> None:
        t0 = time.perf_counter()
        # A person at a terminal sees the count move; logs and pipes get the summary only.
        live = sys.stderr.isatty() and not opts["json"]

        def progress(capture: str, lines: int) -> None:
            sys.stderr.write(f"\r  {capture}: {lines:,} lines stored …")
            sys.stderr.flush()

        try:
            summary = ingest_paths(
                opts["paths"],
                opts["incident"],
                opts["format"],
                opts["strict"],
                policy=opts["policy"],
                progress=progress if live else None,
            )
        except IngestError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if live:
                sys.stderr.write("\r\033[K")
        elapsed = time.perf_counter() - t0
        if opts["json"]:
            self.stdout.write(json.dumps(summary))
            return
        self.stdout.write(f"incident {summary['incident']} (id {summary['incident_id']})")
        for c in summary["captures"]:
            line = (
                f"  {c['capture']}: {c['accepted']:,} accepted, {c['duplicates']:,} duplicates, "
                f"{c['quarantined']:,} quarantined"
            )
            self.stdout.write(line)
            for reason, n in sorted(c["quarantine_reasons"].items()):
                self.stdout.write(f"      {n:,} × {reason}")
        # A JSONL capture is one event a line; a FIX log turns messages into events, and what it
        # quarantines is a stretch of bytes at an offset, not a line.
        jsonl = opts["format"] == "jsonl"
        total = summary["accepted"] + summary["duplicates"]
        if jsonl:
            total += summary["quarantined"]
        rate = total / elapsed if elapsed > 0 else 0.0
        self.stdout.write(
            f"total: {summary['accepted']:,} accepted, {summary['duplicates']:,} duplicates, "
            f"{summary['quarantined']:,} quarantined in {elapsed:.2f}s "
            f"({rate:,.0f} {'lines' if jsonl else 'events'}/s)"
        )
        if summary["quarantined"]:
            kept = (
                "quarantined lines are kept with their reasons"
                if jsonl
                else "quarantined input is kept with its byte offset, raw bytes and reason"
            )
            self.stdout.write(f"{kept}: see the incident's Quarantine tab")
