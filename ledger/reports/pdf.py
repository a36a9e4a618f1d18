"""The PDF edition of the report (reportlab): the same facts as the HTML, the timeline as a drawing."""

from __future__ import annotations

import io
import json
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Preformatted, SimpleDocTemplate, Spacer, Table, TableStyle

from ledger.reports.figure import Timeline, span_label

MAX_ROWS = 60  # long lists are in the JSON files of the bundle; the PDF stays readable
_STYLE = TableStyle(
    [
        ("FONTSIZE", (0, 0), (-1, -1), 7),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)


def drawing(tl: Timeline, width: float = 170 * mm, row: float = 14) -> Drawing:
    label_w = 45 * mm
    height = 20 + row * max(1, len(tl.lanes))
    d = Drawing(width, height)
    if not tl.lanes:
        d.add(String(0, 5, "No events.", fontSize=8))
        return d
    cell = (width - label_w) / tl.columns
    peak = tl.peak or 1
    for i, lane in enumerate(tl.lanes):
        y = height - 10 - (i + 1) * row
        d.add(String(0, y + 4, lane[:40], fontSize=6))
        d.add(Line(label_w, y + row / 2, width, y + row / 2, strokeColor=colors.lightgrey))
    for (lane_i, col), n in tl.counts.items():
        y = height - 10 - (lane_i + 1) * row
        shade = colors.Color(0.18, 0.44, 0.87, alpha=0.25 + 0.75 * n / peak)
        d.add(
            Rect(
                label_w + col * cell,
                y + 2,
                max(cell - 0.3, 0.5),
                row - 4,
                fillColor=shade,
                strokeColor=None,
            )
        )
    d.add(String(label_w, 0, "0", fontSize=6))
    d.add(String(width - 30, 0, "+" + span_label(tl.t1_ns - tl.t0_ns), fontSize=6))
    return d


def _table(head: list[str], rows: list[list[Any]]) -> Table:
    cells = [head] + [[Paragraph(escape(str(c)), _SMALL) for c in r] for r in rows[:MAX_ROWS]]
    if len(rows) > MAX_ROWS:
        cells.append(
            [f"... {len(rows) - MAX_ROWS} more (see the JSON files)"] + [""] * (len(head) - 1)
        )
    t = Table(cells, repeatRows=1)
    t.setStyle(_STYLE)
    return t


_SS = getSampleStyleSheet()
_SMALL = _SS["BodyText"].clone("small", fontSize=7, leading=8.5)


def render(r: dict[str, Any], approvals: dict[str, Any], tl: Timeline) -> bytes:
    inc = r["incident"]
    h1, h2, body = _SS["Title"], _SS["Heading2"], _SS["BodyText"]
    story: list[Any] = [
        Paragraph(escape(f"Audit report: {inc['title'] or inc['name']}"), h1),
        Paragraph(
            escape(
                f"Incident {inc['name']} · report {r['report_id']} · audience {r['audience']} · "
                f"built by {r['built_by']} at {r['built_at']}"
            ),
            _SMALL,
        ),
        Paragraph("Incident summary", h2),
        _table(
            ["Severity", "Status", "Events", "Quarantined", "Privacy policy"],
            [
                [
                    inc["severity"],
                    inc["status"],
                    r["events"],
                    inc["quarantined_count"],
                    f"{r['policy']['name']} v{r['policy']['version']} ({r['policy']['audience']})",
                ]
            ],
        ),
        Spacer(1, 4),
        _table(
            ["Capture", "Host", "Adapter", "Events", "Digest"],
            [[c["key"], c["host"], c["adapter"], c["events"], c["digest"]] for c in r["captures"]],
        ),
        Paragraph("Timeline", h2),
        drawing(tl),
        Paragraph(f"Latency percentiles (ns), {r['latency'].get('orders', 0)} orders", h2),
        _table(
            ["Hop", "n", "p50", "p90", "p99", "max"],
            [
                [hop, s["count"], s["p50"], s["p90"], s["p99"], s["max"]]
                for hop, s in r["latency"].get("hops", {}).items()
            ],
        ),
        Paragraph("Replay verdict", h2),
        Paragraph(
            escape(
                f"Verdict: {str(r['replay'].get('status')).upper()} {r['replay'].get('reason', '')}"
            ),
            body,
        ),
        Paragraph(escape(f"Decision path of {r['decision_path_of'] or '—'}"), _SS["Heading3"]),
        _table(
            ["Event", "Kind", "Lane", "Keys"],
            [
                [n["ref"], n["kind"], n["lane"], " ".join(f"{k}={v}" for k, v in n["keys"].items())]
                for n in r["decision_path"]
            ],
        ),
        Paragraph("Triggers, approvals and signatures", h2),
    ]
    if approvals.get("status") == "present":
        story.append(
            _table(
                ["Trigger", "Status", "Proposer", "Digest"],
                [
                    [f"#{t['id']} {t['summary']}", t["status"], t["proposer"], t["digest"]]
                    for t in approvals["triggers"]
                ],
            )
        )
        story.append(
            _table(
                ["Trigger", "Approver", "Decision", "Key", "Signature"],
                [
                    [f"#{a['trigger']}", a["approver"], a["decision"], a["key_id"], a["signature"]]
                    for a in approvals.get("approvals", [])
                ],
            )
        )
    else:
        story.append(Paragraph(escape(f"None: {approvals.get('note', '')}."), body))
    anomalies = r["replay"].get("clock_anomalies")
    story += [
        Paragraph("Clock anomalies", h2),
        Preformatted(
            json.dumps(anomalies, indent=1)[:4000] if anomalies else "Not available.", _SMALL
        ),
        Paragraph("Ledger checkpoint", h2),
        Paragraph(
            escape(
                f"Tree size {r['checkpoint']['tree_size']}, root {r['checkpoint']['root']}; issued at "
                f"ledger index {r['report_entry_index']}; {len(r['cited_entries'])} cited entries "
                "with inclusion proofs."
            ),
            _SMALL,
        ),
        Preformatted(r["checkpoint"]["note"], _SMALL),
    ]
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        title=f"DeltaTrace report {inc['name']}",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        invariant=1,
    )
    doc.build(story)
    return buf.getvalue()
