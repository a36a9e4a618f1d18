"""Per-order hop latencies along the causal path, and their percentiles per incident.

The core (`order_latencies`, `summarize`) is pure: it takes nodes and edges as plain values. The thin
Django layer below loads them for an incident or for one order. Latencies are differences of the hosts'
own `ts_ns`; across hosts they include clock offset, which the capture header bounds
(`clock.max_offset_ns`).

Hops, for an Order O:
- tick_signal: Signal S (an ancestor of O) minus the MDTick that caused S
- signal_order: O minus S
- order_risk: the first RiskCheck caused by O minus O
- order_ack: the first ExecReport caused by O minus O
- ack_fill: the first Fill caused by O (directly or through a report) minus the ack
- tick_to_trade: O minus the MDTick (market data in to order out)
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from deltatrace.gcpause import gc_paused

HOPS = ("tick_signal", "signal_order", "order_risk", "order_ack", "ack_fill", "tick_to_trade")
HOP_LABELS = {
    "tick_signal": "tick → signal",
    "signal_order": "signal → order",
    "order_risk": "order → risk",
    "order_ack": "order → ack",
    "ack_fill": "ack → fill",
    "tick_to_trade": "tick-to-trade",
}
# How far back from an order to look for its signal and tick (order <- plan <- signal <- tick, plus
# a cross-host send_receive hop or two).
_MAX_BACK = 6

Ref = tuple[int, int]  # (capture id, seq)


@dataclass(frozen=True)
class Node:
    kind: str
    ts_ns: int


@dataclass
class OrderLatency:
    order: Ref
    ts_ns: int
    hops: dict[str, int | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"order": f"{self.order[0]}:{self.order[1]}", "ts_ns": self.ts_ns, **self.hops}


def _earliest(nodes: dict[Ref, Node], refs: Iterable[Ref], kind: str) -> Ref | None:
    found = [r for r in refs if r in nodes and nodes[r].kind == kind]
    return min(found, key=lambda r: (nodes[r].ts_ns, r)) if found else None


def _nearest_ancestor(
    nodes: dict[Ref, Node], parents: dict[Ref, list[Ref]], start: Ref, kind: str
) -> Ref | None:
    """Breadth-first back along the edges; the closest ancestor of `kind`, latest first on ties."""
    frontier, seen = [start], {start}
    for _ in range(_MAX_BACK):
        nxt: list[Ref] = []
        for ref in frontier:
            for p in parents.get(ref, ()):
                if p not in seen:
                    seen.add(p)
                    nxt.append(p)
        hits = [r for r in nxt if r in nodes and nodes[r].kind == kind]
        if hits:
            return max(hits, key=lambda r: (nodes[r].ts_ns, r))
        if not nxt:
            return None
        frontier = nxt
    return None


def order_latencies(
    nodes: dict[Ref, Node], edges: Iterable[tuple[Ref, Ref]], orders: Iterable[Ref] | None = None
) -> list[OrderLatency]:
    """Hop latencies for every Order in `nodes` (or just `orders`), sorted by (ts_ns, ref)."""
    parents: dict[Ref, list[Ref]] = defaultdict(list)
    children: dict[Ref, list[Ref]] = defaultdict(list)
    for src, dst in edges:
        parents[dst].append(src)
        children[src].append(dst)
    targets = (
        sorted(orders)
        if orders is not None
        else sorted(r for r, n in nodes.items() if n.kind == "Order")
    )
    out: list[OrderLatency] = []
    for ref in targets:
        order = nodes.get(ref)
        if order is None or order.kind != "Order":
            continue
        t0 = order.ts_ns
        kids = children.get(ref, [])
        risk = _earliest(nodes, kids, "RiskCheck")
        ack = _earliest(nodes, kids, "ExecReport")
        report_kids = [
            g
            for k in kids
            if nodes.get(k, Node("", 0)).kind == "ExecReport"
            for g in children.get(k, [])
        ]
        fill = _earliest(nodes, [*kids, *report_kids], "Fill")
        signal = _nearest_ancestor(nodes, parents, ref, "Signal")
        tick = _nearest_ancestor(nodes, parents, signal or ref, "MDTick")

        def ts(r: Ref | None) -> int | None:
            return nodes[r].ts_ns if r is not None else None

        def diff(later: int | None, earlier: int | None) -> int | None:
            return later - earlier if later is not None and earlier is not None else None

        hops = {
            "tick_signal": diff(ts(signal), ts(tick)),
            "signal_order": diff(t0, ts(signal)),
            "order_risk": diff(ts(risk), t0),
            "order_ack": diff(ts(ack), t0),
            "ack_fill": diff(ts(fill), ts(ack)),
            "tick_to_trade": diff(t0, ts(tick)),
        }
        out.append(OrderLatency(order=ref, ts_ns=t0, hops=hops))
    out.sort(key=lambda o: (o.ts_ns, o.order))
    return out


def percentile(sorted_values: list[int], q: float) -> int:
    """Nearest-rank percentile: always one of the observed values (no float interpolation)."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize(latencies: list[OrderLatency]) -> dict[str, dict[str, int | None]]:
    """Per hop: count, p50, p90, p99, max (ns); None where no order has that hop."""
    stats: dict[str, dict[str, int | None]] = {}
    for hop in HOPS:
        values = sorted(v for o in latencies if (v := o.hops.get(hop)) is not None)
        if values:
            stats[hop] = {
                "count": len(values),
                "p50": percentile(values, 50),
                "p90": percentile(values, 90),
                "p99": percentile(values, 99),
                "max": values[-1],
            }
        else:
            stats[hop] = {"count": 0, "p50": None, "p90": None, "p99": None, "max": None}
    return stats


# --- Django layer ---------------------------------------------------------------------------------

_PATH_KINDS = ("MDTick", "Signal", "PlanDelta", "Order", "RiskCheck", "ExecReport", "Fill")


def incident_latencies(incident_id: int) -> list[OrderLatency]:
    """Every order of an incident with its hops (loads the trading-path nodes and all edges)."""
    # Hundreds of thousands of nodes and edges, all alive at once: the cyclic GC's passes over
    # them took ~half the time (0.47 s of 0.99 s for 100k events, gc.callbacks). Not promoted:
    # the ORM may leave cycles behind.
    with gc_paused(promote=False):
        return _incident_latencies(incident_id)


def _incident_latencies(incident_id: int) -> list[OrderLatency]:
    from deltatrace.models import Edge, Event

    nodes = {
        (c, s): Node(k, t)
        for c, s, k, t in Event.objects.filter(
            incident_id=incident_id, kind__in=_PATH_KINDS
        ).values_list("capture_id", "seq", "kind", "ts_ns")
    }
    edges = [
        ((sc, ss), (dc, ds))
        for sc, ss, dc, ds in Edge.objects.filter(incident_id=incident_id).values_list(
            "src_capture_id", "src_seq", "dst_capture_id", "dst_seq"
        )
    ]
    return order_latencies(nodes, edges)


def incident_latency_stats(incident_id: int) -> dict[str, Any]:
    orders = incident_latencies(incident_id)
    return {"orders": len(orders), "hops": summarize(orders)}


def latency_for_order(capture_id: int, seq: int) -> OrderLatency | None:
    """One order's hops, walking only its neighbourhood (for the event detail panel)."""
    from django.db.models import Q

    from deltatrace.models import Edge, Event

    start: Ref = (capture_id, seq)
    edges: set[tuple[Ref, Ref]] = set()
    # Down two levels (reports, then fills), up to _MAX_BACK levels (plan, signal, tick).
    frontier = {start}
    for _ in range(2):
        cond = Q()
        for c, s in frontier:
            cond |= Q(src_capture_id=c, src_seq=s)
        found = list(
            Edge.objects.filter(cond).values_list(
                "src_capture_id", "src_seq", "dst_capture_id", "dst_seq"
            )
        )
        edges.update(((a, b), (c, d)) for a, b, c, d in found)
        frontier = {(c, d) for _, _, c, d in found}
        if not frontier:
            break
    frontier = {start}
    for _ in range(_MAX_BACK):
        cond = Q()
        for c, s in frontier:
            cond |= Q(dst_capture_id=c, dst_seq=s)
        found = list(
            Edge.objects.filter(cond).values_list(
                "src_capture_id", "src_seq", "dst_capture_id", "dst_seq"
            )
        )
        edges.update(((a, b), (c, d)) for a, b, c, d in found)
        frontier = {(a, b) for a, b, _, _ in found}
        if not frontier:
            break
    refs = {start} | {r for e in edges for r in e}
    cond = Q()
    for c, s in refs:
        cond |= Q(capture_id=c, seq=s)
    nodes = {
        (c, s): Node(k, t)
        for c, s, k, t in Event.objects.filter(cond).values_list(
            "capture_id", "seq", "kind", "ts_ns"
        )
    }
    result = order_latencies(nodes, edges, orders=[start])
    return result[0] if result else None
