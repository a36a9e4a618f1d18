"""`deltatrace bench`: figures and PASS/MISS per target, one JSON object with --json, clear errors."""

from __future__ import annotations

import io
import json
import sys
import types

import pytest
from django.core.management import CommandError, call_command

from deltatrace import benchmarks
from deltatrace.benchmarks import Suite, Target


@pytest.fixture
def fake_suite(monkeypatch):  # type: ignore[no-untyped-def]
    module = types.ModuleType("fake_bench")

    def run(quick: bool = False) -> Suite:
        suite = Suite(
            "fake", figures={"events": 1_000_000, "events_per_s": 63519.4, "ratio": 0.3291}
        )
        suite.targets += [
            Target("events/s", 63519.4, 250_000),
            Target("latency ms", 0.3231, 1.0, "<="),
        ]
        return suite

    module.run = run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_bench", module)
    monkeypatch.setitem(benchmarks.SUITES, "fake", "fake_bench")


def test_it_prints_figures_and_marks_each_target(fake_suite):
    out = io.StringIO()
    call_command("bench", "fake", stdout=out)
    text = out.getvalue()
    assert "events_per_s                             63,519" in text
    assert "ratio                                    0.329" in text
    assert "[MISS] events/s: 63,519 (target >= 250,000)" in text
    assert "[PASS] latency ms: 0.323 (target <= 1)" in text


def test_json_output_is_one_object_with_every_target(fake_suite):
    out = io.StringIO()
    call_command("bench", "fake", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["ok"] is False
    (suite,) = result["suites"]
    assert [t["ok"] for t in suite["targets"]] == [False, True]


def test_an_unknown_suite_is_a_clear_error():
    with pytest.raises(CommandError, match="unknown suite 'speed'; choose from ingest, fix"):
        call_command("bench", "speed")
