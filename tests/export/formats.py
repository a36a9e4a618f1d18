"""Format checkers written from the specs, independent of the exporter.

- Chrome: the Trace Event Format document (Google, "Trace Event Format", JSON object form) as read
  by Perfetto's JSON importer: `ts`/`dur` in microseconds, phases, metadata names, flow binding.
- OTLP: opentelemetry-proto `ExportTraceServiceRequest` under the OTLP/JSON mapping: lowerCamelCase
  field names, trace/span ids as hex (not base64), enums as integers, 64-bit integers as strings.
"""

from __future__ import annotations

from typing import Any

import jsonschema

_NUM = {"type": "number"}
_INT = {"type": "integer"}
CHROME_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["ph", "pid", "tid"],
    "properties": {
        "ph": {"enum": ["X", "B", "E", "i", "C", "M", "s", "t", "f"]},
        "name": {"type": "string"},
        "cat": {"type": "string"},
        "pid": _INT,
        "tid": _INT,
        "ts": {"type": "number", "minimum": 0},
        "dur": {"type": "number", "minimum": 0},
        "args": {"type": "object"},
        "id": {"type": ["integer", "string"]},
        "bp": {"enum": ["e"]},
        "s": {"enum": ["g", "p", "t"]},
    },
    "allOf": [
        {
            "if": {"properties": {"ph": {"const": "X"}}},
            "then": {"required": ["name", "ts", "dur"]},
        },
        {
            "if": {"properties": {"ph": {"enum": ["B", "E", "i", "C"]}}},
            "then": {"required": ["name", "ts"]},
        },
        {
            "if": {"properties": {"ph": {"const": "C"}}},
            "then": {
                "properties": {"args": {"type": "object", "additionalProperties": _NUM}},
                "required": ["args"],
            },
        },
        {
            "if": {"properties": {"ph": {"enum": ["s", "t", "f"]}}},
            "then": {"required": ["id", "name", "cat", "ts"]},
        },
        {
            "if": {"properties": {"ph": {"const": "M"}}},
            "then": {
                "required": ["name", "args"],
                "properties": {
                    "name": {
                        "enum": [
                            "process_name",
                            "process_labels",
                            "process_sort_index",
                            "thread_name",
                            "thread_sort_index",
                        ]
                    }
                },
            },
        },
    ],
}
CHROME_TRACE: dict[str, Any] = {
    "type": "object",
    "required": ["traceEvents"],
    "properties": {
        "traceEvents": {"type": "array", "items": CHROME_EVENT},
        "displayTimeUnit": {"enum": ["ms", "ns"]},
        "otherData": {"type": "object"},
    },
}

_HEX32 = {"type": "string", "pattern": "^[0-9a-f]{32}$", "not": {"pattern": "^0+$"}}
_HEX16 = {"type": "string", "pattern": "^[0-9a-f]{16}$", "not": {"pattern": "^0+$"}}
_U64 = {"type": "string", "pattern": "^[0-9]{1,20}$"}
_ANY_VALUE: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "additionalProperties": False,
    "properties": {
        "stringValue": {"type": "string"},
        "boolValue": {"type": "boolean"},
        "intValue": {"type": "string", "pattern": "^-?[0-9]+$"},
        "doubleValue": _NUM,
        "bytesValue": {"type": "string"},
        "arrayValue": {
            "type": "object",
            "properties": {"values": {"type": "array", "items": {"$ref": "#/$defs/anyValue"}}},
        },
        "kvlistValue": {
            "type": "object",
            "properties": {"values": {"$ref": "#/$defs/attributes"}},
        },
    },
}
_ATTRIBUTES = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["key", "value"],
        "additionalProperties": False,
        "properties": {"key": {"type": "string"}, "value": {"$ref": "#/$defs/anyValue"}},
    },
}
_ATTRS_REF = {"$ref": "#/$defs/attributes"}
_SPAN = {
    "type": "object",
    "additionalProperties": False,
    "required": ["traceId", "spanId", "name", "kind", "startTimeUnixNano", "endTimeUnixNano"],
    "properties": {
        "traceId": _HEX32,
        "spanId": _HEX16,
        "parentSpanId": _HEX16,
        "traceState": {"type": "string"},
        "flags": _INT,
        "name": {"type": "string", "minLength": 1},
        "kind": {"type": "integer", "minimum": 0, "maximum": 5},
        "startTimeUnixNano": _U64,
        "endTimeUnixNano": _U64,
        "attributes": _ATTRS_REF,
        "droppedAttributesCount": _INT,
        "events": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["timeUnixNano", "name"],
                "properties": {
                    "timeUnixNano": _U64,
                    "name": {"type": "string"},
                    "attributes": _ATTRS_REF,
                    "droppedAttributesCount": _INT,
                },
            },
        },
        "droppedEventsCount": _INT,
        "links": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["traceId", "spanId"],
                "properties": {
                    "traceId": _HEX32,
                    "spanId": _HEX16,
                    "traceState": {"type": "string"},
                    "attributes": _ATTRS_REF,
                    "droppedAttributesCount": _INT,
                    "flags": _INT,
                },
            },
        },
        "droppedLinksCount": _INT,
        "status": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "code": {"type": "integer", "minimum": 0, "maximum": 2},
                "message": {"type": "string"},
            },
        },
    },
}
OTLP_TRACES: dict[str, Any] = {
    "$defs": {"anyValue": _ANY_VALUE, "attributes": _ATTRIBUTES},
    "type": "object",
    "additionalProperties": False,
    "required": ["resourceSpans"],
    "properties": {
        "resourceSpans": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["resource", "scopeSpans"],
                "properties": {
                    "resource": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "attributes": _ATTRS_REF,
                            "droppedAttributesCount": _INT,
                        },
                    },
                    "schemaUrl": {"type": "string"},
                    "scopeSpans": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["spans"],
                            "properties": {
                                "scope": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {
                                        "name": {"type": "string"},
                                        "version": {"type": "string"},
                                        "attributes": _ATTRS_REF,
                                        "droppedAttributesCount": _INT,
                                    },
                                },
                                "schemaUrl": {"type": "string"},
                                "spans": {"type": "array", "items": _SPAN},
                            },
                        },
                    },
                },
            },
        }
    },
}


def check_chrome_trace(doc: dict[str, Any]) -> None:
    """Schema plus the rules a schema cannot say: flows pair up and bind to a slice."""
    jsonschema.validate(doc, CHROME_TRACE)
    events = doc["traceEvents"]
    named = {(e["pid"], e["tid"]) for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    slices = {(e["pid"], e["tid"], e["ts"], e.get("cat")) for e in events if e["ph"] == "X"}
    for e in events:
        if e["ph"] in ("X", "i", "s", "f"):
            assert (e["pid"], e["tid"]) in named, f"no thread_name for {e}"
    flows: dict[Any, list[str]] = {}
    for e in events:
        if e["ph"] in ("s", "t", "f"):
            flows.setdefault(e["id"], []).append(e["ph"])
            # Chrome binds a flow step to the slice with the same cat, pid, tid and ts.
            assert (e["pid"], e["tid"], e["ts"], e["cat"]) in slices, f"unbound flow {e}"
    for fid, phases in flows.items():
        assert phases[0] == "s" and phases[-1] == "f", f"flow {fid} is {phases}"


def otlp_spans(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for rs in doc["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]


def check_otlp(doc: dict[str, Any]) -> None:
    """Schema plus: unique span ids, parents and links resolve, parent pointers form a forest."""
    jsonschema.validate(doc, OTLP_TRACES)
    spans = {s["spanId"]: s for s in otlp_spans(doc)}
    assert len(spans) == len(otlp_spans(doc)), "duplicate spanId"
    for s in spans.values():
        assert int(s["endTimeUnixNano"]) >= int(s["startTimeUnixNano"])
        if "parentSpanId" in s:
            assert s["parentSpanId"] in spans
        for link in s.get("links", []):
            assert link["spanId"] in spans
    for s in spans.values():
        seen = set()
        while "parentSpanId" in s:
            assert s["spanId"] not in seen, "parent cycle"
            seen.add(s["spanId"])
            s = spans[s["parentSpanId"]]
