"""The published JSON Schema and ingest's validator agree on what a capture line is."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from deltatrace.capture_format import BadLine, normalize_event
from tests.ingest.conftest import T0, header, tick

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "deltatrace/schema/capture-v1.schema.json").read_text()
)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

GOOD = [
    tick(1),
    {
        "seq": 2,
        "kind": "Order",
        "ts_ns": T0,
        "hlc": [T0, 3],
        "keys": {"cl_ord_id": "A"},
        "parents": [{"capture": "feed", "seq": 9, "kind": "send_receive"}],
        "raw": "8=FIX.4.4\u0001",
    },
]
BAD = [
    {"seq": 1, "kind": "Teleport", "ts_ns": T0},
    {"seq": 1, "kind": "MDTick"},
    {"seq": 1, "kind": "MDTick", "ts_ns": 1.5},
    {"seq": 0, "kind": "MDTick", "ts_ns": T0},
    {"seq": 1, "kind": "MDTick", "ts_ns": T0, "keys": {"colour": "red"}},
    {"seq": 1, "kind": "MDTick", "ts_ns": T0, "extra": 1},
    {"seq": 1, "kind": "MDTick", "ts_ns": T0, "hlc": [T0]},
    {"seq": 1, "kind": "MDTick", "ts_ns": T0, "payload": []},
]


def test_the_schema_is_valid_and_accepts_a_header():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert VALIDATOR.is_valid(header())


@pytest.mark.parametrize("event", GOOD)
def test_lines_the_schema_accepts_are_ingested(event):
    assert VALIDATOR.is_valid(event)
    normalize_event(event, "h")


@pytest.mark.parametrize("event", BAD)
def test_lines_the_schema_rejects_are_quarantined(event):
    assert not VALIDATOR.is_valid(event)
    with pytest.raises(BadLine):
        normalize_event(event, "h")
