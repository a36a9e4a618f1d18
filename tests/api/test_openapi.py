"""The OpenAPI schema: generated without warnings, covering every /api/ URL, true to the responses,
and served to signed-in users only."""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

# Served next to the API but not part of it (SERVE_INCLUDE_SCHEMA is off).
SCHEMA_VIEWS = {"api/schema/", "api/docs/"}


@pytest.fixture(scope="module")
def generated() -> tuple[dict[str, Any], list[str]]:
    """The schema as `manage.py spectacular` builds it, and every warning/error it emitted."""
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    problems = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    GENERATOR_STATS.reset()
    return schema, problems


@pytest.fixture
def schema(generated: tuple[dict[str, Any], list[str]]) -> dict[str, Any]:
    return generated[0]


def test_the_schema_generates_without_warnings_or_errors(generated: Any) -> None:
    schema, problems = generated
    assert problems == []
    validate_schema(schema)  # raises on an invalid OpenAPI 3 document


def test_every_operation_has_a_unique_id_and_a_documented_success_response(schema: Any) -> None:
    ids = []
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            ids.append(op["operationId"])
            ok = [code for code in op["responses"] if code.startswith("2")]
            assert ok, f"{method.upper()} {path} documents no success response"
            body = op["responses"][ok[0]].get("content", {})
            assert body, f"{method.upper()} {path} documents no success body"
    assert len(ids) == len(set(ids))


def _routes(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _routes(p.url_patterns, prefix + str(p.pattern))
        else:
            yield prefix + str(p.pattern)


def _shape(route: str) -> str:
    """`incidents/<int:incident_pk>/`, `^captures/(?P<pk>[^/.]+)/?$` and `/api/captures/{id}/` all
    become one comparable shape: parameters as `{}`, optional trailing slashes as `/`."""
    route = re.sub(r"<[^>]+>|\(\?P<\w+>[^)]*\)|\{\w+\}", "{}", route)
    route = route.replace("^", "").replace("$", "").replace("/?", "/")
    return route.lstrip("/")


def test_every_api_url_is_in_the_schema(schema: Any) -> None:
    routes = {r for r in _routes(get_resolver().url_patterns) if r.startswith("api/")}
    assert len(routes) > 30  # incidents, captures, events, graph, ledger, replays, triggers, ...
    documented = {_shape(p) for p in schema["paths"]}
    missing = sorted(r for r in routes - SCHEMA_VIEWS if _shape(r) not in documented)
    assert missing == []


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/schema/", "/api/docs/"])
def test_the_schema_and_its_docs_page_need_a_signed_in_user(url: str, make_user: Any) -> None:
    anonymous = APIClient()
    assert anonymous.get(url).status_code in (401, 403)

    client = APIClient()
    client.force_login(make_user("vera", "viewer"))
    resp = client.get(url)
    assert resp.status_code == 200
    if url == "/api/schema/":
        assert b"/api/ledger/proof/inclusion" in resp.content


# --- The documented shapes are the real ones ----------------------------------------------------


def _strict(node: Any) -> Any:
    """OpenAPI 3.0 -> JSON Schema: `nullable` becomes a null type; objects refuse unknown keys."""
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items()}
    if out.pop("nullable", False):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if "$ref" in out or "allOf" in out:
            out = {"anyOf": [{"type": "null"}, out]}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def _check(schema: dict[str, Any], method: str, path: str, code: int, body: Any) -> None:
    op = schema["paths"][path][method]
    doc = copy.deepcopy(op["responses"][str(code)]["content"]["application/json"]["schema"])
    root = _strict({**doc, "components": schema["components"]})
    jsonschema.validate(body, root)


@pytest.fixture
def signed_in(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch, make_user: Any
) -> APIClient:
    from ledger.approvals import sandbox

    monkeypatch.delenv("DELTATRACE_LEDGER_KEY", raising=False)
    settings.DATA_DIR = tmp_path  # a fresh ledger signing key
    sandbox.reset()
    client = APIClient()
    client.force_authenticate(make_user("cora", "compliance", "approver"))
    return client


def test_governance_and_ledger_responses_match_their_schema(schema: Any, signed_in: Any) -> None:
    c = signed_in
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key = c.post(
        "/api/approver-keys/", {"public_key": base64.b64encode(raw).decode()}, format="json"
    )
    assert key.status_code == 201, key.content
    _check(schema, "post", "/api/approver-keys/", 201, key.json())
    _check(schema, "get", "/api/approver-keys/", 200, c.get("/api/approver-keys/").json())

    body = {"kind": "kill_switch", "params": {"scope": "symbol", "value": "ACME"}, "reason": "r"}
    trigger = c.post("/api/triggers/", body, format="json")
    assert trigger.status_code == 201, trigger.content
    _check(schema, "post", "/api/triggers/", 201, trigger.json())
    detail = c.get(f"/api/triggers/{trigger.json()['digest']}/").json()
    _check(schema, "get", "/api/triggers/{ref}/", 200, detail)
    _check(schema, "get", "/api/triggers/", 200, c.get("/api/triggers/").json())
    policies = c.get("/api/policies/").json()
    _check(schema, "get", "/api/policies/", 200, policies)

    refused = c.post(f"/api/triggers/{trigger.json()['id']}/approvals/", {}, format="json")
    assert refused.status_code == 400
    _check(schema, "post", "/api/triggers/{ref}/approvals/", 400, refused.json())

    order = {"symbol": "ACME", "side": "BUY", "qty": 10, "price": "101.5"}
    placed = c.post("/api/sandbox/orders", order, format="json")
    assert placed.status_code == 201, placed.content
    _check(schema, "post", "/api/sandbox/orders", 201, placed.json())
    _check(schema, "get", "/api/sandbox/state", 200, c.get("/api/sandbox/state").json())

    _check(schema, "get", "/api/ledger/keys", 200, c.get("/api/ledger/keys").json())
    _check(schema, "get", "/api/ledger/entries", 200, c.get("/api/ledger/entries").json())
    size = c.get("/api/ledger/entries").json()["tree_size"]
    assert size >= 2  # the key registration and the proposal
    proof = c.get(f"/api/ledger/proof/inclusion?index=0&tree_size={size}").json()
    _check(schema, "get", "/api/ledger/proof/inclusion", 200, proof)
    proof = c.get(f"/api/ledger/proof/consistency?first=1&second={size}").json()
    _check(schema, "get", "/api/ledger/proof/consistency", 200, proof)

    checkpoint = c.get("/api/ledger/checkpoint")
    documented = schema["paths"]["/api/ledger/checkpoint"]["get"]["responses"]["200"]["content"]
    assert checkpoint["Content-Type"].split(";")[0] in documented


def test_replay_responses_match_their_schema(schema: Any, client_as: Any, incident: Any) -> None:
    from deltatrace.models import Event
    from replay.models import ReplayRun, ReplayStep

    run = ReplayRun.objects.create(incident=incident, params={"stage": "all", "sets": {}})
    for n, event in enumerate(Event.objects.filter(incident=incident).order_by("id")[:3], 1):
        ReplayStep.objects.create(
            run=run,
            n=n,
            event=event,
            ref=f"{event.capture_id}:{event.seq}",
            kind=event.kind,
            host=event.host,
            lane=event.lane,
            ts_ns=event.ts_ns,
            match=None if n == 1 else True,
        )
    viewer = client_as("viewer")
    for path, url in [
        ("/api/replays/", "/api/replays/"),
        ("/api/replays/{id}/", f"/api/replays/{run.pk}/"),
        ("/api/replays/{id}/steps", f"/api/replays/{run.pk}/steps"),
        ("/api/replays/{id}/dag", f"/api/replays/{run.pk}/dag?cursor=2"),
    ]:
        resp = viewer.get(url)
        assert resp.status_code == 200, (url, resp.content)
        _check(schema, "get", path, 200, resp.json())

    replayer = client_as("compliance")
    assert replayer.post(f"/api/replays/{run.pk}/cancel").status_code == 200
    again = replayer.post(f"/api/replays/{run.pk}/cancel")
    assert again.status_code == 409
    _check(schema, "post", "/api/replays/{id}/cancel", 409, again.json())
