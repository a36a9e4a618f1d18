"""The incident timeline as a plotly figure: one lane per host/component, x in µs from incident start.

Points are drawn one marker per event, with `scattergl` above a few thousand points. When the window
holds more than `MAX_POINTS` events, the server aggregates instead: per lane, counts in fixed buckets,
drawn as a heatmap; zooming in (the page asks again for the new x-range) brings back the points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

MAX_POINTS = 20_000
GL_THRESHOLD = 3_000
BUCKETS = 400

# Marker shape and colour per kind (colour-blind-safe palette, Okabe-Ito).
KIND_STYLE: dict[str, tuple[str, str]] = {
    "MDTick": ("circle", "#999999"),
    "Signal": ("diamond", "#E69F00"),
    "PlanDelta": ("square", "#56B4E9"),
    "Order": ("triangle-up", "#0072B2"),
    "RiskCheck": ("hexagon", "#CC79A7"),
    "ExecReport": ("star", "#009E73"),
    "Fill": ("star-diamond", "#D55E00"),
    "Annotation": ("x", "#000000"),
    "Session": ("cross", "#BBBBBB"),
}
_DEFAULT_STYLE = ("circle-open", "#666666")
# Lanes top to bottom in pipeline order (market data first, venue last), then by host.
LANE_ORDER = ("md", "signal", "planner", "executor", "risk", "fix", "venue")


@dataclass(frozen=True)
class Point:
    event_id: int
    lane: str  # "host / component"
    kind: str
    ts_ns: int
    hover: str


def lane_label(host: str, lane: str) -> str:
    return f"{host} / {lane}"


def lane_sort_key(host: str, lane: str) -> tuple[int, str, str]:
    rank = LANE_ORDER.index(lane) if lane in LANE_ORDER else len(LANE_ORDER)
    return (rank, lane, host)


def _us(offset_ns: float) -> float:
    # Display only: µs with ns precision; the exact ts_ns stays in the hover text and the API.
    return offset_ns / 1000


def _layout(lanes: list[str], x_range: tuple[float, float] | None, note: str) -> dict[str, Any]:
    return {
        "margin": {"l": 170, "r": 20, "t": 30, "b": 62},
        "height": max(260, 60 + 36 * len(lanes)),
        "xaxis": {
            "title": {"text": "µs from incident start"},
            "tickformat": ",.3~f",
            "hoverformat": ",.3f",
            "zeroline": False,
            "gridcolor": "#eceff3",
            **({"range": list(x_range)} if x_range else {}),
        },
        "yaxis": {
            "type": "category",
            "categoryorder": "array",
            "categoryarray": lanes[::-1],
            "gridcolor": "#eceff3",
            "automargin": True,
        },
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
        "font": {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 12},
        # The legend sits above the plot on the left; the event-count note goes on its own line
        # under the x axis title, so neither overlaps it however long the note or the legend.
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        "hovermode": "closest",
        "annotations": (
            [
                {
                    "text": note,
                    "showarrow": False,
                    "xref": "paper",
                    "yref": "paper",
                    "x": 1,
                    "y": 0,
                    "xanchor": "right",
                    "yanchor": "top",
                    "yshift": -44,
                    "font": {"size": 11, "color": "#6b7280"},
                }
            ]
            if note
            else []
        ),
        "uirevision": "timeline",
    }


def points_figure(
    points: list[Point], start_ns: int, lanes: list[str], x_range: tuple[float, float] | None = None
) -> go.Figure:
    """One trace per kind so the legend explains shapes and colours; customdata = event id."""
    trace_cls = go.Scattergl if len(points) > GL_THRESHOLD else go.Scatter
    by_kind: dict[str, list[Point]] = {}
    for p in points:
        by_kind.setdefault(p.kind, []).append(p)
    fig = go.Figure()
    for kind in sorted(
        by_kind, key=lambda k: (list(KIND_STYLE).index(k) if k in KIND_STYLE else 99, k)
    ):
        pts = by_kind[kind]
        symbol, colour = KIND_STYLE.get(kind, _DEFAULT_STYLE)
        fig.add_trace(
            trace_cls(
                name=kind,
                mode="markers",
                x=[_us(p.ts_ns - start_ns) for p in pts],
                y=[p.lane for p in pts],
                customdata=[p.event_id for p in pts],
                text=[p.hover for p in pts],
                hovertemplate="%{text}<extra></extra>",
                marker={
                    "symbol": symbol,
                    "color": colour,
                    "size": 9,
                    "line": {"width": 0.5, "color": "#1f2937"},
                },
            )
        )
    fig.update_layout(_layout(lanes, x_range, f"{len(points):,} events"))
    return fig


def buckets_figure(
    counts: dict[tuple[str, int], int],
    lanes: list[str],
    x0_ns: int,
    width_ns: int,
    buckets: int,
    start_ns: int,
    total: int,
) -> go.Figure:
    """Level of detail: per lane, event counts per bucket of `width_ns` from `x0_ns`."""
    xs = [_us(x0_ns + (b + 0.5) * width_ns - start_ns) for b in range(buckets)]
    z = [[counts.get((lane, b), 0) or None for b in range(buckets)] for lane in lanes]
    fig = go.Figure(
        go.Heatmap(
            x=xs,
            y=lanes,
            z=z,
            colorscale="Blues",
            showscale=True,
            colorbar={"title": {"text": "events"}, "thickness": 12},
            hovertemplate="%{y}<br>%{x:,.3f} µs<br>%{z} events<extra></extra>",
            hoverongaps=False,
        )
    )
    x_range = (_us(x0_ns - start_ns), _us(x0_ns + buckets * width_ns - start_ns))
    fig.update_layout(
        _layout(lanes, x_range, f"{total:,} events, aggregated — zoom in to see single events")
    )
    return fig


# --- Django layer ---------------------------------------------------------------------------------


def _hover(kind: str, host: str, lane: str, ts_ns: int, seq: int, keys: dict[str, str]) -> str:
    key_text = "<br>".join(f"{k}: {v}" for k, v in keys.items())
    return f"<b>{kind}</b> #{seq}<br>{host} / {lane}<br>ts_ns {ts_ns}" + (
        f"<br>{key_text}" if key_text else ""
    )


def incident_figure(incident: Any, x0_ns: int | None = None, x1_ns: int | None = None) -> go.Figure:
    """The figure for an incident's window [x0_ns, x1_ns] (epoch ns; defaults to the whole incident)."""
    from django.db.models import Count, F, Max, Min

    from deltatrace.models import KEY_FIELDS, Event

    qs = Event.objects.filter(incident_id=incident.pk)
    start_ns = incident.start_ns
    if start_ns is None:
        start_ns = qs.aggregate(m=Min("ts_ns"))["m"] or 0
    pairs = sorted(set(qs.values_list("host", "lane").distinct()), key=lambda p: lane_sort_key(*p))
    lanes = [lane_label(h, ln) for h, ln in pairs]
    window = qs
    if x0_ns is not None:
        window = window.filter(ts_ns__gte=x0_ns)
    if x1_ns is not None:
        window = window.filter(ts_ns__lte=x1_ns)
    total = window.count()
    if total > MAX_POINTS:
        bounds = window.aggregate(lo=Min("ts_ns"), hi=Max("ts_ns"))
        lo = x0_ns if x0_ns is not None else bounds["lo"]
        hi = x1_ns if x1_ns is not None else bounds["hi"]
        width = max(1, (hi - lo) // BUCKETS + 1)
        rows = (
            window.annotate(bucket=(F("ts_ns") - lo) / width)
            .values("host", "lane", "bucket")
            .annotate(n=Count("id"))
        )
        counts = {(lane_label(r["host"], r["lane"]), int(r["bucket"])): r["n"] for r in rows}
        return buckets_figure(counts, lanes, lo, width, BUCKETS, start_ns, total)
    fields = ("id", "kind", "host", "lane", "ts_ns", "seq", *KEY_FIELDS)
    points = [
        Point(
            event_id=row[0],
            lane=lane_label(row[2], row[3]),
            kind=row[1],
            ts_ns=row[4],
            hover=_hover(
                row[1],
                row[2],
                row[3],
                row[4],
                row[5],
                {k: v for k, v in zip(KEY_FIELDS, row[6:], strict=True) if v},
            ),
        )
        for row in window.order_by("ts_ns", "id").values_list(*fields)
    ]
    x_range = None
    if x0_ns is not None and x1_ns is not None:
        x_range = (_us(x0_ns - start_ns), _us(x1_ns - start_ns))
    return points_figure(points, start_ns, lanes, x_range)
