"""Governance fixtures: users in roles, approver keys held by the test, signing helpers."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from rest_framework.test import APIClient

from deltatrace.canonical import strict_jcs


@pytest.fixture(autouse=True)
def governance_env(tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ledger signing key per test, fast password hashing, a fresh sandbox."""
    from ledger.approvals import sandbox

    monkeypatch.delenv("DELTATRACE_LEDGER_KEY", raising=False)
    settings.DATA_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    sandbox.reset()
    return tmp_path


class Approver:
    """An approver with an API client and an Ed25519 key of their own."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self.client = APIClient()
        self.client.force_authenticate(user)
        self.private = Ed25519PrivateKey.generate()
        self.key_id = ""

    @property
    def public_b64(self) -> str:
        raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    def register(self) -> Any:
        resp = self.client.post(
            "/api/approver-keys/", {"public_key": self.public_b64}, format="json"
        )
        assert resp.status_code == 201, resp.content
        self.key_id = resp.json()["key_id"]
        return resp

    def statement(self, trigger: dict[str, Any], decision: str = "approve", **over: Any) -> dict:
        cp = self.client.get("/api/ledger/checkpoint").content.decode().split("\n")
        stmt = {
            "trigger_digest": trigger["digest"],
            "decision": decision,
            "key_id": self.key_id,
            "tree_size": int(cp[1]),
            "root_hash": base64.b64decode(cp[2]).hex(),
            "time": time.time_ns() // 1_000_000,
        }
        stmt.update(over)
        return stmt

    def sign(self, stmt: dict[str, Any], key: Ed25519PrivateKey | None = None) -> str:
        return base64.b64encode((key or self.private).sign(strict_jcs(stmt))).decode()

    def submit(self, trigger: dict[str, Any], stmt: dict[str, Any], sig: str | None = None) -> Any:
        body = {"statement": stmt, "signature": sig if sig is not None else self.sign(stmt)}
        return self.client.post(f"/api/triggers/{trigger['id']}/approvals/", body, format="json")

    def approve(self, trigger: dict[str, Any], decision: str = "approve") -> Any:
        return self.submit(trigger, self.statement(trigger, decision))


@pytest.fixture
def approver(make_user: Callable[..., Any]) -> Callable[[str], Approver]:
    def make(name: str, *roles: str) -> Approver:
        a = Approver(make_user(name, *(roles or ("approver",))))
        a.register()
        return a

    return make


@pytest.fixture
def officer(make_user: Callable[..., Any]) -> APIClient:
    client = APIClient()
    client.force_authenticate(make_user("carol", "compliance"))
    return client


@pytest.fixture
def propose(officer: APIClient) -> Callable[..., dict[str, Any]]:
    def make(kind: str = "kill_switch", params: dict | None = None, **extra: Any) -> dict:
        body = {
            "kind": kind,
            "params": params if params is not None else {"scope": "symbol", "value": "ACME"},
            "reason": "runaway orders on ACME",
            **extra,
        }
        resp = officer.post("/api/triggers/", body, format="json")
        assert resp.status_code == 201, resp.content
        return resp.json()

    return make


@pytest.fixture
def flushable() -> Any:
    """Request before `live_server`/`transactional_db`: the flush after the test may then empty the
    append-only ledger tables."""
    from ledger.models import maintenance

    with maintenance():
        yield
