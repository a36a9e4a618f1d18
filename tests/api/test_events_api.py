"""Events, graph, latency, timeline and quarantine endpoints, as a script or the dashboard uses them."""

from __future__ import annotations

import pytest

from deltatrace.models import Capture, Event, RawAccess
from tests.api.factories import ACK, FILL, ORDER, RISK, SIGNAL, T0

pytestmark = pytest.mark.django_db


def _all_pages(client, url: str) -> list[dict]:  # type: ignore[no-untyped-def]
    out: list[dict] = []
    while url:
        resp = client.get(url)
        assert resp.status_code == 200, resp.content
        out.extend(resp.json()["results"])
        url = resp.json()["next"]
    return out


def test_it_pages_events_by_cursor_in_merged_order(client_as, incident):
    client = client_as("viewer")
    events = _all_pages(client, f"/api/incidents/{incident.pk}/events/?limit=4")
    assert len(events) == incident.event_count == 35
    order = [(e["hlc"][0], e["hlc"][1], e["host"], e["capture"], e["seq"]) for e in events]
    assert order == sorted(order)
    assert len({e["id"] for e in events}) == 35  # no duplicates across page boundaries


def test_it_filters_events_by_kind_lane_host_window_and_key(client_as, incident):
    client = client_as("viewer")
    base = f"/api/incidents/{incident.pk}/events/"
    fills = client.get(base + "?kind=Fill").json()["results"]
    assert [e["kind"] for e in fills] == ["Fill"] * 5
    both = client.get(base + "?kind=Order,Fill").json()["results"]
    assert {e["kind"] for e in both} == {"Order", "Fill"} and len(both) == 10
    assert {e["lane"] for e in client.get(base + "?lane=risk").json()["results"]} == {"risk"}
    assert {e["host"] for e in client.get(base + "?host=md-feed").json()["results"]} == {"md-feed"}
    window = client.get(base + f"?ts_from={T0}&ts_to={T0 + ORDER}").json()["results"]
    assert [e["kind"] for e in window] == ["MDTick", "Signal", "PlanDelta", "Order"]
    chain = client.get(base + "?cl_ord_id=S1-0002").json()["results"]
    assert [e["kind"] for e in chain] == ["Order", "RiskCheck", "ExecReport", "Fill"]
    any_key = client.get(base + "?key=X1").json()["results"]
    assert [e["kind"] for e in any_key] == ["ExecReport", "Fill"]


def test_it_rejects_a_non_integer_time_window(client_as, incident):
    resp = client_as("viewer").get(f"/api/incidents/{incident.pk}/events/?ts_from=soon")
    assert resp.status_code == 400
    assert "ts_from" in resp.json()


def test_each_event_lists_its_parents_and_children(client_as, incident):
    client = client_as("viewer")
    order = client.get(f"/api/incidents/{incident.pk}/events/?cl_ord_id=S1-0001&kind=Order")
    ev = order.json()["results"][0]
    assert [p["kind"] for p in ev["parents"]] == ["plan_order"]
    assert sorted(c["kind"] for c in ev["children"]) == ["order_report", "order_risk"]
    child = ev["children"][0]["ref"]
    cap, seq = map(int, child.split(":"))
    detail = client.get(f"/api/events/{Event.objects.get(capture_id=cap, seq=seq).pk}/").json()
    assert ev["ref"] in [p["ref"] for p in detail["parents"]]


def test_raw_fix_is_shown_only_to_roles_that_may_see_raw(client_as, incident):
    fill = Event.objects.filter(incident_id=incident.pk, kind="Fill").first()
    assert client_as("viewer").get(f"/api/events/{fill.pk}/").json()["raw"] is None
    raw = client_as("compliance").get(f"/api/events/{fill.pk}/").json()["raw"]
    assert raw.startswith("8=FIX.4.4\x0135=8\x01")


def test_every_view_of_raw_bytes_is_logged_with_who_and_which_events(client_as, incident):
    fill = Event.objects.filter(incident_id=incident.pk, kind="Fill").first()
    client_as("viewer").get(f"/api/events/{fill.pk}/")
    assert not RawAccess.objects.exists(), "nothing raw was shown to the viewer"
    officer = client_as("compliance")
    officer.get(f"/api/events/{fill.pk}/")
    officer.get(f"/api/incidents/{incident.pk}/events/?kind=Fill")
    single, listing = RawAccess.objects.order_by("at", "pk")
    assert single.user.username.endswith("-compliance") and single.via == "api"
    assert single.refs == [fill.ref]
    with_raw = Event.objects.filter(incident_id=incident.pk, kind="Fill", raw__isnull=False)
    assert sorted(listing.refs) == sorted(e.ref for e in with_raw)


def test_graph_returns_nodes_and_edges_inside_the_window(client_as, incident):
    client = client_as("viewer")
    whole = client.get(f"/api/incidents/{incident.pk}/graph/").json()
    assert len(whole["nodes"]) == 35 and len(whole["edges"]) == 30 and not whole["truncated"]
    first = client.get(
        f"/api/incidents/{incident.pk}/graph/?ts_from={T0}&ts_to={T0 + ORDER}"
    ).json()
    assert [n["kind"] for n in first["nodes"]] == ["MDTick", "Signal", "PlanDelta", "Order"]
    assert sorted(e["kind"] for e in first["edges"]) == ["plan_order", "signal_plan", "tick_signal"]
    capped = client.get(f"/api/incidents/{incident.pk}/graph/?limit=3").json()
    assert len(capped["nodes"]) == 3 and capped["truncated"]


def test_latency_endpoint_gives_hop_percentiles_in_ns(client_as, incident):
    data = client_as("viewer").get(f"/api/incidents/{incident.pk}/latency/?per_order=1").json()
    assert data["orders"] == 5 and data["unit"] == "ns"
    hops = data["hops"]
    assert hops["tick_signal"] == {
        "count": 5,
        "p50": SIGNAL,
        "p90": SIGNAL,
        "p99": SIGNAL,
        "max": SIGNAL,
    }
    assert hops["signal_order"]["p50"] == ORDER - SIGNAL
    assert hops["order_risk"]["max"] == RISK - ORDER
    # ack i arrives i*100 ns later: 12000, 12100, ... 12400
    assert hops["order_ack"] == {
        "count": 5,
        "p50": ACK - ORDER + 200,
        "p90": ACK - ORDER + 400,
        "p99": ACK - ORDER + 400,
        "max": ACK - ORDER + 400,
    }
    assert hops["ack_fill"]["p50"] == FILL - ACK
    assert hops["tick_to_trade"]["p50"] == ORDER
    assert len(data["per_order"]) == 5 and data["per_order"][0]["order_ack"] == ACK - ORDER


def test_timeline_figure_has_one_lane_per_host_and_component(client_as, incident):
    fig = client_as("viewer").get(f"/api/incidents/{incident.pk}/timeline/").json()
    lanes = {y for trace in fig["data"] for y in trace["y"]}
    assert lanes == {
        "md-feed / md",
        "strategy-1 / signal",
        "strategy-1 / planner",
        "strategy-1 / executor",
        "gateway / risk",
        "gateway / venue",
    }
    assert {t["name"] for t in fig["data"]} == {
        "MDTick",
        "Signal",
        "PlanDelta",
        "Order",
        "RiskCheck",
        "ExecReport",
        "Fill",
    }
    zoomed = client_as("viewer").get(f"/api/incidents/{incident.pk}/timeline/?x0=0&x1=8").json()
    assert sum(len(t["x"]) for t in zoomed["data"]) == 4  # tick, signal, plan, order of order 1


def test_timeline_aggregates_into_buckets_when_the_window_is_crowded(
    client_as, incident, monkeypatch
):
    monkeypatch.setattr("deltatrace.timeline.MAX_POINTS", 10)
    fig = client_as("viewer").get(f"/api/incidents/{incident.pk}/timeline/").json()
    assert [t["type"] for t in fig["data"]] == ["heatmap"]
    counts = [z for row in fig["data"][0]["z"] for z in row if z]
    assert sum(counts) == 35
    zoomed = client_as("viewer").get(f"/api/incidents/{incident.pk}/timeline/?x0=0&x1=8").json()
    assert zoomed["data"][0]["type"] == "scatter"


def test_quarantine_lists_bad_lines_with_reasons(client_as, incident):
    from deltatrace.ingest import append_events

    capture = Capture.objects.get(incident=incident, key="feed")
    result = append_events(capture, [{"seq": 99, "kind": "Nonsense", "ts_ns": T0}])
    assert result["quarantined"] == 1
    rows = client_as("viewer").get(f"/api/incidents/{incident.pk}/quarantine/").json()["results"]
    assert len(rows) == 1 and rows[0]["capture_key"] == "feed" and rows[0]["reason"]


def test_incidents_list_shows_counts_and_searches(client_as, incident):
    client = client_as("viewer")
    rows = client.get("/api/incidents/").json()["results"]
    assert rows[0]["event_count"] == 35 and rows[0]["captures"] == 3
    assert rows[0]["start_ns"] == T0
    assert client.get("/api/incidents/?search=flash").json()["count"] == 1
    assert client.get("/api/incidents/?search=nothing-like-it").json()["count"] == 0


def test_unknown_incident_is_a_404(client_as, db):
    assert client_as("viewer").get("/api/incidents/999/events/").status_code == 404


def test_openapi_schema_lists_the_event_graph_endpoints(client_as, db):
    resp = client_as("viewer").get("/api/schema/?format=json")
    assert resp.status_code == 200
    paths = resp.json()["paths"]
    for p in (
        "/api/incidents/{incident_pk}/events/",
        "/api/captures/{id}/events/",
        "/api/incidents/{incident_pk}/latency/",
        "/api/incidents/{incident_pk}/graph/",
    ):
        assert p in paths


def test_the_browsable_api_renders_with_its_filter_form(client_as, incident):
    client = client_as("viewer")
    for url in ("/api/incidents/", f"/api/incidents/{incident.pk}/events/"):
        resp = client.get(url, HTTP_ACCEPT="text/html")
        assert resp.status_code == 200, url
        assert "Filters" in resp.content.decode()


def test_latency_statistics_run_no_collection_over_the_incident(db):  # type: ignore[no-untyped-def]
    import gc

    from deltatrace.latency import incident_latency_stats
    from tests.api.factories import build_trading_incident
    from tests.gcwatch import collections_during

    big = build_trading_incident("busy", orders=400)  # thousands of nodes and edges at once
    with collections_during() as collections:
        stats = incident_latency_stats(big.pk)
    assert stats["orders"] == 400
    assert len(collections) <= 1 and gc.isenabled()  # at most the one after the work
