"""A stored incident with a strategy capture, and helpers to run replays and open WebSockets."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from deltatrace.models import Incident
from replay.bench import store_incident, synth_incident
from replay.models import ReplayRun
from replay.tasks import execute


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def incident(transactional_db: Any) -> Incident:
    data = synth_incident(400, name="live-day")
    return store_incident(data)


@pytest.fixture
def done_run(incident: Incident) -> ReplayRun:
    run = ReplayRun.objects.create(incident=incident, params={"stage": "all"})
    assert execute(run.pk) == "done"
    run.refresh_from_db()
    return run


def session_cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    cookie = SimpleCookie()
    cookie[settings.SESSION_COOKIE_NAME] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return cookie.output(header="", sep=";").strip().encode()


def communicator(run_id: int, cookie: bytes | None, origin: bytes = b"http://testserver") -> Any:
    from deltatrace.asgi import application

    headers = [(b"origin", origin), (b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, f"/ws/replays/{run_id}/", headers=headers)


@pytest.fixture(autouse=True)
def _close_thread_connections(close_thread_connections: None) -> None:
    """Every test here: see tests/conftest.py."""
