"""The server-side DAG window: the steps around a cursor as nodes in lanes, and the causal edges among them.

Layout is decided here, not in the browser: one lane (row) per host / component in pipeline order, x
by merged order (the step number). Only a window of steps ever leaves the server, so the view costs
the same for a 1,000,000-event incident as for a small one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db.models import Q

from deltatrace.models import Edge, Event
from deltatrace.timeline import lane_label, lane_sort_key
from replay.models import ReplayStep


def layout(steps: Sequence[Mapping[str, Any]], edges: list[tuple[int, int, str]]) -> dict[str, Any]:
    """Pure: steps (``n, host, lane, ...``) and edges (src n, dst n, kind) -> positioned nodes.

    Lanes are sorted by ``lane_sort_key`` so the same window always draws the same way.
    """
    lanes = sorted({(s["host"], s["lane"]) for s in steps}, key=lambda hl: lane_sort_key(*hl))
    row = {hl: i for i, hl in enumerate(lanes)}
    nodes = [{**s, "x": s["n"], "y": row[(s["host"], s["lane"])]} for s in steps]
    return {
        "lanes": [lane_label(h, lane) for h, lane in lanes],
        "nodes": nodes,
        "edges": [{"src": a, "dst": b, "kind": k} for a, b, k in sorted(edges)],
    }


def dag_window(run_id: int, cursor: int, window: int) -> dict[str, Any]:
    lo, hi = max(1, cursor - window), cursor + window
    rows = list(
        ReplayStep.objects.filter(run_id=run_id, n__gte=lo, n__lte=hi)
        .order_by("n")
        .values("n", "event_id", "ref", "kind", "host", "lane", "ts_ns", "match")
    )
    ids = [r["event_id"] for r in rows if r["event_id"] is not None]
    at: dict[tuple[int, int], int] = {}
    by_event = {r["event_id"]: r["n"] for r in rows if r["event_id"] is not None}
    for pk, cap, seq in Event.objects.filter(pk__in=ids).values_list("pk", "capture_id", "seq"):
        at[(cap, seq)] = by_event[pk]
    edges: list[tuple[int, int, str]] = []
    if at:
        cond = Q()
        for cap in {c for c, _ in at}:
            seqs = [s for c, s in at if c == cap]
            cond |= Q(dst_capture_id=cap, dst_seq__gte=min(seqs), dst_seq__lte=max(seqs))
        for sc, ss, dc, ds, kind in Edge.objects.filter(cond).values_list(
            "src_capture_id", "src_seq", "dst_capture_id", "dst_seq", "kind"
        ):
            src, dst = at.get((sc, ss)), at.get((dc, ds))
            if src is not None and dst is not None:
                edges.append((src, dst, kind))
    out = layout(rows, edges)
    out.update({"run": run_id, "cursor": cursor, "from": lo, "to": hi})
    return out
