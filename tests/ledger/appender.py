"""A separate appender process for the concurrency tests: `python -m tests.ledger.appender TAG N B`.

DATABASE_URL and DELTATRACE_HOME come from the parent (pointing at its test database).
"""

from __future__ import annotations

import os
import sys

import django


def main(tag: str, count: int, batch: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deltatrace.settings")
    django.setup()
    from ledger import log

    for start in range(0, count, batch):
        log.append_many(
            [
                {"type": "incident.opened", "actor": tag, "subject": f"{tag}-{i}", "payload": {}}
                for i in range(start, min(count, start + batch))
            ]
        )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
