"""`deltatrace sanitize --policy NAME|FILE IN.jsonl --out OUT.jsonl`: apply a privacy policy to a capture file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from deltatrace.privacy import AUDIENCES, Policy, PolicyError, load_key

FORMAT_NAME = "deltatrace.capture"


def policy_and_key(
    policy: str, audience: str | None, key_file: str | None
) -> tuple[Policy, bytes, Path]:
    """The effective policy and the pseudonymisation key, as CommandError on any problem."""
    try:
        loaded = Policy.load(policy)
        if audience:
            loaded = loaded.for_audience(audience)
        key_path = Path(key_file) if key_file else Path(settings.DATA_DIR) / "privacy.key"
        return loaded, load_key(key_path, create=key_file is None), key_path
    except (PolicyError, OSError) as exc:
        raise CommandError(str(exc)) from None


class Command(BaseCommand):
    help = "Apply a privacy policy to a capture file (JSONL), writing a sanitized copy."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("input", metavar="IN.jsonl", help="capture file; - reads stdin")
        parser.add_argument("--out", required=True, metavar="OUT.jsonl")
        parser.add_argument("--policy", default="default", help="built-in name or policy file")
        parser.add_argument("--audience", choices=AUDIENCES, help="add an audience's rules")
        parser.add_argument(
            "--key-file", help="hex key file (default: DATA_DIR/privacy.key, created 0600)"
        )
        parser.add_argument(
            "--skip-bad",
            action="store_true",
            help="leave out lines that are not JSON objects instead of failing",
        )
        parser.add_argument("--json", action="store_true", help="one JSON summary on stdout")

    def handle(self, *args: Any, **opts: Any) -> None:
        policy, key, key_path = policy_and_key(opts["policy"], opts["audience"], opts["key_file"])
        src, out = opts["input"], Path(opts["out"])
        if src != "-" and Path(src).resolve() == out.resolve():
            raise CommandError("--out must differ from the input file")
        try:
            data = sys.stdin.buffer.read() if src == "-" else Path(src).read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {src}: {exc.strerror or exc}") from None
        lines, bad, events, header = self._sanitize(data, policy, key)
        if bad and not opts["skip_bad"]:
            shown = ", ".join(str(n) for n, _ in bad[:5])
            raise CommandError(
                f"{src}: {len(bad)} line(s) are not JSON objects (line {shown}: {bad[0][1]}); "
                "nothing written. Fix them or pass --skip-bad to leave them out."
            )
        # Write next to the target and rename, so a failure never leaves half a file behind.
        tmp = out.with_name(out.name + ".partial")
        try:
            tmp.write_bytes(b"".join(lines))
            tmp.replace(out)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None
        summary = {
            "input": src,
            "out": str(out),
            "policy": policy.identity(),
            "key_file": str(key_path),
            "header": header,
            "events": events,
            "skipped_lines": [n for n, _ in bad],
        }
        if opts["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            self.stdout.write(
                f"sanitized {events} event(s) with policy {policy.name} v{policy.version} "
                f"({policy.digest()}) -> {out}"
                + (f"; left out {len(bad)} bad line(s)" if bad else "")
            )

    @staticmethod
    def _sanitize(
        data: bytes, policy: Policy, key: bytes
    ) -> tuple[list[bytes], list[tuple[int, str]], int, bool]:
        lines: list[bytes] = []
        bad: list[tuple[int, str]] = []
        events = 0
        header = False
        for n, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                bad.append((n, f"invalid JSON: {exc}"))
                continue
            if type(obj) is not dict:
                bad.append((n, f"expected a JSON object, got {type(obj).__name__}"))
                continue
            if obj.get("format") == FORMAT_NAME:
                if header or events:
                    bad.append((n, "a capture header is only allowed on the first line"))
                    continue
                obj, header = policy.apply_header(obj, key), True
            else:
                obj = policy.apply_event(obj, key)
                events += 1
            lines.append(orjson.dumps(obj) + b"\n")
        if not header and lines:
            # Record which policy was applied even when the input had no header.
            stamp = policy.apply_header({"format": FORMAT_NAME, "version": 1}, key)
            lines.insert(0, orjson.dumps(stamp) + b"\n")
        return lines, bad, events, header
