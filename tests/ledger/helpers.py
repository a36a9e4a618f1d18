"""Small helpers shared by the ledger tests."""

from __future__ import annotations

from typing import Any

from ledger import log


def entry(i: int, type: str = "incident.opened") -> dict[str, Any]:
    return {"type": type, "actor": "alice", "subject": f"incident-{i}", "payload": {"n": i}}


def fill(n: int, batch: int = 50) -> None:
    for start in range(0, n, batch):
        log.append_many([entry(i) for i in range(start, min(n, start + batch))])


def hexes(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]
