"""Ingest reports its progress batch by batch (the CLI shows it at a terminal)."""

from __future__ import annotations

import json

import pytest

from deltatrace.ingest import ingest_paths, writer
from tests.ingest.conftest import header, tick

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("pipeline", [False, True], ids=["one-process", "two-processes"])
def test_progress_counts_every_stored_line_in_order(
    tmp_path, settings, monkeypatch, pipeline
) -> None:
    monkeypatch.setattr(writer, "BATCH", 10)
    settings.INGEST_PIPELINE_MIN_BYTES = 0 if pipeline else -1
    path = tmp_path / "gw-1.jsonl"
    lines = [json.dumps(header()), *[json.dumps(tick(i)) for i in range(1, 36)], "{bad"]
    path.write_text("\n".join(lines) + "\n")
    seen: list[tuple[str, int]] = []
    summary = ingest_paths([str(path)], "inc", progress=lambda c, n: seen.append((c, n)))
    assert summary["accepted"] == 35 and summary["quarantined"] == 1
    counts = [n for _, n in seen]
    assert {c for c, _ in seen} == {"gw-1"}
    assert counts == sorted(counts) and len(counts) >= 3 and counts[-1] == 36
