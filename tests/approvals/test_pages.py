"""The governance pages render for signed-in users and act on the forms."""

from __future__ import annotations

import pytest
from django.test import Client

from ledger.approvals.models import ApproverKey, Trigger

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_pages_need_a_login(client):
    for url in ("/approvals/", "/approvals/keys/", "/ledger/", "/approvals/triggers/new/"):
        assert client.get(url)["Location"].startswith("/login/")


def test_an_officer_proposes_from_the_form_and_an_approver_sees_it_in_the_inbox(
    make_user, approver
):
    carol = _client(make_user("carol", "compliance"))
    resp = carol.post(
        "/approvals/triggers/new/",
        {
            "kind": "kill_switch",
            "scope": "venue",
            "value": "XSIM",
            "action": "engage",
            "reason": "venue misbehaving",
        },
    )
    trigger = Trigger.objects.get()
    assert resp["Location"] == f"/approvals/triggers/{trigger.pk}/"
    ann = approver("ann")
    page = _client(ann.user).get("/approvals/").content.decode()
    assert f"#{trigger.pk} engage kill switch venue=XSIM" in page
    detail = _client(ann.user).get(f"/approvals/triggers/{trigger.pk}/").content.decode()
    assert trigger.digest in detail and 'id="approve-btn"' in detail
    own = carol.get(f"/approvals/triggers/{trigger.pk}/").content.decode()
    assert 'id="approve-btn"' not in own


def test_the_propose_form_shows_rule_errors(make_user):
    carol = _client(make_user("carol", "compliance"))
    resp = carol.post(
        "/approvals/triggers/new/",
        {"kind": "risk_limit", "limit": "max_qty", "limit_value": "1.5", "reason": "x"},
    )
    assert resp.status_code == 200
    assert "must be a whole number" in resp.content.decode()
    assert not Trigger.objects.exists()


def test_an_approver_revokes_a_key_on_the_keys_page(approver):
    ann = approver("ann")
    c = _client(ann.user)
    assert ann.key_id in c.get("/approvals/keys/").content.decode()
    c.post("/approvals/keys/", {"revoke": ann.key_id})
    assert ApproverKey.objects.get(key_id=ann.key_id).revoked is not None


def test_the_ledger_page_shows_the_checkpoint_verification_and_entries(approver):
    ann = approver("ann")
    page = _client(ann.user).get("/ledger/").content.decode()
    assert "Verified: 1 entries recomputed" in page
    assert "key.registered" in page
