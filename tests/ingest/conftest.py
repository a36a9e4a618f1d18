from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

T0 = 1_767_225_600_000_000_000


def header(capture: str = "gw-1", **extra: Any) -> dict[str, Any]:
    return {
        "format": "deltatrace.capture",
        "version": 1,
        "capture": capture,
        "host": capture,
        **extra,
    }


def tick(seq: int, **extra: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "kind": "MDTick",
        "ts_ns": T0 + seq * 1000,
        "keys": {"symbol": "ACME"},
        "payload": {"bid": "100.00", "ask": "100.02"},
        **extra,
    }


@pytest.fixture
def write_jsonl(tmp_path: Path):  # type: ignore[no-untyped-def]
    def write(name: str, lines: list[Any]) -> Path:
        path = tmp_path / name
        out = []
        for line in lines:
            out.append(line if isinstance(line, bytes) else orjson.dumps(line))
        path.write_bytes(b"\n".join(out) + b"\n")
        return path

    return write
