"""The capture writer serialises events in orjson batches as it goes; lines must equal one call
each, however the events fall into batches."""

from __future__ import annotations

import random
from typing import Any

import orjson

from adapters.testbed.clock import HostClock
from adapters.testbed.sim import Sim
from adapters.testbed.writer import CHUNK, CaptureWriter


def _writer() -> CaptureWriter:
    header = {"format": "deltatrace.capture", "version": 1, "capture": "h-1", "host": "h-1"}
    return CaptureWriter(header, Sim(0), HostClock(0, random.Random(1)))


def _expected(w: CaptureWriter, recorded: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(x) + b"\n" for x in [w.header, *recorded])


def test_batched_dump_equals_one_line_per_event() -> None:
    w = _writer()
    recorded = []
    for i in range(2 * CHUNK + 7):  # two full batches and a partial one
        parents = [{"seq": i, "kind": "causal"}, {"seq": i - 1, "kind": "causal"}] if i > 1 else []
        payload = {"n": i, "t": "},{", "z": [0, {}]}
        recorded.append(w.record("Annotation", "x", {"k": f"v{i}"}, payload, parents))
    assert w.dump() == _expected(w, recorded)
    assert w.count == len(recorded)
    assert w.events == recorded


def test_an_event_holding_newlines_and_json_punctuation_stays_one_line() -> None:
    w = _writer()
    recorded = [
        w.record("Annotation", "x", {}, {"text": 'a\nb"},{\x1e'}, []),
        w.record("Annotation", "x", {}, {"text": "plain"}, []),
    ]
    assert w.dump() == _expected(w, recorded)
    assert len(w.dump().splitlines()) == 3


def test_empty_and_single_event_captures_dump() -> None:
    w = _writer()
    assert w.dump() == _expected(w, [])
    recorded = [w.record("Annotation", "x", {}, {}, [])]
    assert w.dump() == _expected(w, recorded)


def test_dump_can_be_repeated_and_recording_go_on() -> None:
    w = _writer()
    recorded = [w.record("Annotation", "x", {}, {"i": i}, []) for i in range(CHUNK + 1)]
    first = w.dump()
    assert w.dump() == first == _expected(w, recorded)
    recorded += [w.record("Annotation", "x", {}, {"i": i}, []) for i in range(3)]
    assert w.dump() == _expected(w, recorded)
