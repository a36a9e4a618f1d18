"""A bundle round-trips: built from the database, verified with nothing but its files."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from ledger.models import LedgerEntry
from ledger.reports import verify as v
from ledger.reports.bundle import build
from tests.gcwatch import collections_during
from tests.reports.conftest import server_key


def test_a_built_bundle_verifies_offline_with_the_pinned_server_key(built: Any) -> None:
    res = v.verify_bundle(built.path, server_key())
    assert res.ok, res.failures
    checks = {(c["file"], c["check"]) for c in res.checks}
    for want in [
        (v.ENVELOPE, "dsse"),
        (v.MANIFEST, "statement"),
        (v.CHECKPOINT, "checkpoint"),
        (v.ENTRIES, "inclusion"),
        (v.ENTRIES, "issuance"),
        (v.APPROVALS, "approval"),
        (v.EVENTS, "digest"),
        ("report.pdf", "digest"),
        ("report.html", "digest"),
    ]:
        assert want in checks
    assert res.key_source.startswith("pinned")


def test_without_a_pinned_key_the_verifier_says_it_used_the_bundles_own(built: Any) -> None:
    res = v.verify_bundle(built.path)
    assert res.ok
    assert "NOT pinned" in res.key_source


def test_the_bundle_holds_the_report_events_proofs_and_its_verifier(built: Any) -> None:
    files = built.files
    assert files["report.pdf"].startswith(b"%PDF")
    html = files["report.html"].decode()
    for heading in (
        "Incident summary",
        "Timeline",
        "Latency",
        "Replay verdict",
        "Decision path",
        "Triggers, approvals",
        "Clock anomalies",
        "Ledger checkpoint",
    ):
        assert heading in html
    assert "<svg" in html and "<script" not in html
    # Nothing loaded from elsewhere (a CDN, say). Not a search for "cdn": the report's random
    # tokens (pseudonyms, signatures) may spell it, which made this test fail now and then.
    assert re.search(r"""(?:src|href|url)\s*[=(]\s*["']?\s*(?:https?:)?//""", html, re.I) is None
    events = [json.loads(line) for line in files[v.EVENTS].splitlines()]
    assert len(events) == 6 * 7
    assert files["verify_bundle.py"] == Path(v.__file__).read_bytes()
    manifest = json.loads(files[v.MANIFEST])
    assert set(manifest["files"]) == set(files) - {v.MANIFEST, v.ENVELOPE}
    types = {e["type"] for e in json.loads(files[v.ENTRIES])["entries"]}
    assert {"capture.registered", "report.issued"} <= types
    assert json.loads(files[v.APPROVALS])["status"] == "none"


def test_issuing_a_report_is_a_ledger_entry_naming_it(built: Any) -> None:
    entry = LedgerEntry.objects.get(index=built.report.ledger_index)
    assert entry.type == "report.issued"
    payload = entry.as_dict()["payload"]
    assert payload["report_id"] == built.report.report_id
    assert payload["incident"] == "flash-dip"
    assert entry.as_dict()["actor"] == "olivia"


def test_the_stored_zip_is_the_one_recorded(built: Any) -> None:
    import hashlib

    blob = built.path.read_bytes()
    assert hashlib.sha256(blob).hexdigest() == built.report.sha256
    assert built.report.size == len(blob)
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        assert "verify_bundle.py" in zf.namelist()


def test_the_public_audience_gets_pseudonymized_order_ids(incident: Any) -> None:
    public = build(incident, "public", "olivia").files
    text = public[v.EVENTS].decode()
    assert "S1-0001" not in text and "pn_" in text
    assert "S1-0001" not in public["report.html"].decode()
    assert "S1-0001" not in public["report.json"].decode()
    assert "8=FIX" not in text  # raw messages are not published
    regulator = build(incident, "regulator", "olivia").files
    assert "S1-0001" in regulator[v.EVENTS].decode()


def test_building_runs_no_collection_and_leaves_the_collector_on(db: Any) -> None:
    import gc

    from deltatrace.ingest import register_capture
    from deltatrace.models import Capture
    from tests.api.factories import build_trading_incident

    busy = build_trading_incident("busy", orders=150)  # about a thousand events
    for cap in Capture.objects.filter(incident=busy):
        register_capture(cap, "tests")
    # The build holds every event at once: a collection during it would walk them all again.
    with collections_during() as collections:
        b = build(busy, "regulator", "olivia")
    assert b.path.exists()
    assert len(collections) <= 1 and gc.isenabled()  # at most the one after the build
