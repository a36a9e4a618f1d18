"""The capture format, version 1 (docs/capture-format.md): validation and normalisation of lines.

Pure: bytes in, plain values out, no Django. `Normalizer.event` is the ingest hot path, so it checks
types with `type(x) is int` (which also rejects bools) and builds each row as one tuple.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from deltatrace.canonical import canonical_json

FORMAT_NAME = "deltatrace.capture"
FORMAT_VERSION = 1
EVENT_KINDS = frozenset(
    {
        "MDTick",
        "Signal",
        "PlanDelta",
        "Order",
        "ExecReport",
        "Fill",
        "RiskCheck",
        "Annotation",
        "Session",
    }
)
EDGE_KINDS = frozenset(
    {
        "tick_signal",
        "signal_plan",
        "plan_order",
        "order_risk",
        "order_report",
        "report_fill",
        "send_receive",
        "order_chain",
        "causal",
    }
)
KEY_FIELDS = (
    "symbol",
    "cl_ord_id",
    "orig_cl_ord_id",
    "order_id",
    "exec_id",
    "signal_id",
    "plan_id",
)
_KEY_SET = frozenset(KEY_FIELDS)
EVENT_FIELDS = frozenset(
    {
        "seq",
        "kind",
        "ts_ns",
        "recv_ts_ns",
        "hlc",
        "host",
        "lane",
        "keys",
        "parents",
        "payload",
        "raw",
    }
)
DEFAULT_LANES = {
    "MDTick": "md",
    "Signal": "signal",
    "PlanDelta": "planner",
    "Order": "executor",
    "ExecReport": "venue",
    "Fill": "venue",
    "RiskCheck": "risk",
    "Annotation": "notes",
    "Session": "session",
}
HEADER_FIELDS = frozenset(
    {"format", "version", "capture", "host", "adapter", "clock", "strategy", "meta"}
)
_INT64 = 2**63
# Bound once: the hot path below calls these per event.
_SORTED = orjson.OPT_SORT_KEYS
_Fragment = orjson.Fragment
_dumps = orjson.dumps
_sha256 = hashlib.sha256
_tuple_new = tuple.__new__


class BadLine(ValueError):
    """A line that cannot become an event; the message is the quarantine reason."""


@dataclass(frozen=True)
class Header:
    capture: str
    host: str = ""
    adapter: str = ""
    clock: dict[str, Any] = field(default_factory=dict)
    strategy: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "capture": self.capture,
            "host": self.host,
            "adapter": self.adapter,
            "clock": self.clock,
            "strategy": self.strategy,
            "meta": self.meta,
        }


def is_header(obj: Any) -> bool:
    return type(obj) is dict and obj.get("format") == FORMAT_NAME


def parse_header(obj: dict[str, Any], default_capture: str) -> Header:
    """Validate a header object; raises BadLine with the reason."""
    if obj.get("version") != FORMAT_VERSION:
        raise BadLine(f"unsupported capture format version {obj.get('version')!r} (expected 1)")
    unknown = sorted(set(obj) - HEADER_FIELDS)
    if unknown:
        raise BadLine(f"unknown header field {unknown[0]!r}")
    capture = obj.get("capture", default_capture)
    if not isinstance(capture, str) or not capture or len(capture) > 100:
        raise BadLine("header 'capture' must be a non-empty string of at most 100 characters")
    for name in ("host", "adapter"):
        if not isinstance(obj.get(name, ""), str):
            raise BadLine(f"header {name!r} must be a string")
    for name in ("clock", "strategy", "meta"):
        if not isinstance(obj.get(name, {}), dict):
            raise BadLine(f"header {name!r} must be an object")
    if _has_nul(obj):
        raise BadLine(f"header {_NUL_TEXT}")
    return Header(
        capture=capture,
        host=obj.get("host", "") or capture,
        adapter=obj.get("adapter", ""),
        clock=obj.get("clock", {}),
        strategy=obj.get("strategy", {}),
        meta=obj.get("meta", {}),
    )


# PostgreSQL stores no NUL character in text (nor in jsonb), so none is admitted on any backend: the
# same capture gives the same outcome wherever it is ingested.
_NUL_TEXT = "contains a NUL character (U+0000), which cannot be stored"


def _has_nul(value: Any) -> bool:
    """Whether a NUL character occurs anywhere in a decoded JSON value (keys included)."""
    if type(value) is str:
        return "\x00" in value
    if type(value) is dict:
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if type(value) is list:
        return any(_has_nul(v) for v in value)
    return False


class Parent(NamedTuple):
    capture: str | None  # None: the same capture
    seq: int
    kind: str


class Normalized(NamedTuple):
    """One valid event: the DB row values, its explicit parents and its digest."""

    seq: int
    kind: str
    ts_ns: int
    recv_ts_ns: int | None
    hlc_l: int
    hlc_c: int
    host: str
    lane: str
    keys: dict[str, str]
    payload_json: str
    raw: str | None
    digest: str
    parents: list[Parent]


def _int(value: Any, name: str) -> int:
    if type(value) is not int:
        if value is None:
            raise BadLine(f"missing {name}")
        raise BadLine(f"non-integer {name}: {value!r:.40}")
    if not -_INT64 <= value < _INT64:
        raise BadLine(f"{name} out of the 64-bit range")
    return value


def normalize_event(
    obj: Any, default_host: str, transform: Any = None, capture: str | None = None
) -> Normalized:
    """Validate one decoded event object and fill in defaults. Raises BadLine with the reason.

    `capture` is the key of the capture the event belongs to, so a parent naming it counts as local.
    This is the ingest hot path: each check is one type test on the common case, and the slower
    helper that words the reason runs only when a check fails.
    """
    if type(obj) is not dict:
        raise BadLine(f"expected a JSON object, got {type(obj).__name__}")
    if not obj.keys() <= EVENT_FIELDS:
        raise BadLine(f"unknown field {sorted(set(obj) - EVENT_FIELDS)[0]!r}")
    get = obj.get
    seq = get("seq")
    if type(seq) is not int or not 1 <= seq < _INT64:
        seq = _int(seq, "seq")  # raises unless the only problem is seq < 1
        raise BadLine(f"seq must be >= 1, got {seq}")
    kind = get("kind")
    if type(kind) is not str or kind not in EVENT_KINDS:
        raise BadLine(f"unknown kind {kind!r}" if kind is not None else "missing kind")
    if transform is not None:
        obj = transform(obj)
        get = obj.get
    ts_ns = get("ts_ns")
    if type(ts_ns) is not int or not -_INT64 <= ts_ns < _INT64:
        _int(ts_ns, "timestamp ts_ns")  # always raises here
    recv = get("recv_ts_ns")
    if recv is not None and (type(recv) is not int or not -_INT64 <= recv < _INT64):
        _int(recv, "recv_ts_ns")
    hlc = get("hlc")
    if hlc is None:
        hlc_l, hlc_c = ts_ns, 0
    elif type(hlc) is list and len(hlc) == 2 and type(hlc[0]) is int and type(hlc[1]) is int:
        hlc_l, hlc_c = hlc
        if not (-_INT64 <= hlc_l < _INT64 and 0 <= hlc_c < 2**31):
            raise BadLine("hlc out of range")
    else:
        raise BadLine("hlc must be [integer, integer]")
    host = get("host") or default_host
    if type(host) is not str or len(host) > 100:
        raise BadLine("host must be a string of at most 100 characters")
    lane = get("lane") or DEFAULT_LANES[kind]
    if type(lane) is not str or len(lane) > 50:
        raise BadLine("lane must be a string of at most 50 characters")
    if "\x00" in host:
        raise BadLine(f"host {_NUL_TEXT}")
    if "\x00" in lane:
        raise BadLine(f"lane {_NUL_TEXT}")
    keys = get("keys") or {}
    if type(keys) is not dict:
        raise BadLine("keys must be an object")
    empty = False
    for k, v in keys.items():
        if k not in _KEY_SET:
            raise BadLine(f"unknown correlation key {k!r}")
        if type(v) is not str or len(v) > 100:
            raise BadLine(f"correlation key {k!r} must be a string of at most 100 characters")
        if "\x00" in v:
            raise BadLine(f"correlation key {k!r} {_NUL_TEXT}")
        empty = empty or not v
    if empty:
        # An empty key is no key: stored rows cannot tell them apart, so neither may the digest.
        keys = {k: v for k, v in keys.items() if v}
    payload = get("payload")
    if payload is None:
        payload = {}
    elif type(payload) is not dict:
        raise BadLine("payload must be an object")
    raw = get("raw")
    if raw is not None:
        if type(raw) is not str:
            raise BadLine("raw must be a string")
        if "\x00" in raw:
            raise BadLine(f"raw {_NUL_TEXT}")
    parents_in = get("parents")
    if not parents_in:
        parents: list[Parent] = []
        canon_parents: list[dict[str, Any]] = []
    else:
        parents = _parents(parents_in, seq, capture)
        canon_parents = _canonical_parents(parents)
    try:
        payload_bytes = canonical_json(payload)
    except (TypeError, ValueError) as exc:  # e.g. an integer beyond 64 bits from an adapter's dict
        raise BadLine(f"payload cannot be canonicalised: {exc}") from None
    # The canonical event (docs/capture-format.md, "Digests"), as in event_digest, built inline.
    canonical = {
        "seq": seq,
        "kind": kind,
        "ts_ns": ts_ns,
        "recv_ts_ns": recv,
        "hlc": [hlc_l, hlc_c],
        "host": host,
        "lane": lane,
        "keys": keys,
        "parents": canon_parents,
        "payload": _Fragment(payload_bytes),
        "raw": raw,
    }
    # A lone surrogate in a string (Python's json, behind the API, allows it) cannot be encoded.
    try:
        digest = _sha256(_dumps(canonical, option=_SORTED)).hexdigest()
    except TypeError as exc:
        raise BadLine(f"event cannot be canonicalised: {exc}") from None
    return _tuple_new(
        Normalized,
        (
            seq,
            kind,
            ts_ns,
            recv,
            hlc_l,
            hlc_c,
            host,
            lane,
            keys,
            payload_bytes.decode(),
            raw,
            digest,
            parents,
        ),
    )


def _parents(parents_in: Any, seq: int, capture: str | None) -> list[Parent]:
    """Validated explicit parents, sorted and deduplicated (a set, so the digest can be recomputed
    from edge rows)."""
    if type(parents_in) is not list:
        raise BadLine("parents must be an array")
    parents = []
    for p in parents_in:
        if type(p) is not dict or type(p.get("seq")) is not int:
            raise BadLine("each parent must be an object with an integer seq")
        pkind = p.get("kind", "causal")
        if type(pkind) is not str or pkind not in EDGE_KINDS:
            raise BadLine(f"unknown edge kind {pkind!r}")
        pcap = p.get("capture")
        if pcap is not None and pcap == capture:
            pcap = None  # naming its own capture is the same as naming none
        if pcap is None:
            if not 1 <= p["seq"] < seq:
                raise BadLine(f"unknown parent seq {p['seq']} (must precede seq {seq})")
        elif type(pcap) is not str:
            raise BadLine("parent capture must be a string")
        elif "\x00" in pcap:
            raise BadLine(f"parent capture {_NUL_TEXT}")
        parents.append(Parent(pcap, p["seq"], pkind))
    if len(parents) > 1:
        parents = sorted(set(parents), key=lambda p: (p.capture or "", p.seq, p.kind))
    return parents


def _canonical_parents(parents: list[Parent]) -> list[dict[str, Any]]:
    return [
        {"capture": p.capture, "seq": p.seq, "kind": p.kind}
        if p.capture is not None
        else {"seq": p.seq, "kind": p.kind}
        for p in parents
    ]


def event_digest(
    seq: int,
    kind: str,
    ts_ns: int,
    recv_ts_ns: int | None,
    hlc_l: int,
    hlc_c: int,
    host: str,
    lane: str,
    keys: dict[str, str],
    parents: list[Parent],
    payload: Any,
    raw: str | None,
) -> str:
    """SHA-256 of the canonical event (docs/capture-format.md, "Digests"); parents given sorted.

    `payload` may be an orjson.Fragment of its canonical bytes; every other field is validated to be
    strings and integers with ASCII keys, so orjson's sorted output is already canonical for them.
    """
    canonical = {
        "seq": seq,
        "kind": kind,
        "ts_ns": ts_ns,
        "recv_ts_ns": recv_ts_ns,
        "hlc": [hlc_l, hlc_c],
        "host": host,
        "lane": lane,
        "keys": keys,
        "parents": _canonical_parents(parents),
        "payload": payload,
        "raw": raw,
    }
    if type(payload) is not orjson.Fragment:
        canonical["payload"] = orjson.Fragment(canonical_json(payload))
    return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).hexdigest()


def row_digest(row: dict[str, Any], parents: list[Parent]) -> str:
    """Recompute an event's digest from its stored row (payload as canonical JSON text) and explicit
    parents (capture None for the same capture), e.g. to detect an edited row."""
    keys = {k: row[k] for k in KEY_FIELDS if row.get(k)}
    parents = sorted(set(parents), key=lambda p: (p.capture or "", p.seq, p.kind))
    return event_digest(
        row["seq"],
        row["kind"],
        row["ts_ns"],
        row["recv_ts_ns"],
        row["hlc_l"],
        row["hlc_c"],
        row["host"],
        row["lane"],
        keys,
        parents,
        orjson.loads(row["payload"]),
        row["raw"],
    )


def decode_line(line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise BadLine(f"invalid JSON: {exc}") from None
