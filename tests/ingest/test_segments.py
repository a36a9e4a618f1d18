"""Ingest writes event segments; replay loads from them exactly what the rows hold, or reads the rows."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from deltatrace.ingest import writer
from deltatrace.ingest.sources import append_events
from deltatrace.models import Capture, EventSegment, Incident
from replay.load import load_events
from tests.ingest.conftest import header, tick
from tests.ingest.test_pipeline import fill, ingest, messy_capture, order, report

pytestmark = pytest.mark.django_db


def clean_capture(path: Path, n: int = 40) -> Path:
    """Ticks (some received from another host), an order chain, a report and a fill."""
    lines = [header("gw-1")]
    for i in range(1, n):
        extra = {"recv_ts_ns": 5 + i} if i % 3 else {}
        if i % 4 == 0:
            extra["parents"] = [{"capture": "md-1", "seq": i, "kind": "send_receive"}]
        lines.append(tick(i, **extra))
    lines += [
        order(n, "C1"),
        order(n + 1, "C2", keys={"cl_ord_id": "C2", "orig_cl_ord_id": "C1"}),
        report(n + 2, "C2", "E1"),
        fill(n + 3, "E1"),
    ]
    path.write_bytes(b"\n".join(json.dumps(x).encode() for x in lines) + b"\n")
    return path


def loaded(
    incident: str, caplog: pytest.LogCaptureFixture, segments: bool = True
) -> tuple[list[Any], list[str]]:
    """The incident's events as replay loads them, and the captures its event segments served."""
    inc = Incident.objects.get(name=incident)
    keys_by_id = dict(Capture.objects.filter(incident=inc).values_list("pk", "key"))
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="replay.load"), connection.cursor() as cur:
        events = load_events(cur, inc.pk, keys_by_id, segments=segments)
    served = [r.args[0] for r in caplog.records if "segments" in r.getMessage()]
    return events, served


@pytest.mark.parametrize("pipeline", [-1, 0], ids=["one-process", "two-processes"])
def test_a_bulk_ingest_writes_segments_that_load_as_the_rows_do(
    tmp_path, settings, monkeypatch, caplog, pipeline
):
    monkeypatch.setattr(writer, "BATCH", 7)
    settings.INGEST_PIPELINE_MIN_BYTES = pipeline
    ingest(clean_capture(tmp_path / "gw-1.jsonl"), "inc")

    gw = Capture.objects.get(key="gw-1")
    assert EventSegment.objects.filter(capture=gw).count() == 7  # 43 events, batches of 7
    fast, used = loaded("inc", caplog)
    slow, _ = loaded("inc", caplog, segments=False)
    assert used == ["gw-1"]  # md-1 holds no events
    assert fast == slow and len(fast) == 43
    assert any(e.parents for e in fast) and any(e.recv_ts_ns for e in fast)


def test_a_capture_with_duplicates_or_lines_out_of_order_is_read_from_its_rows(
    tmp_path, monkeypatch, caplog
):
    monkeypatch.setattr(writer, "BATCH", 7)
    ingest(messy_capture(tmp_path / "gw-1.jsonl"), "inc")

    fast, used = loaded("inc", caplog)
    slow, _ = loaded("inc", caplog, segments=False)
    assert used == []
    assert fast == slow and len(fast) == 66


def test_a_live_batch_after_a_bulk_ingest_is_not_missed(tmp_path, caplog):
    ingest(clean_capture(tmp_path / "gw-1.jsonl"), "inc")
    gw = Capture.objects.get(key="gw-1")
    append_events(gw, [tick(500)])

    events, used = loaded("inc", caplog)
    assert used == []
    assert events[-1].seq == 500 and len(events) == 44


def test_running_an_ingest_again_writes_no_second_segments(tmp_path, caplog):
    path = clean_capture(tmp_path / "gw-1.jsonl")
    ingest(path, "inc")
    before = EventSegment.objects.count()
    ingest(path, "inc")

    assert EventSegment.objects.count() == before == 1
    _, used = loaded("inc", caplog)
    assert used == ["gw-1"]


def test_a_damaged_segment_is_logged_and_the_rows_are_read(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(writer, "BATCH", 7)
    ingest(clean_capture(tmp_path / "gw-1.jsonl"), "inc")
    seg = EventSegment.objects.order_by("first_seq").last()
    assert seg is not None
    EventSegment.objects.filter(pk=seg.pk).update(data=bytes(seg.data)[:-5])

    fast, used = loaded("inc", caplog)
    warning = caplog.text
    slow, _ = loaded("inc", caplog, segments=False)
    assert used == [] and fast == slow
    assert "capture gw-1: " in warning and "reading its rows instead" in warning
