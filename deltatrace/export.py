"""Exports for trace tools: Chrome Trace Event JSON (Perfetto UI) and OTLP JSON traces.

Pure: plain event dicts (capture format plus a `capture` key naming their capture) and edges
(`{"src_capture", "src_seq", "dst_capture", "dst_seq", "kind"}`) in, one JSON-ready dict out.
Output depends only on the input: ids are derived from the incident name and event addresses,
and every list is built in a sorted order.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from typing import Any

Ref = tuple[str, int]  # (capture key, seq)
CAT = "deltatrace"  # one category: Chrome binds a flow to the slice with equal cat/pid/tid/ts
# OTLP enums (opentelemetry-proto trace.proto)
SPAN_KIND_INTERNAL = 1
STATUS_CODE_UNSET = 0
STATUS_CODE_ERROR = 2
_FAILED = frozenset({"REJECTED", "CANCEL_REJECT"})
_SLICE_NS = 1_000  # an event is drawn as a slice of up to 1 µs, cut short by its lane's next event


def _ref(event: dict[str, Any]) -> Ref:
    return (str(event.get("capture", "")), int(event["seq"]))


def _sorted(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(events, key=lambda e: (e["ts_ns"], str(e.get("capture", "")), e["seq"]))


def edges_from_parents(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Edges from the events' explicit `parents` (for exports straight from capture files)."""
    edges = []
    for e in events:
        for p in e.get("parents") or ():
            edges.append(
                {
                    "src_capture": p.get("capture", e.get("capture", "")),
                    "src_seq": p["seq"],
                    "dst_capture": e.get("capture", ""),
                    "dst_seq": e["seq"],
                    "kind": p.get("kind", "causal"),
                }
            )
    return edges


def order_lifecycles(events: list[dict[str, Any]]) -> dict[Ref, str]:
    """Event -> its order lifecycle's name: events joined through ClOrdID, OrigClOrdID and OrderID."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    ids: dict[Ref, list[str]] = {}
    for e in events:
        keys = e.get("keys") or {}
        names = [f"c:{keys[k]}" for k in ("cl_ord_id", "orig_cl_ord_id") if keys.get(k)]
        if keys.get("order_id"):
            names.append(f"o:{keys['order_id']}")
        if names:
            ids[_ref(e)] = names
            for other in names[1:]:
                union(names[0], other)
    # Name each lifecycle after the first order id seen in time order.
    label: dict[str, str] = {}
    for e in _sorted(events):
        seen = ids.get(_ref(e))
        if seen:
            label.setdefault(find(seen[0]), seen[0][2:])
    return {ref: label[find(names[0])] for ref, names in ids.items()}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None


def _title(e: dict[str, Any]) -> str:
    keys = e.get("keys") or {}
    ident = keys.get("cl_ord_id") or keys.get("order_id") or keys.get("symbol")
    return f"{e['kind']} {ident}" if ident else str(e["kind"])


# --- Chrome Trace Event format ----------------------------------------------------------------
def chrome_trace(
    events: list[dict[str, Any]], edges: list[dict[str, Any]], incident: str = ""
) -> dict[str, Any]:
    """A Chrome Trace Event JSON object: a process per host, a thread per lane, a slice per event,
    counters for quotes, flow arrows for causal edges and a track of order lifecycles."""
    evs = _sorted(events)
    t0 = evs[0]["ts_ns"] if evs else 0

    def us(ts_ns: int) -> float:
        # Relative to the first event: epoch µs as a double would lose the nanoseconds.
        return (ts_ns - t0) / 1000

    hosts = sorted({str(e.get("host", "")) for e in evs})
    pid = {h: i + 1 for i, h in enumerate(hosts)}
    lanes = sorted({(str(e.get("host", "")), str(e.get("lane", ""))) for e in evs})
    tid = {hl: i + 1 for i, hl in enumerate(lanes)}
    out: list[dict[str, Any]] = []
    for h in hosts:
        out.append(_meta("process_name", pid[h], 0, {"name": h}))
        out.append(_meta("process_sort_index", pid[h], 0, {"sort_index": pid[h]}))
    for h, lane in lanes:
        out.append(_meta("thread_name", pid[h], tid[(h, lane)], {"name": lane}))

    where: dict[Ref, tuple[int, int, float]] = {}
    by_lane: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for e in evs:
        by_lane[(str(e.get("host", "")), str(e.get("lane", "")))].append(e)
    for (h, lane), lane_events in sorted(by_lane.items()):
        p, t = pid[h], tid[(h, lane)]
        times = sorted({e["ts_ns"] for e in lane_events})
        next_ts = dict(zip(times, [*times[1:], None], strict=True))
        for e in lane_events:
            nxt = next_ts[e["ts_ns"]]
            dur_ns = _SLICE_NS if nxt is None else min(_SLICE_NS, nxt - e["ts_ns"])
            args = {
                "capture": e.get("capture", ""),
                "seq": e["seq"],
                "kind": e["kind"],
                "ts_ns": str(e["ts_ns"]),
                "keys": e.get("keys") or {},
                "payload": e.get("payload") or {},
            }
            if e.get("recv_ts_ns") is not None:
                args["recv_ts_ns"] = str(e["recv_ts_ns"])
            ts = us(e["ts_ns"])
            where[_ref(e)] = (p, t, ts)
            out.append(
                {
                    "name": _title(e),
                    "cat": CAT,
                    "ph": "X",
                    "ts": ts,
                    "dur": dur_ns / 1000,
                    "pid": p,
                    "tid": t,
                    "args": args,
                }
            )
            if e["kind"] == "MDTick":
                values = {
                    k: v
                    for k in ("bid", "ask", "last")
                    if (v := _number((e.get("payload") or {}).get(k))) is not None
                }
                if values:
                    symbol = (e.get("keys") or {}).get("symbol", "")
                    name = f"{symbol} quote".strip()
                    out.append(
                        {"name": name, "ph": "C", "ts": ts, "pid": p, "tid": t, "args": values}
                    )
    out += _chrome_lifecycles(evs, us, len(hosts) + 1)
    flow_id = 0
    for edge in sorted(edges, key=_edge_key):
        src = where.get((str(edge["src_capture"]), int(edge["src_seq"])))
        dst = where.get((str(edge["dst_capture"]), int(edge["dst_seq"])))
        if src is None or dst is None:
            continue  # a parent outside the exported set (e.g. filtered out)
        flow_id += 1
        common = {"name": edge["kind"], "cat": CAT, "id": flow_id}
        out.append({**common, "ph": "s", "ts": src[2], "pid": src[0], "tid": src[1]})
        out.append({**common, "ph": "f", "bp": "e", "ts": dst[2], "pid": dst[0], "tid": dst[1]})
    return {
        "traceEvents": out,
        "displayTimeUnit": "ns",
        "otherData": {"incident": incident, "t0_ns": str(t0), "generator": "deltatrace"},
    }


def _meta(name: str, pid: int, tid: int, args: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "ph": "M", "pid": pid, "tid": tid, "args": args}


def _edge_key(edge: dict[str, Any]) -> tuple[str, int, str, int, str]:
    return (
        str(edge["src_capture"]),
        int(edge["src_seq"]),
        str(edge["dst_capture"]),
        int(edge["dst_seq"]),
        str(edge["kind"]),
    )


def _chrome_lifecycles(evs: list[dict[str, Any]], us: Any, pid: int) -> list[dict[str, Any]]:
    """Order lifecycles as slices on one process, packed greedily into rows so none overlap."""
    spans = _lifecycle_spans(evs)
    if not spans:
        return []
    out = [
        _meta("process_name", pid, 0, {"name": "order lifecycles"}),
        _meta("process_sort_index", pid, 0, {"sort_index": pid}),
    ]
    row_end: list[int] = []
    for name, members in spans:
        start, end = members[0]["ts_ns"], members[-1]["ts_ns"]
        row = next((i for i, t in enumerate(row_end) if t < start), None)
        if row is None:
            row = len(row_end)
            row_end.append(end)
            out.append(_meta("thread_name", pid, row + 1, {"name": f"orders {row + 1}"}))
        row_end[row] = end
        out.append(
            {
                "name": f"order {name}",
                "cat": CAT,
                "ph": "X",
                "ts": us(start),
                "dur": max(end - start, 1) / 1000,
                "pid": pid,
                "tid": row + 1,
                "args": {"events": len(members), "final": members[-1]["kind"]},
            }
        )
    return out


def _lifecycle_spans(evs: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(name, member events in time order) per lifecycle, ordered by start time."""
    of = order_lifecycles(evs)
    members: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in evs:  # already time-sorted
        name = of.get(_ref(e))
        if name is not None:
            members[name].append(e)
    return sorted(members.items(), key=lambda kv: (kv[1][0]["ts_ns"], kv[0]))


# --- OTLP JSON traces -------------------------------------------------------------------------
def _hex_id(*parts: str, size: int) -> str:
    h = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[: size * 2]
    return h if h.strip("0") else "1".rjust(size * 2, "0")  # all-zero ids are invalid


def _any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}  # int64 is a JSON string in the proto3 mapping
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_any_value(v) for v in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": _attributes(value)}}
    return {"stringValue": "" if value is None else str(value)}


def _attributes(d: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    return [
        {"key": f"{prefix}{k}", "value": _any_value(v)}
        for k, v in sorted(d.items())
        if v is not None
    ]


def _event_attributes(e: dict[str, Any]) -> list[dict[str, Any]]:
    attrs = _attributes(
        {
            "deltatrace.capture": e.get("capture", ""),
            "deltatrace.seq": e["seq"],
            "deltatrace.host": e.get("host", ""),
            "deltatrace.lane": e.get("lane", ""),
        }
    )
    attrs += _attributes(e.get("keys") or {}, "deltatrace.key.")
    attrs += _attributes(e.get("payload") or {}, "deltatrace.payload.")
    return attrs


def otlp_traces(
    events: list[dict[str, Any]], edges: list[dict[str, Any]], incident: str = ""
) -> dict[str, Any]:
    """OTLP JSON (ExportTraceServiceRequest): one trace per incident, a span per order lifecycle
    with its events as span events, a zero-length span per other event; the earliest causal
    parent span is the span's parent, further DAG parents are span links."""
    evs = _sorted(events)
    trace_id = _hex_id("deltatrace", incident, size=16)
    span_of: dict[Ref, str] = {}
    spans: dict[str, dict[str, Any]] = {}
    host_of: dict[str, str] = {}
    for name, members in _lifecycle_spans(evs):
        sid = _hex_id(incident, "order", name, size=8)
        failed = [m for m in members if (m.get("payload") or {}).get("exec_type") in _FAILED]
        spans[sid] = {
            "traceId": trace_id,
            "spanId": sid,
            "name": f"order {name}",
            "kind": SPAN_KIND_INTERNAL,
            "startTimeUnixNano": str(members[0]["ts_ns"]),
            "endTimeUnixNano": str(members[-1]["ts_ns"]),
            "attributes": _attributes(
                {"deltatrace.order": name, "deltatrace.events": len(members)}
            ),
            "events": [
                {
                    "timeUnixNano": str(m["ts_ns"]),
                    "name": _title(m),
                    "attributes": _event_attributes(m),
                }
                for m in members
            ],
            "status": (
                {"code": STATUS_CODE_ERROR, "message": str(failed[0]["payload"]["exec_type"])}
                if failed
                else {"code": STATUS_CODE_UNSET}
            ),
        }
        host_of[sid] = str(members[0].get("host", ""))
        for m in members:
            span_of[_ref(m)] = sid
    for e in evs:
        if _ref(e) in span_of:
            continue
        sid = _hex_id(incident, "event", *map(str, _ref(e)), size=8)
        spans[sid] = {
            "traceId": trace_id,
            "spanId": sid,
            "name": _title(e),
            "kind": SPAN_KIND_INTERNAL,
            "startTimeUnixNano": str(e["ts_ns"]),
            "endTimeUnixNano": str(e["ts_ns"]),
            "attributes": _event_attributes(e),
            "status": {"code": STATUS_CODE_UNSET},
        }
        host_of[sid] = str(e.get("host", ""))
        span_of[_ref(e)] = sid
    _link_spans(spans, span_of, edges)
    by_host: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for sid, span in spans.items():
        by_host[host_of[sid]].append(span)
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": _attributes(
                        {"service.name": host or "unknown", "deltatrace.incident": incident}
                    )
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "deltatrace", "version": "1"},
                        "spans": sorted(
                            by_host[host], key=lambda s: (int(s["startTimeUnixNano"]), s["spanId"])
                        ),
                    }
                ],
            }
            for host in sorted(by_host)
        ]
    }


def _link_spans(
    spans: dict[str, dict[str, Any]], span_of: dict[Ref, str], edges: list[dict[str, Any]]
) -> None:
    """Set parentSpanId and links from the DAG. A parent must start strictly earlier in
    (start, spanId) order, so parent pointers can never form a cycle; the rest become links."""
    causes: dict[str, dict[str, str]] = defaultdict(dict)
    for edge in sorted(edges, key=_edge_key):
        src = span_of.get((str(edge["src_capture"]), int(edge["src_seq"])))
        dst = span_of.get((str(edge["dst_capture"]), int(edge["dst_seq"])))
        if src is not None and dst is not None and src != dst:
            causes[dst].setdefault(src, str(edge["kind"]))

    def order(sid: str) -> tuple[int, str]:
        return (int(spans[sid]["startTimeUnixNano"]), sid)

    for dst, srcs in sorted(causes.items()):
        ranked = sorted(srcs, key=order)
        parent = ranked[0] if order(ranked[0]) < order(dst) else None
        if parent is not None:
            spans[dst]["parentSpanId"] = parent
        links = [s for s in ranked if s != parent]
        if links:
            spans[dst]["links"] = [
                {
                    "traceId": spans[s]["traceId"],
                    "spanId": s,
                    "attributes": _attributes({"deltatrace.edge": srcs[s]}),
                }
                for s in links
            ]
