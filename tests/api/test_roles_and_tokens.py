"""Who may do what through the API: the role matrix, user tokens and per-capture tokens."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from deltatrace.models import Capture, Event
from tests.api.factories import T0

pytestmark = pytest.mark.django_db


def _tick(seq: int) -> dict:
    return {
        "seq": seq,
        "kind": "MDTick",
        "ts_ns": T0 + 10_000_000 + seq,
        "lane": "md",
        "keys": {"symbol": "ACME"},
        "payload": {"bid": "101.00"},
    }


def _feed(incident) -> Capture:  # type: ignore[no-untyped-def]
    return Capture.objects.get(incident=incident, key="feed")


@pytest.mark.parametrize(
    ("role", "read", "create_incident", "edit_incident", "ingest", "mint_token"),
    [
        ("viewer", 200, 403, 403, 403, 403),
        ("approver", 200, 403, 403, 403, 403),
        ("compliance", 200, 201, 200, 200, 201),
        ("admin", 200, 201, 200, 200, 201),
    ],
)
def test_role_matrix(
    client_as, incident, role, read, create_incident, edit_incident, ingest, mint_token
):
    client = client_as(role)
    feed = _feed(incident)
    assert client.get("/api/incidents/").status_code == read
    assert client.get(f"/api/incidents/{incident.pk}/events/").status_code == read
    resp = client.post("/api/incidents/", {"name": f"new-{role}", "title": "t"}, format="json")
    assert resp.status_code == create_incident
    resp = client.patch(
        f"/api/incidents/{incident.pk}/", {"status": "investigating"}, format="json"
    )
    assert resp.status_code == edit_incident
    before = Event.objects.filter(capture=feed).count()
    resp = client.post(f"/api/captures/{feed.pk}/events", {"events": [_tick(6)]}, format="json")
    assert resp.status_code == ingest
    assert Event.objects.filter(capture=feed).count() == before + (1 if ingest == 200 else 0)
    assert client.post(f"/api/captures/{feed.pk}/tokens").status_code == mint_token


def test_a_user_without_a_role_sees_nothing(client_as, incident):
    assert client_as().get("/api/incidents/").status_code == 403


def test_anonymous_requests_are_refused(incident):
    client = APIClient()
    assert client.get("/api/incidents/").status_code in (401, 403)
    assert client.get(f"/api/incidents/{incident.pk}/latency/").status_code in (401, 403)
    resp = client.post(f"/api/captures/{_feed(incident).pk}/events", [_tick(6)], format="json")
    assert resp.status_code in (401, 403)


def test_a_user_token_acts_with_the_users_roles(make_user, incident):
    viewer = Token.objects.create(user=make_user("script", "viewer"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {viewer.key}")
    assert client.get("/api/incidents/").status_code == 200
    feed = _feed(incident)
    assert (
        client.post(f"/api/captures/{feed.pk}/events", [_tick(6)], format="json").status_code == 403
    )
    client.credentials(HTTP_AUTHORIZATION=f"Token {viewer.key}")
    assert client.get("/api/incidents/").status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-key")
    assert client.get("/api/incidents/").status_code in (401, 403)


def test_a_capture_token_writes_its_own_capture_and_no_other(client_as, incident):
    feed = _feed(incident)
    gateway = Capture.objects.get(incident=incident, key="gateway")
    key = client_as("compliance").post(f"/api/captures/{feed.pk}/tokens").json()["key"]
    adapter = APIClient()
    adapter.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    ok = adapter.post(f"/api/captures/{feed.pk}/events", [_tick(6), _tick(7)], format="json")
    assert ok.status_code == 200, ok.content
    assert ok.json() == {"accepted": 2, "duplicates": 0, "quarantined": 0}

    other = adapter.post(f"/api/captures/{gateway.pk}/events", [_tick(99)], format="json")
    assert other.status_code == 403
    assert not Event.objects.filter(capture=gateway, seq=99).exists()
    # A capture token is not a user: it reads nothing.
    assert adapter.get("/api/incidents/").status_code in (401, 403)


def test_a_live_batch_is_idempotent_and_quarantines_bad_events(client_as, incident):
    feed = _feed(incident)
    client = client_as("compliance")
    url = f"/api/captures/{feed.pk}/events/"
    assert client.post(url, [_tick(6)], format="json").json()["accepted"] == 1
    again = client.post(url, {"events": [_tick(6), {"seq": 7, "kind": "MDTick"}]}, format="json")
    assert again.status_code == 200
    assert again.json() == {"accepted": 0, "duplicates": 1, "quarantined": 1}


def test_a_live_event_with_a_lone_surrogate_or_a_nul_is_quarantined_not_a_server_error(
    client_as, incident
):
    feed = _feed(incident)
    url = f"/api/captures/{feed.pk}/events/"
    # Python's json decodes these escapes; neither string can be canonicalised or stored as text.
    body = '[{"seq": 8, "kind": "MDTick", "ts_ns": 1, "keys": {"symbol": "\\ud800"}},'
    body += ' {"seq": 9, "kind": "MDTick", "ts_ns": 1, "raw": "a\\u0000b"}]'
    resp = client_as("compliance").post(url, body, content_type="application/json")
    assert resp.status_code == 200
    assert resp.json() == {"accepted": 0, "duplicates": 0, "quarantined": 2}


def test_a_malformed_batch_body_gets_a_clear_400(client_as, incident):
    feed = _feed(incident)
    resp = client_as("compliance").post(
        f"/api/captures/{feed.pk}/events", {"rows": []}, format="json"
    )
    assert resp.status_code == 400
    assert "events" in resp.json()
