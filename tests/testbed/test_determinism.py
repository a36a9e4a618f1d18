"""Same scenario and seed: byte-identical output, in-process and across processes/hash seeds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from adapters.testbed import run_scenario

ROOT = Path(__file__).resolve().parents[2]


def tree(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def test_same_seed_gives_identical_bytes_in_process(tmp_path):
    a = run_scenario("partition-burst", 42, tmp_path / "a")
    b = run_scenario("partition-burst", 42, tmp_path / "b")
    assert a == b
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_another_seed_gives_another_run(tmp_path):
    a = run_scenario("calm", 1, tmp_path / "a")
    b = run_scenario("calm", 2, tmp_path / "b")
    assert [f["sha256"] for f in a["files"]] != [f["sha256"] for f in b["files"]]


def test_manifest_lists_a_sha256_per_file(tmp_path):
    m = run_scenario("calm", 9, tmp_path)
    import hashlib

    assert {f["path"] for f in m["files"]} == {
        "feed-1.jsonl",
        "strategy-1.jsonl",
        "gateway-1.jsonl",
        "venue-1.jsonl",
    }
    for f in m["files"]:
        assert hashlib.sha256((tmp_path / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    on_disk = json.loads((tmp_path / "manifest.json").read_text())
    assert on_disk == m
    assert (m["scenario"], m["seed"]) == ("calm", 9)
    assert m["versions"]["capture_format"] == 1 and m["versions"]["strategy"]["name"]


def test_identical_across_processes_and_hash_seeds(tmp_path):
    outs = []
    for hashseed in ("0", "12345"):
        out = tmp_path / f"h{hashseed}"
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        proc = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "simulate",
                "--scenario",
                "kill-switch",
                "--seed",
                "5",
                "--out",
                str(out),
                "--events",
                "400",
                "--json",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(proc.stdout)
        assert result["manifest"]["scenario"] == "kill-switch"
        outs.append(tree(out))
    assert outs[0] == outs[1]


def test_events_knob_scales_the_run(tmp_path):
    small = run_scenario("calm", 3, tmp_path / "s", ticks=200)
    big = run_scenario("calm", 3, tmp_path / "b", ticks=2000)
    assert big["events"] > 5 * small["events"]


def test_unknown_scenario_is_a_clear_error_listing_the_scenarios(tmp_path):
    with pytest.raises(
        CommandError, match="unknown scenario 'nope'; scenarios: calm, partition-burst"
    ):
        call_command("simulate", "--scenario", "nope", "--seed", "1", "--out", str(tmp_path))
    assert not list(tmp_path.iterdir())


def test_ingest_without_incident_is_refused(tmp_path):
    with pytest.raises(CommandError, match="--incident"):
        call_command("simulate", "--scenario", "calm", "--out", str(tmp_path), "--ingest")


@pytest.mark.django_db
def test_ingest_loads_every_capture_into_the_incident(tmp_path, capsys):
    call_command(
        "simulate",
        "--scenario",
        "fat-finger",
        "--seed",
        "2",
        "--out",
        str(tmp_path),
        "--events",
        "300",
        "--ingest",
        "--incident",
        "ff-test",
        "--json",
    )
    result = json.loads(capsys.readouterr().out)
    assert result["ingest"]["incident"] in ("ff-test", result["ingest"]["incident"])
    assert result["ingest"]["accepted"] == result["manifest"]["events"]
    assert result["ingest"]["quarantined"] == 0
