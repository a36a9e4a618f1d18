"""Sandbox orders are recorded as capture events (Order, RiskChecks, ExecReports, Fills) in an incident."""

from __future__ import annotations

from typing import Any

import pytest

from deltatrace.models import Capture, Edge, Event, Incident, QuarantinedLine

pytestmark = pytest.mark.django_db
ORDER = {"symbol": "ACME", "side": "BUY", "qty": 100, "price": "101.25"}


def events(incident: str) -> list[Event]:
    capture = Capture.objects.get(incident__name=incident, key="sandbox-gateway")
    return list(Event.objects.filter(capture=capture).order_by("seq"))


def parents(ev: Event) -> list[tuple[int, str]]:
    return sorted(
        Edge.objects.filter(dst_capture=ev.capture, dst_seq=ev.seq).values_list("src_seq", "kind")
    )


def test_a_refused_order_after_a_kill_switch_is_recorded_with_its_reject(
    approver: Any, propose: Any, officer: Any
) -> None:
    ann, bob = approver("ann"), approver("bob")
    trigger = propose()
    ann.approve(trigger)
    assert bob.approve(trigger).json()["trigger"]["status"] == "executed"

    body = {**ORDER, "cl_ord_id": "K-1", "incident": "ks-drill"}
    resp = officer.post("/api/sandbox/orders", body, format="json")
    assert resp.status_code == 201 and not resp.json()["accepted"]

    capture = Capture.objects.get(incident__name="ks-drill", key="sandbox-gateway")
    assert (capture.adapter, capture.host) == ("exchange-sandbox", "sandbox-gateway")
    evs = events("ks-drill")
    order = evs[0]
    assert (order.kind, order.lane, order.cl_ord_id) == ("Order", "risk", "K-1")
    assert order.payload_dict()["qty"] == 100 and order.payload_dict()["price"] == "101.25"
    checks = [e for e in evs if e.kind == "RiskCheck"]
    kill = next(e for e in checks if e.payload_dict()["rule"] == "kill_switch")
    assert kill.payload_dict()["result"] == "reject" and kill.lane == "risk"
    assert "symbol=ACME" in kill.payload_dict()["observed"]
    assert all(parents(c) == [(order.seq, "order_risk")] for c in checks)
    (report,) = [e for e in evs if e.kind == "ExecReport"]
    assert report.lane == "risk" and report.payload_dict()["exec_type"] == "REJECTED"
    assert parents(report) == [(order.seq, "order_report")]
    assert not any(e.kind == "Fill" for e in evs)
    assert [e.seq for e in evs] == list(range(1, len(evs) + 1))


def test_orders_without_an_incident_go_to_the_sandbox_incident_and_fills_follow_reports(
    officer: Any,
) -> None:
    sell = {"symbol": "ACME", "side": "SELL", "qty": 40, "price": "10"}
    buy = {"symbol": "ACME", "side": "BUY", "qty": 40, "price": "10"}
    assert officer.post("/api/sandbox/orders", sell, format="json").json()["accepted"]
    assert officer.post("/api/sandbox/orders", buy, format="json").json()["accepted"]
    assert Incident.objects.filter(name="sandbox").exists()
    evs = events("sandbox")
    orders = [e for e in evs if e.kind == "Order"]
    assert [o.payload_dict()["side"] for o in orders] == ["SELL", "BUY"]
    fills = [e for e in evs if e.kind == "Fill"]
    assert len(fills) == 2 and all(f.lane == "venue" for f in fills)  # both sides traded
    by_seq = {e.seq: e for e in evs}
    for fill in fills:
        ((src, kind),) = parents(fill)
        assert kind == "report_fill" and by_seq[src].kind == "ExecReport"
        assert by_seq[src].lane == "venue" and fill.payload_dict()["last_qty"] == 40
    # The buy's submit produced both fills' reports: they hang off the buy order.
    buy_order = orders[1]
    assert all(
        parents(by_seq[parents(f)[0][0]]) == [(buy_order.seq, "order_report")] for f in fills
    )
    assert not QuarantinedLine.objects.exists()


def test_a_bad_incident_name_is_refused_and_nothing_is_sent_or_recorded(officer: Any) -> None:
    resp = officer.post(
        "/api/sandbox/orders", {**ORDER, "incident": "no spaces/allowed"}, format="json"
    )
    assert resp.status_code == 400 and "incident must be an incident name" in str(resp.json())
    assert not Capture.objects.filter(key="sandbox-gateway").exists()
    # Had the refused buy reached the book, this sell would trade with it.
    sell = {**ORDER, "side": "SELL", "incident": "drill-2"}
    ok = officer.post("/api/sandbox/orders", sell, format="json")
    assert ok.status_code == 201 and ok.json()["accepted"]
    kinds = [e.kind for e in events("drill-2")]
    assert kinds[0] == "Order" and "ExecReport" in kinds and "Fill" not in kinds
