"""The two-process replay of a stored SQLite incident gives exactly the one-process result."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from replay import split
from replay.bench import store_rows, synth_incident
from replay.engine import CaptureInfo, IncidentData, Options, replay_traced
from replay.load import load_events
from replay.sandbox import ReplayError, ReplayRefused

# The event tables are made in a scratch SQLite file, through a Django connection of its own.
pytestmark = pytest.mark.django_db


def _stored(tmp_path: Path, data: IncidentData) -> tuple[str, dict[int, str], frozenset[int]]:
    """``data`` in a fresh SQLite file with the event tables the migrations create."""
    from replay.bench import _temp_sqlite

    path = str(tmp_path / "incident.sqlite3")
    _temp_sqlite(path).close()
    cap_ids = {c.key: i for i, c in enumerate(data.captures, 1)}
    con = sqlite3.connect(path)
    store_rows(con.cursor(), data, 1, cap_ids, qmark=True)
    con.commit()
    con.close()
    light = frozenset(i for i, c in enumerate(data.captures, 1) if not c.strategy)
    return path, {i: k for k, i in cap_ids.items()}, light


def _both(
    tmp_path: Path, data: IncidentData, opts: Options
) -> tuple[tuple[dict[str, Any], Any, IncidentData], tuple[dict[str, Any], Any, list[Any]]]:
    path, keys_by_id, light = _stored(tmp_path, data)
    con = sqlite3.connect(path)
    two = split.replay_split(
        con.cursor(), path, 1, data.name, data.captures, keys_by_id, light, opts, qmark=True
    )
    events = load_events(con.cursor(), 1, keys_by_id, qmark=True, light=light)
    verdict, trace = replay_traced(IncidentData(data.name, data.captures, events), opts)
    return two, (verdict, trace, events)


def _no_children_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@pytest.mark.parametrize(
    "make",
    [
        lambda: synth_incident(3000),
        lambda: synth_incident(3000, skew_ns=2_000_000),  # clock anomalies on many edges
    ],
    ids=["sound-clocks", "skewed-clock"],
)
def test_two_processes_give_the_same_verdict_events_and_merged_order(tmp_path, make) -> None:
    (verdict, trace, data), (verdict1, trace1, events1) = _both(tmp_path, make(), Options())
    assert verdict == verdict1 and verdict["status"] == "identical"
    assert data.events == events1
    assert [e.ref for e in trace.merged] == [e.ref for e in trace1.merged]
    assert [r.replayed for r in trace.runs] == [r.replayed for r in trace1.runs]
    assert _no_children_left()


def test_a_diverged_replay_shows_the_same_first_divergence_and_paths(tmp_path) -> None:
    opts = Options(sets={"threshold_bps": "3"})
    (verdict, _t, _d), (verdict1, _t1, _e1) = _both(tmp_path, synth_incident(3000), opts)
    assert verdict["status"] == "diverged"
    assert verdict == verdict1
    assert verdict["first_divergence"]["recorded_path"]


def test_a_refused_strategy_stops_the_worker_and_says_why(tmp_path) -> None:
    data = synth_incident(500)
    strat = next(c for c in data.captures if c.strategy)
    tampered = CaptureInfo(
        strat.key,
        strat.host,
        strat.adapter,
        strat.clock,
        {**strat.strategy, "code_digest": "sha256:" + "0" * 64},
        strat.meta,
    )
    caps = [tampered if c is strat else c for c in data.captures]
    path, keys_by_id, light = _stored(tmp_path, data)
    con = sqlite3.connect(path)
    with pytest.raises(ReplayRefused, match="digest"):
        split.replay_split(con.cursor(), path, 1, "x", caps, keys_by_id, light, Options(), True)
    assert _no_children_left()


def test_a_worker_that_cannot_read_the_database_fails_the_replay_with_the_reason(tmp_path) -> None:
    data = synth_incident(500)
    path, keys_by_id, light = _stored(tmp_path, data)
    con = sqlite3.connect(path)
    missing = str(tmp_path / "no-such-dir" / "db.sqlite3")
    with pytest.raises(ReplayError, match=r"the merge worker failed: .*unable to open database"):
        split.replay_split(
            con.cursor(), missing, 1, "x", data.captures, keys_by_id, light, Options(), True
        )
    assert _no_children_left()


def test_only_big_whole_incident_strategy_replays_use_two_processes(monkeypatch) -> None:
    import threading

    big, light = split.MIN_EVENTS, frozenset({1})
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert not split.usable(big, Options(), light)  # a fork would copy no other thread
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert split.usable(big, Options(), light)
    assert not split.usable(big - 1, Options(), light)
    assert not split.usable(big, Options(), frozenset())  # nothing loaded light: FIX-only, --path
    assert not split.usable(big, Options(path="strat:5"), light)
    assert not split.usable(big, Options(sets={"risk.max_qty": "10"}), light)
