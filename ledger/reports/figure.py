"""The report's timeline figure, drawn server-side: events bucketed per lane and time column. Pure.

A 100k-event incident becomes at most ``lanes x columns`` marks, so the SVG (HTML report) and the
reportlab drawing (PDF) stay small and fast whatever the incident's size; no JavaScript, no CDN.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

COLUMNS = 160


@dataclass
class Timeline:
    lanes: list[str]
    t0_ns: int
    t1_ns: int
    columns: int
    counts: dict[tuple[int, int], int]  # (lane index, column) -> events

    @property
    def peak(self) -> int:
        return max(self.counts.values(), default=0)


def bucket(points: Iterable[tuple[str, int]], columns: int = COLUMNS) -> Timeline:
    """``(lane label, ts_ns)`` pairs -> per-lane column counts over the incident's time span."""
    pts = list(points)
    if not pts:
        return Timeline([], 0, 0, columns, {})
    lanes = sorted({lane for lane, _ in pts})
    index = {lane: i for i, lane in enumerate(lanes)}
    t0 = min(t for _, t in pts)
    t1 = max(t for _, t in pts)
    span = max(1, t1 - t0)
    counts: dict[tuple[int, int], int] = {}
    for lane, t in pts:
        key = (index[lane], min(columns - 1, (t - t0) * columns // span))
        counts[key] = counts.get(key, 0) + 1
    return Timeline(lanes, t0, t1, columns, counts)


def span_label(ns: int) -> str:
    for unit, size in (("s", 1_000_000_000), ("ms", 1_000_000), ("µs", 1_000)):
        if ns >= size:
            return f"{ns / size:.3g} {unit}"
    return f"{ns} ns"


def svg(tl: Timeline, width: int = 900, row: int = 26, label_w: int = 170) -> str:
    """A self-contained SVG: one row per lane, darker marks where more events fell."""
    height = 40 + row * max(1, len(tl.lanes))
    plot_w = width - label_w - 10
    cell = plot_w / tl.columns
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Event timeline" '
        'font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
    ]
    if not tl.lanes:
        out.append('<text x="10" y="24">No events.</text></svg>')
        return "".join(out)
    peak = tl.peak or 1
    for i, lane in enumerate(tl.lanes):
        y = 10 + i * row
        out.append(f'<text x="4" y="{y + row * 0.65:.1f}">{escape(lane)}</text>')
        out.append(
            f'<line x1="{label_w}" x2="{width - 10}" y1="{y + row / 2:.1f}" '
            f'y2="{y + row / 2:.1f}" stroke="#e3e6ea"/>'
        )
    for (lane_i, col), n in sorted(tl.counts.items()):
        x = label_w + col * cell
        y = 10 + lane_i * row + 4
        opacity = 0.25 + 0.75 * n / peak
        out.append(
            f'<rect x="{x:.1f}" y="{y}" width="{max(cell - 0.5, 1):.1f}" height="{row - 8}" '
            f'fill="#2f6fdf" fill-opacity="{opacity:.2f}"><title>{n} events</title></rect>'
        )
    axis_y = height - 12
    out.append(f'<text x="{label_w}" y="{axis_y}">0</text>')
    out.append(
        f'<text x="{width - 10}" y="{axis_y}" text-anchor="end">'
        f"+{escape(span_label(tl.t1_ns - tl.t0_ns))}</text>"
    )
    out.append("</svg>")
    return "".join(out)
