"""The `deltatrace` console script: Django's management commands under one name."""

from __future__ import annotations

import os
import sys

USAGE = """usage: deltatrace COMMAND [options]      (deltatrace COMMAND --help for its options)

Capture and investigate
  demo                    migrate, demo users and incidents, then serve on 127.0.0.1:8000
  serve [--addr H:P]      dashboard, API and WebSockets (daphne) plus the replay worker
  ingest PATH... --incident NAME [--format jsonl|fix] [--strict] [--policy P] [--json]
  simulate --scenario NAME --seed N --out DIR [--ingest --incident NAME]
  fix-acceptor --port N --incident NAME   live FIX drop-copy session
  replay INCIDENT [--json] [--stage S] [--path EVENT] [--set PARAM=VALUE...]
  export INCIDENT --format chrome-trace|otlp --out FILE
  sanitize IN.jsonl --out OUT.jsonl [--policy P]

Govern and report
  ledger verify [--json]  recompute the Merkle log and check the signed checkpoint
  sign ...                sign an approval offline with a key file
  report build INCIDENT --out FILE.zip  /  report verify FILE.zip [--key PUB]

Measure
  bench [ingest|fix|simulate|replay|ledger|report] [--quick] [--json]

Administration: every Django command too (migrate, createsuperuser, ...): deltatrace help --commands
"""


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deltatrace.settings")
    args = list(sys.argv if argv is None else argv)
    args[0] = "deltatrace"
    if len(args) == 1 or args[1] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0
    from django.core.management import execute_from_command_line

    execute_from_command_line(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
