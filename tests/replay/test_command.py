"""``deltatrace replay``: JSON shape, exit statuses, errors, and the database round trip."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from replay.bench import store_incident, synth_incident
from replay.engine import IncidentData, replay
from replay.load import load_events, load_incident

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("replay", *args, stdout=out)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue()


@pytest.fixture
def stored() -> IncidentData:
    data = synth_incident(600, name="calm-day")
    store_incident(data)
    return data


def test_json_verdict_for_an_identical_replay(stored: IncidentData) -> None:
    code, out = run("calm-day", "--json")
    r = orjson.loads(out)
    assert code == 0
    assert r["status"] == "identical" and r["first_divergence"] is None
    assert r["events"] == len(stored.events)
    assert r["outputs_compared"] > 0 and len(r["run_digest"]) == 64
    assert r["run_digest"] == replay(stored)["run_digest"]


def test_loading_from_the_database_gives_back_the_same_events(stored: IncidentData) -> None:
    from deltatrace.models import Incident

    loaded = load_incident(Incident.objects.get(name="calm-day"))
    key = lambda e: e.ref  # noqa: E731
    assert sorted(loaded.events, key=key) == sorted(stored.events, key=key)


def test_a_light_load_keeps_everything_the_merge_needs(stored: IncidentData) -> None:
    """Captures without a strategy come without keys and payloads; order, clocks, hosts, kinds,
    lanes and causes (several per event, in edge order) are as stored."""
    from django.db import connection

    from deltatrace.models import Capture, Edge, Incident

    inc = Incident.objects.get(name="calm-day")
    venue = Capture.objects.get(incident=inc, key="venue")
    strat = Capture.objects.get(incident=inc, key="strat")
    # A second cause on venue:2, sorting before its recorded one, and one from outside the incident.
    Edge.objects.create(
        incident=inc, src_capture=strat, src_seq=1, dst_capture=venue, dst_seq=2, kind="causal"
    )
    Edge.objects.create(
        incident=inc, src_capture=venue, src_seq=1, dst_capture=venue, dst_seq=2, kind="aaa"
    )
    full = load_incident(inc)
    light = load_incident(inc, full=False)
    assert [e.ref for e in light.events] == [e.ref for e in full.events]
    for a, b in zip(light.events, full.events, strict=True):
        if a.capture == "strat":
            assert a == b
        else:
            assert (a.kind, a.ts_ns, a.hlc_l, a.hlc_c, a.host, a.lane, a.parents) == (
                b.kind,
                b.ts_ns,
                b.hlc_l,
                b.hlc_c,
                b.host,
                b.lane,
                b.parents,
            )
            assert a.keys == {} and a.payload == {}
    v2 = next(e for e in full.events if e.ref == ("venue", 2))
    edges = Edge.objects.filter(dst_capture=venue, dst_seq=2)
    assert len(v2.parents) == 4 and v2.parents == tuple(
        (e.src_capture.key, e.src_seq, e.kind)
        for e in edges.order_by("src_capture_id", "src_seq", "kind")
    )
    with connection.cursor() as cur:
        ids = {c.pk: c.key for c in Capture.objects.filter(incident=inc) if c.key != "strat"}
        partial = load_events(cur, inc.pk, ids)
    assert ("strat", 1, "causal") not in {p for e in partial for p in e.parents}


def test_a_divergence_exits_1_and_says_where(stored: IncidentData) -> None:
    code, out = run("calm-day", "--set", "slippage_ticks=4")
    assert code == 1
    assert "DIVERGED" in out and "First divergence" in out and "payload.price" in out


def test_the_incident_can_be_named_by_id(stored: IncidentData) -> None:
    from deltatrace.models import Incident

    code, out = run(str(Incident.objects.get(name="calm-day").pk), "--json")
    assert code == 0 and orjson.loads(out)["incident"] == "calm-day"


def test_an_unknown_incident_is_an_error_with_status_2() -> None:
    with pytest.raises(CommandError, match="unknown incident 'nope'") as exc:
        call_command("replay", "nope", "--json")
    assert exc.value.returncode == 2


def test_a_bad_set_is_an_error_with_status_2(stored: IncidentData) -> None:
    with pytest.raises(CommandError, match="PARAM=VALUE") as exc:
        call_command("replay", "calm-day", "--set", "justaname")
    assert exc.value.returncode == 2


def test_path_by_capture_key_or_event_id_prints_the_chain(stored: IncidentData) -> None:
    from deltatrace.models import Event

    fill = Event.objects.filter(capture__key="venue", kind="Fill").order_by("seq").first()
    code, by_ref = run("calm-day", "--json", "--path", f"venue:{fill.seq}")
    code2, by_id = run("calm-day", "--json", "--path", str(fill.pk))
    assert code == code2 == 0
    assert orjson.loads(by_ref)["path"] == orjson.loads(by_id)["path"]
    kinds = [n["kind"] for n in orjson.loads(by_ref)["path"]]
    assert kinds[-4:] == ["Order", "RiskCheck", "ExecReport", "Fill"]
    code, human = run("calm-day", "--path", f"venue:{fill.seq}")
    assert "Decision path" in human and "RiskCheck" in human


def to_capture_lines(data: IncidentData) -> dict[str, list[dict[str, Any]]]:
    files: dict[str, list[dict[str, Any]]] = {}
    for c in data.captures:
        header = {
            "format": "deltatrace.capture",
            "version": 1,
            "capture": c.key,
            "host": c.host,
            "adapter": c.adapter,
            "clock": c.clock,
            "meta": c.meta,
        }
        if c.strategy:
            header["strategy"] = c.strategy
        files[c.key] = [header]
    for e in data.events:
        files[e.capture].append(
            {
                "seq": e.seq,
                "kind": e.kind,
                "ts_ns": e.ts_ns,
                "hlc": [e.hlc_l, e.hlc_c],
                "host": e.host,
                "lane": e.lane,
                "keys": e.keys,
                "payload": e.payload,
                "parents": [{"capture": c, "seq": s, "kind": k} for c, s, k in e.parents],
            }
        )
    return files


def test_a_capture_ingested_through_the_real_ingest_replays_identically(tmp_path: Path) -> None:
    from deltatrace.ingest import ingest_paths

    data = synth_incident(300, name="ingested")
    paths = []
    for key, lines in to_capture_lines(data).items():
        p = tmp_path / f"{key}.jsonl"
        p.write_bytes(b"\n".join(orjson.dumps(x) for x in lines) + b"\n")
        paths.append(str(p))
    summary = ingest_paths(paths, "ingested")
    assert summary["quarantined"] == 0
    code, out = run("ingested", "--json")
    r = orjson.loads(out)
    assert r["first_divergence"] is None, r["first_divergence"]["diff"]
    assert code == 0 and r["status"] == "identical"
    assert r["run_digest"] == orjson.loads(run("ingested", "--json")[1])["run_digest"]


def test_outputs_pseudonymized_at_ingest_are_compared_pseudonymized(tmp_path: Path) -> None:
    from deltatrace.ingest import ingest_paths
    from deltatrace.models import Event

    data = synth_incident(300, name="private")
    paths = []
    for key, lines in to_capture_lines(data).items():
        p = tmp_path / f"{key}.jsonl"
        p.write_bytes(b"\n".join(orjson.dumps(x) for x in lines) + b"\n")
        paths.append(str(p))
    ingest_paths(paths, "private", policy="default")
    order = Event.objects.filter(capture__key="strat", kind="Order").first()
    assert order.payload_dict()["account"].startswith("pn_")  # the real account never got stored
    code, out = run("private", "--json", "--set", "slippage_ticks=2")
    fd = orjson.loads(out)["first_divergence"]
    assert code == 1
    # Only the what-if change shows up; the account compares token to token.
    assert [d["path"] for d in fd["diff"]] == ["payload.price"]


@pytest.mark.parametrize(
    "scenario", ["calm", "partition-burst", "stale-md", "fat-finger", "kill-switch", "clock-skew"]
)
def test_a_testbed_scenario_replays_identically(tmp_path: Path, scenario: str) -> None:
    from adapters.testbed import run_scenario
    from deltatrace.ingest import ingest_paths

    manifest = run_scenario(scenario, 11, tmp_path, ticks=400)
    ingest_paths([str(tmp_path / f["path"]) for f in manifest["files"]], f"tb-{scenario}")
    code, out = run(f"tb-{scenario}", "--json")
    r = orjson.loads(out)
    assert r["first_divergence"] is None, r["first_divergence"]
    assert code == 0 and r["outputs_compared"] > 0


def test_each_verdict_is_recorded_in_the_ledger(settings, tmp_path):
    from ledger.models import LedgerEntry

    settings.DATA_DIR = tmp_path
    incident = store_incident(synth_incident(300, name="ledgered"))
    out = io.StringIO()
    call_command("replay", incident.name, "--json", "--actor", "carol", stdout=out)
    result = orjson.loads(out.getvalue())
    entry = LedgerEntry.objects.get(index=result["ledger_index"]).as_dict()
    assert entry["type"] == "replay.verdict" and entry["actor"] == "carol"
    assert entry["subject"] == result["run_digest"]
    assert entry["payload"]["status"] == "identical" and entry["payload"]["incident"] == "ledgered"
