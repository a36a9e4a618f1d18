"""The approval rules, exercised through the API as approvers and officers use it."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.approvals.models import Trigger
from ledger.models import LedgerEntry

pytestmark = pytest.mark.django_db

ORDER = {"symbol": "ACME", "side": "BUY", "qty": 100, "price": "101.25"}


def _types() -> list[str]:
    return list(LedgerEntry.objects.order_by("index").values_list("type", flat=True))


def test_a_kill_switch_executes_at_quorum_and_blocks_later_orders(approver, propose, officer):
    ann, bob = approver("ann"), approver("bob")
    assert officer.post("/api/sandbox/orders", ORDER, format="json").json()["accepted"]
    trigger = propose()
    assert trigger["status"] == "pending" and trigger["required"] == 2

    first = ann.approve(trigger)
    assert first.status_code == 201, first.content
    assert first.json()["trigger"]["status"] == "pending"
    second = bob.approve(trigger)
    assert second.status_code == 201, second.content
    assert second.json()["trigger"]["status"] == "executed"

    blocked = officer.post("/api/sandbox/orders", {**ORDER, "qty": 5}, format="json").json()
    assert not blocked["accepted"]
    assert [r["rule"] for r in blocked["risk"] if r["result"] == "reject"] == ["kill_switch"]
    assert blocked["reports"][0]["exec_type"] == "REJECTED"
    assert blocked["reports"][0]["order_id"] == "NONE"  # never reached the venue
    other = officer.post("/api/sandbox/orders", {**ORDER, "symbol": "BOLT"}, format="json")
    assert other.json()["accepted"]  # the switch is scoped to ACME
    assert _types()[-5:] == [
        "key.registered",
        "trigger.proposed",
        "approval.recorded",
        "approval.recorded",
        "trigger.executed",
    ]
    detail = officer.get(f"/api/triggers/{trigger['id']}/").json()
    assert [s["key_id"] for s in detail["signatures"]] == [ann.key_id, bob.key_id]
    assert all(s["inclusion_proof"]["hashes"] for s in detail["signatures"])


def test_four_eyes_the_proposer_never_counts_even_as_an_approver(approver, make_user):
    from rest_framework.test import APIClient

    both = approver("olga", "compliance", "approver")
    client = APIClient()
    client.force_authenticate(both.user)
    trigger = client.post(
        "/api/triggers/",
        {"kind": "strategy", "params": {"strategy": "momo", "action": "disable"}, "reason": "r"},
        format="json",
    ).json()
    resp = both.approve(trigger)
    assert resp.status_code == 400
    assert "four-eyes" in resp.json()["detail"]
    assert Trigger.objects.get(pk=trigger["id"]).status == "pending"


def test_quorum_needs_m_distinct_approvers_of_n(approver, propose):
    from ledger.approvals.models import Policy

    Policy.objects.filter(kind="risk_limit").update(required=3)
    ann, bob, dan = approver("ann"), approver("bob"), approver("dan")
    trigger = propose("risk_limit", {"limit": "max_qty", "value": "50"})
    assert ann.approve(trigger).json()["trigger"]["status"] == "pending"
    assert ann.approve(trigger).json()["detail"].startswith("ann has already signed")
    assert bob.approve(trigger).json()["trigger"]["status"] == "pending"
    assert dan.approve(trigger).json()["trigger"]["status"] == "executed"


def test_rejections_that_make_quorum_impossible_reject_the_trigger(approver, propose):
    ann, bob = approver("ann"), approver("bob")
    trigger = propose()
    resp = ann.approve(trigger, "reject")
    assert resp.json()["trigger"]["status"] == "rejected"  # 2 of 2 can no longer be reached
    assert "already rejected" in bob.approve(trigger).json()["detail"]


def test_an_expired_trigger_refuses_signatures(approver, propose):
    ann = approver("ann")
    trigger = propose()
    Trigger.objects.filter(pk=trigger["id"]).update(expires_ms=time.time_ns() // 10**6 - 1)
    resp = ann.approve(trigger)
    assert resp.status_code == 400
    assert "expired" in resp.json()["detail"]
    assert Trigger.objects.get(pk=trigger["id"]).status == "expired"


def test_a_replayed_statement_is_refused(approver, propose):
    ann, _bob = approver("ann"), approver("bob")
    trigger = propose()
    stmt = ann.statement(trigger)
    sig = ann.sign(stmt)
    assert ann.submit(trigger, stmt, sig).status_code == 201
    again = ann.submit(trigger, stmt, sig)
    assert again.status_code == 400
    assert "replayed" in again.json()["detail"]
    # The same signed statement replayed on another trigger is refused too.
    other = propose(params={"scope": "venue", "value": "XSIM"})
    assert "replayed" in ann.submit(other, stmt, sig).json()["detail"]


def test_a_revoked_key_is_refused(approver, propose):
    ann = approver("ann")
    revoked = ann.client.post(f"/api/approver-keys/{ann.key_id}/revoke/", {}, format="json")
    assert revoked.status_code == 200 and revoked.json()["revoked"]
    resp = ann.approve(propose())
    assert resp.status_code == 400
    assert f"key {ann.key_id} was revoked" in resp.json()["detail"]
    assert "key.revoked" in _types()


def test_another_users_key_is_refused(approver, propose):
    ann, bob = approver("ann"), approver("bob")
    trigger = propose()
    stmt = bob.statement(trigger, key_id=ann.key_id)
    resp = bob.submit(trigger, stmt, ann.sign(stmt))  # even with a valid signature by ann's key
    assert resp.status_code == 400
    assert "belongs to another user" in resp.json()["detail"]


def test_a_signature_by_the_wrong_key_is_refused(approver, propose):
    ann = approver("ann")
    trigger = propose()
    stmt = ann.statement(trigger)
    resp = ann.submit(trigger, stmt, ann.sign(stmt, Ed25519PrivateKey.generate()))
    assert resp.status_code == 400
    assert "does not verify" in resp.json()["detail"]


def test_tampered_content_is_refused(approver, propose):
    ann = approver("ann")
    trigger = propose()
    other = propose(params={"scope": "symbol", "value": "BOLT"})
    # Signed the digest of another trigger's content.
    resp = ann.submit(trigger, ann.statement(trigger, trigger_digest=other["digest"]))
    assert resp.status_code == 400
    assert "content differs from what was signed" in resp.json()["detail"]
    # The stored content changed after signing started: its digest no longer matches.
    t = Trigger.objects.get(pk=trigger["id"])
    t.content["params"]["value"] = "BOLT"
    t.save()
    resp = ann.approve(trigger)
    assert resp.status_code == 400
    assert "tampered" in resp.json()["detail"]


def test_a_statement_must_name_a_real_signed_checkpoint(approver, propose):
    ann = approver("ann")
    trigger = propose()
    resp = ann.submit(trigger, ann.statement(trigger, root_hash="ab" * 32))
    assert resp.status_code == 400
    assert "is not a signed checkpoint" in resp.json()["detail"]
    resp = ann.submit(trigger, ann.statement(trigger, tree_size=1))
    assert "not a signed checkpoint" in resp.json()["detail"] or "predates" in resp.json()["detail"]


def test_an_altered_statement_fails_its_signature(approver, propose):
    ann = approver("ann")
    trigger = propose()
    stmt = ann.statement(trigger)
    sig = ann.sign(stmt)
    resp = ann.submit(trigger, {**stmt, "decision": "reject"}, sig)
    assert resp.status_code == 400
    assert "does not verify" in resp.json()["detail"]


def test_only_officers_propose_and_only_approvers_sign(approver, make_user, officer):
    from rest_framework.test import APIClient

    ann = approver("ann")
    resp = ann.client.post(
        "/api/triggers/", {"kind": "kill_switch", "params": {}, "reason": "x"}, format="json"
    )
    assert resp.status_code == 403
    bad = officer.post(
        "/api/triggers/",
        {"kind": "kill_switch", "params": {"scope": "planet", "value": "x"}, "reason": "x"},
        format="json",
    )
    assert bad.status_code == 400 and "scope must be one of" in bad.json()["detail"]
    viewer = APIClient()
    viewer.force_authenticate(make_user("vic", "viewer"))
    resp = viewer.post("/api/approver-keys/", {"public_key": ann.public_b64}, format="json")
    assert resp.status_code == 403


def test_the_inbox_lists_what_i_may_still_sign(approver, propose):
    ann, _bob = approver("ann"), approver("bob")
    trigger = propose()
    inbox = ann.client.get("/api/triggers/?inbox=1").json()["results"]
    assert [t["id"] for t in inbox] == [trigger["id"]]
    ann.approve(trigger)
    assert ann.client.get("/api/triggers/?inbox=1").json()["results"] == []
