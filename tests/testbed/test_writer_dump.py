"""The capture writer serialises all events in one orjson call; lines must equal one call each."""

from __future__ import annotations

import random

import orjson

from adapters.testbed.clock import HostClock
from adapters.testbed.sim import Sim
from adapters.testbed.writer import _SENTINEL, CaptureWriter


def _writer() -> CaptureWriter:
    header = {"format": "deltatrace.capture", "version": 1, "capture": "h-1", "host": "h-1"}
    return CaptureWriter(header, Sim(0), HostClock(0, random.Random(1)))


def _expected(w: CaptureWriter) -> bytes:
    return b"".join(orjson.dumps(x) + b"\n" for x in [w.header, *w.events])


def test_batched_dump_equals_one_line_per_event() -> None:
    w = _writer()
    for i in range(50):
        parents = [{"seq": i, "kind": "causal"}, {"seq": i - 1, "kind": "causal"}] if i > 1 else []
        w.record("Annotation", "x", {"k": f"v{i}"}, {"n": i, "t": "},{", "z": [0, {}]}, parents)
    assert w.dump() == _expected(w)


def test_an_event_holding_the_separator_text_still_dumps_exactly() -> None:
    w = _writer()
    w.record("Annotation", "x", {}, {"text": _SENTINEL}, [])
    w.record("Annotation", "x", {}, {"text": "plain"}, [])
    assert w.dump() == _expected(w)
    assert len(w.dump().splitlines()) == 3


def test_empty_and_single_event_captures_dump() -> None:
    w = _writer()
    assert w.dump() == _expected(w)
    w.record("Annotation", "x", {}, {}, [])
    assert w.dump() == _expected(w)
