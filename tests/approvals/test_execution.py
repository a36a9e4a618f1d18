"""What an executed trigger changes: the sandbox, the incident's governance capture, the ledger."""

from __future__ import annotations

import pytest

from deltatrace.models import Capture, Edge, Event, Incident
from ledger.approvals.models import Trigger
from ledger.log import latest_checkpoint
from ledger.verify import verify
from tests.api.factories import build_trading_incident

pytestmark = pytest.mark.django_db


def test_execution_is_an_event_caused_by_the_evidence_and_a_ledger_entry(approver, propose):
    ann, bob = approver("ann"), approver("bob")
    incident = build_trading_incident(orders=3)
    evidence = Event.objects.filter(incident=incident, kind="Order").order_by("id").first()
    trigger = propose(incident=incident.name, evidence=[evidence.ref])
    ann.approve(trigger)
    bob.approve(trigger)

    t = Trigger.objects.get(pk=trigger["id"])
    assert t.status == "executed" and t.executed_index is not None
    capture = Capture.objects.get(incident=incident, key="governance")
    note = Event.objects.get(capture=capture)
    assert note.kind == "Annotation" and note.lane == "governance"
    assert note.payload_dict()["digest"] == t.digest
    assert t.result["event"] == note.ref
    assert Edge.objects.filter(
        dst_capture=capture, dst_seq=note.seq, src_capture=evidence.capture, src_seq=evidence.seq
    ).exists()
    latest_checkpoint()  # tests roll back, so the after-commit signing never ran
    assert verify().ok


def test_evidence_must_be_events_of_the_incident(propose, officer):
    incident = build_trading_incident(orders=1)
    resp = officer.post(
        "/api/triggers/",
        {
            "kind": "kill_switch",
            "params": {"scope": "venue", "value": "XSIM"},
            "reason": "r",
            "incident": incident.pk,
            "evidence": ["999999:1"],
        },
        format="json",
    )
    assert resp.status_code == 400 and "is not an event of incident" in resp.json()["detail"]


def test_a_risk_limit_change_applies_to_the_next_order(approver, propose, officer):
    ann, bob = approver("ann"), approver("bob")
    trigger = propose("risk_limit", {"limit": "max_qty", "value": "50"})
    ann.approve(trigger)
    bob.approve(trigger)
    order = {"symbol": "ACME", "side": "SELL", "qty": 60, "price": "10"}
    result = officer.post("/api/sandbox/orders", order, format="json").json()
    assert not result["accepted"]
    assert {"rule": "max_qty", "result": "reject", "limit": "50", "observed": "60"} in result[
        "risk"
    ]
    assert officer.get("/api/sandbox/state").json()["limits"]["max_qty"] == "50"


def test_disabling_a_strategy_blocks_its_orders_only(approver, propose, officer):
    ann, bob = approver("ann"), approver("bob")
    trigger = propose("strategy", {"strategy": "momo", "action": "disable"})
    ann.approve(trigger)
    bob.approve(trigger)
    base = {"symbol": "ACME", "side": "BUY", "qty": 1, "price": "10"}
    momo = officer.post("/api/sandbox/orders", {**base, "strategy": "momo"}, format="json")
    assert not momo.json()["accepted"]
    other = officer.post("/api/sandbox/orders", {**base, "strategy": "mm"}, format="json")
    assert other.json()["accepted"]


def test_an_incident_sign_off_closes_the_incident(approver, propose):
    ann, bob = approver("ann"), approver("bob")
    incident = build_trading_incident(orders=1)
    trigger = propose("incident_signoff", {}, incident=incident.name)
    ann.approve(trigger)
    bob.approve(trigger)
    assert Incident.objects.get(pk=incident.pk).status == "closed"


def test_a_bad_sandbox_order_gets_a_clear_error(officer):
    resp = officer.post("/api/sandbox/orders", {"symbol": "ACME", "side": "BUY"}, format="json")
    assert resp.status_code == 400 and "qty" in resp.json()["detail"]
