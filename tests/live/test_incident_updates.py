"""An open incident page hears about events appended while it is open (live adapters)."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from deltatrace import consumers
from deltatrace.ingest import append_events, get_or_create_capture, get_or_create_incident
from deltatrace.models import Capture, Incident

pytestmark = pytest.mark.django_db(transaction=True)
T0 = 1_767_225_600_000_000_000


@pytest.fixture(autouse=True)
def _close_thread_connections(close_thread_connections: None) -> None:
    """Every test here: see tests/conftest.py."""


def tick(seq: int) -> dict[str, Any]:
    return {"seq": seq, "kind": "MDTick", "ts_ns": T0 + seq, "keys": {"symbol": "ACME"}}


def live_capture() -> tuple[Incident, Capture]:
    incident = get_or_create_incident("live-1")
    header = {"format": "deltatrace.capture", "version": 1, "capture": "fix-a", "host": "fix-a"}
    capture = get_or_create_capture(incident, header)
    return incident, capture


def cookie_for(*roles: str) -> bytes:
    from django.contrib.auth.models import Group, User

    from deltatrace.roles import ensure_roles

    ensure_roles()
    user = User.objects.create_user(f"u-{'-'.join(roles) or 'none'}", password="pw-for-tests-1")
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    cookie = SimpleCookie()
    cookie[settings.SESSION_COOKIE_NAME] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return cookie.output(header="", sep=";").strip().encode()


def socket(incident_id: int, cookie: bytes | None) -> WebsocketCommunicator:
    from deltatrace.asgi import application

    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, f"/ws/incidents/{incident_id}/", headers=headers)


async def test_a_viewer_hears_of_each_committed_batch_with_the_new_counts(monkeypatch: Any) -> None:
    monkeypatch.setattr(consumers, "POLL_S", 30)  # so only the notification can wake it in time
    incident, capture = await sync_to_async(live_capture)()
    ws = socket(incident.pk, await sync_to_async(cookie_for)("viewer"))
    connected, _ = await ws.connect()
    assert connected
    await ws.send_json_to({"type": "hello", "event_count": 0, "quarantined_count": 0})
    assert await ws.receive_nothing(0.3)  # nothing new yet

    await sync_to_async(append_events)(capture, [tick(1), tick(2), {"seq": 3, "kind": "Nope"}])
    msg = await ws.receive_json_from(timeout=3)
    assert msg["type"] == "incident"
    assert (msg["event_count"], msg["quarantined_count"]) == (2, 1)
    assert msg["start_ns"] == T0 + 1 and msg["end_ns"] == T0 + 2

    await sync_to_async(append_events)(capture, [tick(3)])
    assert (await ws.receive_json_from(timeout=3))["event_count"] == 3
    await ws.disconnect()


async def test_a_page_that_is_behind_hears_at_once_and_polling_covers_other_processes(
    monkeypatch: Any,
) -> None:
    incident, capture = await sync_to_async(live_capture)()
    await sync_to_async(append_events)(capture, [tick(1)])
    ws = socket(incident.pk, await sync_to_async(cookie_for)("viewer"))
    assert (await ws.connect())[0]
    await ws.send_json_to({"type": "hello", "event_count": 0, "quarantined_count": 0})
    assert (await ws.receive_json_from(timeout=3))["event_count"] == 1
    # A write with no notification (another process, an in-memory layer): the poll finds it.
    monkeypatch.setattr(consumers, "POLL_S", 0.1)
    monkeypatch.setattr("deltatrace.ingest.sources.incident_changed_on_commit", lambda pk: None)
    await sync_to_async(append_events)(capture, [tick(2)])
    assert (await ws.receive_json_from(timeout=3))["event_count"] == 2
    await ws.disconnect()


@pytest.mark.parametrize("roles", [(), None], ids=["no-role", "anonymous"])
async def test_it_refuses_users_who_may_not_view(roles: tuple[str, ...] | None) -> None:
    incident, _ = await sync_to_async(live_capture)()
    cookie = None if roles is None else await sync_to_async(cookie_for)(*roles)
    connected, code = await socket(incident.pk, cookie).connect()
    assert not connected and code == 4403


async def test_an_unknown_incident_is_refused() -> None:
    ws = socket(999, await sync_to_async(cookie_for)("viewer"))
    connected, code = await ws.connect()
    assert not connected and code == 4404
