"""Dashboard pages: incidents list, incident page (timeline, events, detail, latency), quarantine.

Every page needs a login. Numbers are formatted here (ns → µs, epoch ns → UTC) so templates stay dumb.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from deltatrace.api.serializers import edge_links
from deltatrace.exports import BUILDERS, export_bytes
from deltatrace.filtersets import EventFilter, IncidentFilter
from deltatrace.latency import HOP_LABELS, HOPS, incident_latency_stats, latency_for_order
from deltatrace.models import EVENT_KINDS, Event, Incident, QuarantinedLine, RawAccess
from deltatrace.privacy import Policy
from deltatrace.roles import can, role_required
from deltatrace.timeline import incident_figure

EVENTS_PER_PAGE = 50


def fmt_ts(ns: int | None) -> str:
    """Epoch ns as UTC with all nine fractional digits (datetime itself stops at µs)."""
    if ns is None:
        return "—"
    secs, frac = divmod(ns, 1_000_000_000)
    stamp = dt.datetime.fromtimestamp(secs, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"{stamp}.{frac:09d}Z"


def fmt_dur(ns: int | None) -> str:
    """A duration in ns shown at µs resolution (ms/s when long)."""
    if ns is None:
        return "—"
    if abs(ns) >= 1_000_000_000:
        return f"{ns / 1e9:,.3f} s"
    if abs(ns) >= 1_000_000:
        return f"{ns / 1e6:,.3f} ms"
    return f"{ns / 1e3:,.3f} µs"


@role_required("view")
def incident_list(request: HttpRequest) -> HttpResponse:
    qs = Incident.objects.annotate(capture_count=Count("captures")).order_by("-created", "-id")
    flt = IncidentFilter(request.GET, queryset=qs)
    page = Paginator(flt.qs, 50).get_page(request.GET.get("page"))
    rows = [
        {
            "incident": inc,
            "start": fmt_ts(inc.start_ns),
            "duration": fmt_dur(inc.end_ns - inc.start_ns)
            if inc.start_ns is not None and inc.end_ns is not None
            else "—",
        }
        for inc in page
    ]
    return render(
        request,
        "deltatrace/incident_list.html",
        {
            "rows": rows,
            "page": page,
            "search": request.GET.get("search", ""),
            "status": request.GET.get("status", ""),
            "statuses": Incident.STATUSES,
            "errors": flt.errors if not flt.is_valid() else None,
            "can_edit": can(request.user, "edit"),
        },
    )


# Above this many events the page does not wait for uncached latency statistics (seconds for a
# million events): it shows the card at once and the browser fetches it (incident_latency).
INLINE_LATENCY_EVENTS = 200_000


def _latency_rows(
    incident: Incident, compute: bool = True
) -> tuple[int, list[dict[str, str]]] | None:
    """(orders, formatted rows); None when not cached and `compute` is false."""
    # Recomputed only when the incident gains events (the count is part of the cache key).
    key = f"deltatrace:latency:{incident.pk}:{incident.event_count}"
    stats = cache.get(key)
    if stats is None:
        if not compute:
            return None
        stats = incident_latency_stats(incident.pk)
        cache.set(key, stats, 600)
    rows = [
        {
            "hop": HOP_LABELS[h],
            "count": f"{v['count']:,}",
            **{q: fmt_dur(v[q]) for q in ("p50", "p90", "p99", "max")},
        }
        for h in HOPS
        if (v := stats["hops"][h])["count"]
    ]
    return stats["orders"], rows


@role_required("view")
def incident_latency(request: HttpRequest, pk: int) -> HttpResponse:
    """The latency card alone, for a page that did not wait for it."""
    incident = get_object_or_404(Incident, pk=pk)
    return render(
        request,
        "deltatrace/_latency.html",
        {"incident": incident, "latency": _latency_rows(incident)},
    )


@role_required("view")
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=pk)
    events = Event.objects.filter(incident_id=incident.pk)
    flt = EventFilter(request.GET, queryset=events)
    table = flt.qs.order_by("hlc_l", "hlc_c", "host", "capture_id", "seq")
    page = Paginator(table, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    start = incident.start_ns or 0
    event_rows = [{"e": e, "t": fmt_dur(e.ts_ns - start), "keys": e.keys_dict()} for e in page]
    fig = incident_figure(incident)
    latency = _latency_rows(incident, compute=incident.event_count <= INLINE_LATENCY_EVENTS)
    lanes = list(events.values_list("lane", flat=True).distinct().order_by("lane"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "deltatrace/incident_detail.html",
        {
            "incident": incident,
            "tab": "events",
            "window": (fmt_ts(incident.start_ns), fmt_ts(incident.end_ns)),
            "duration": fmt_dur((incident.end_ns or 0) - start) if incident.end_ns else "—",
            # plotly.js comes from our static files (no CDN): the page loads it before this div.
            "figure_html": fig.to_html(
                include_plotlyjs=False,
                full_html=False,
                div_id="timeline",
                config={"displaylogo": False, "responsive": True, "scrollZoom": False},
            ),
            "page": page,
            "event_rows": event_rows,
            "kinds": EVENT_KINDS,
            "lanes": lanes,
            "f": {k: request.GET.get(k, "") for k in ("kind", "lane", "key")},
            "filter_errors": flt.errors if not flt.is_valid() else None,
            "query": query.urlencode(),
            "latency": latency,
            "captures": incident.captures.order_by("key"),
            # Only offer "Propose trigger" to roles the propose page will accept.
            "can_propose": can(request.user, "propose"),
        },
    )


@role_required("view")
def event_detail(request: HttpRequest, pk: int, event_pk: int) -> HttpResponse:
    event = get_object_or_404(Event.objects.select_related("capture"), pk=event_pk, incident_id=pk)
    links = edge_links([event])[(event.capture_id, event.seq)]
    refs = {tuple(map(int, link["ref"].split(":"))) for side in links.values() for link in side}
    cond = Q()
    for c, s in refs:
        cond |= Q(capture_id=c, seq=s)
    found: dict[tuple[int, ...], Event] = {
        (e.capture_id, e.seq): e
        for e in (Event.objects.filter(cond, incident_id=pk) if refs else [])
    }

    def resolve(side: str) -> list[dict[str, Any]]:
        out = []
        for link in links[side]:
            ref = tuple(map(int, link["ref"].split(":")))
            out.append(
                {
                    "ref": link["ref"],
                    "edge": link["kind"],
                    "inferred": link["inferred"],
                    "event": found.get(ref),
                }
            )
        return out

    show_raw = can(request.user, "view_raw")
    if show_raw and event.raw is not None:
        RawAccess.record(request.user, [event], via="page")
    latency = None
    if event.kind == "Order":
        ol = latency_for_order(event.capture_id, event.seq)
        if ol is not None:
            latency = [
                {"hop": HOP_LABELS[h], "value": fmt_dur(v)}
                for h in HOPS
                if (v := ol.hops.get(h)) is not None
            ]
    ctx = {
        "incident_id": pk,
        "event": event,
        "ts": fmt_ts(event.ts_ns),
        "recv_ts": fmt_ts(event.recv_ts_ns) if event.recv_ts_ns is not None else None,
        "keys": event.keys_dict(),
        "payload": orjson.dumps(event.payload_dict(), option=orjson.OPT_INDENT_2).decode(),
        "has_raw": event.raw is not None,
        "show_raw": show_raw,
        # FIX's SOH delimiter is invisible; `|` is the customary readable stand-in.
        "raw_readable": event.raw.replace("\x01", "|") if event.raw and show_raw else None,
        "parents": resolve("parents"),
        "children": resolve("children"),
        "latency": latency,
    }
    if request.GET.get("partial"):
        return render(request, "deltatrace/_event_detail.html", ctx)
    ctx["incident"] = get_object_or_404(Incident, pk=pk)
    return render(request, "deltatrace/event_detail.html", ctx)


@role_required("view")
def quarantine(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=pk)
    qs = QuarantinedLine.objects.filter(incident_id=incident.pk).select_related("capture")
    page = Paginator(qs.order_by("capture__key", "line_no"), 100).get_page(request.GET.get("page"))
    return render(
        request,
        "deltatrace/quarantine.html",
        {
            "incident": incident,
            "tab": "quarantine",
            "page": page,
            "window": (fmt_ts(incident.start_ns), fmt_ts(incident.end_ns)),
        },
    )


@role_required("view")
@require_GET
def incident_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """Download the incident as Chrome Trace JSON (Perfetto) or OTLP JSON, sanitized for the viewer:
    the default policy's internal audience for roles that may see raw data, public for the rest."""
    if fmt not in BUILDERS:
        raise Http404(f"no export format {fmt!r}")
    incident = get_object_or_404(Incident, pk=pk)
    audience = "internal" if can(request.user, "view_raw") else "public"
    policy = Policy.load("default").for_audience(audience)
    blob, _, _ = export_bytes(incident, fmt, policy)
    name = f"{incident.name}-{fmt}.json"
    return HttpResponse(
        blob,
        content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
