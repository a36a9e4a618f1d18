"""`deltatrace export INCIDENT --format chrome-trace|otlp --out FILE` through the database."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.management import CommandError, call_command

from deltatrace.exports import export_bytes
from deltatrace.models import Capture, Edge, Event, Incident
from deltatrace.privacy import is_token
from tests.export.formats import check_chrome_trace, check_otlp, otlp_spans
from tests.export.sample import events
from tests.gcwatch import collections_during

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(settings: Any, tmp_path: Path) -> Incident:
    settings.DATA_DIR = tmp_path / "data"  # the generated privacy key goes here
    inc = Incident.objects.create(name="flash-2026")
    caps = {
        key: Capture.objects.create(incident=inc, key=key, host=host)
        for key, host in (("strat", "strategy-1"), ("venue", "venue-1"))
    }
    evs = events()
    Event.objects.bulk_create(
        Event(
            incident=inc,
            capture=caps[e["capture"]],
            seq=e["seq"],
            kind=e["kind"],
            ts_ns=e["ts_ns"],
            hlc_l=e["hlc"][0],
            hlc_c=e["hlc"][1],
            host=e["host"],
            lane=e["lane"],
            payload=orjson.dumps(e["payload"]).decode(),
            digest="0" * 64,
            **e["keys"],
        )
        for e in evs
    )
    Edge.objects.bulk_create(
        Edge(
            incident=inc,
            src_capture=caps[p.get("capture", e["capture"])],
            src_seq=p["seq"],
            dst_capture=caps[e["capture"]],
            dst_seq=e["seq"],
            kind=p["kind"],
        )
        for e in evs
        for p in e["parents"]
    )
    return inc


def _export(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("export", *args, "--json", stdout=out)
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def test_it_exports_a_chrome_trace_that_passes_the_format_check(
    incident: Incident, tmp_path: Path
) -> None:
    out = tmp_path / "trace.json"
    summary = _export("flash-2026", "--format", "chrome-trace", "--out", str(out))
    assert summary["events"] == 9 and summary["edges"] == 9
    doc = json.loads(out.read_text())
    check_chrome_trace(doc)
    assert len([e for e in doc["traceEvents"] if e["ph"] == "f"]) == 9
    assert doc["otherData"]["incident"] == "flash-2026"
    # The internal audience of the default policy pseudonymizes the account on the way out.
    assert "ACC-1" not in out.read_text()
    assert doc["otherData"]["privacy_policy"]["audience"] == "internal"


def test_it_exports_otlp_by_incident_id(incident: Incident, tmp_path: Path) -> None:
    out = tmp_path / "otlp.json"
    _export(str(incident.pk), "--format", "otlp", "--out", str(out))
    doc = json.loads(out.read_text())
    check_otlp(doc)
    names = sorted(s["name"] for s in otlp_spans(doc))
    assert names.count("order C1") == 1 and names.count("order C3") == 1
    order = next(s for s in otlp_spans(doc) if s["name"] == "order C1")
    accounts = [
        a["value"]["stringValue"]
        for ev in order["events"]
        for a in ev["attributes"]
        if a["key"] == "deltatrace.payload.account"
    ]
    assert len(accounts) == 2 and len(set(accounts)) == 1 and is_token(accounts[0])


def test_policy_none_exports_what_is_stored(incident: Incident, tmp_path: Path) -> None:
    out = tmp_path / "raw.json"
    summary = _export("flash-2026", "--format", "otlp", "--out", str(out), "--policy", "none")
    assert summary["policy"] is None and "ACC-1" in out.read_text()


def test_public_audience_hides_order_ids(incident: Incident, tmp_path: Path) -> None:
    out = tmp_path / "public.json"
    _export("flash-2026", "--format", "chrome-trace", "--out", str(out), "--audience", "public")
    doc = json.loads(out.read_text())
    check_chrome_trace(doc)
    assert "C1" not in {e["args"].get("keys", {}).get("cl_ord_id") for e in doc["traceEvents"]
                        if e["ph"] == "X"}  # fmt: skip


def test_an_unknown_incident_is_a_clear_error(incident: Incident, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no incident 'nope'"):
        _export("nope", "--format", "otlp", "--out", str(tmp_path / "x.json"))
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize("fmt", ["chrome-trace", "otlp"])
def test_exporting_runs_no_collection_and_leaves_the_collector_on(
    incident: Incident, tmp_path: Path, fmt: str
) -> None:
    import gc

    # Thousands of events, so that building the document allocates far more than one collection's
    # worth of tracked objects.
    cap = Capture.objects.get(incident=incident, key="venue")
    Event.objects.bulk_create(
        Event(
            incident=incident,
            capture=cap,
            seq=1000 + i,
            kind="MDTick",
            ts_ns=1_767_225_600_000_000_000 + i,
            hlc_l=0,
            hlc_c=0,
            host="venue-1",
            lane="md",
            payload=orjson.dumps({"bid": "100.01", "ask": "100.02"}).decode(),
            digest="0" * 64,
            symbol="ACME",
        )
        for i in range(3000)
    )

    # The document holds every event again: a collection during the export walks them all.
    with collections_during() as collections:
        blob, n_events, _ = export_bytes(incident, fmt, None)
    assert n_events == 3009 and json.loads(blob)
    assert len(collections) <= 1 and gc.isenabled()  # at most the one after the export
