"""The replay API: start (roles, validation), state, steps by number, cancel, DAG window."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from deltatrace.models import Incident
from replay.models import ReplayRun


@pytest.fixture
def api(make_user: Any) -> Any:
    def client(role: str) -> APIClient:
        c = APIClient()
        c.force_authenticate(make_user(f"u-{role}", role))
        return c

    return client


def test_compliance_starts_a_replay_that_runs_in_the_background(
    incident: Incident, api: Any
) -> None:
    from django_tasks_db.models import DBTaskResult

    resp = api("compliance").post(
        "/api/replays/",
        {"incident": incident.pk, "stage": "all", "sets": ["threshold_bps=2"]},
        format="json",
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["status"] == "queued" and body["params"]["sets"] == {"threshold_bps": 2}
    assert body["created_by"] == "u-compliance"
    assert DBTaskResult.objects.count() == 1


def test_a_viewer_may_watch_but_not_start_or_cancel(done_run: ReplayRun, api: Any) -> None:
    viewer = api("viewer")
    resp = viewer.post("/api/replays/", {"incident": done_run.incident_id}, format="json")
    assert resp.status_code == 403
    assert viewer.get(f"/api/replays/{done_run.pk}/").json()["status"] == "done"
    assert viewer.post(f"/api/replays/{done_run.pk}/cancel").status_code == 403


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"sets": ["nonsense"]}, "PARAM=VALUE"),
        ({"path": "strat:99999999"}, "no event"),
        ({"stage": "dreaming"}, "stage"),
    ],
)
def test_bad_replay_options_get_a_clear_400(
    incident: Incident, api: Any, payload: dict[str, Any], message: str
) -> None:
    resp = api("compliance").post(
        "/api/replays/", {"incident": incident.pk, **payload}, format="json"
    )
    assert resp.status_code == 400
    assert message in resp.content.decode()
    assert not ReplayRun.objects.exists()


def test_steps_are_paged_by_number(done_run: ReplayRun, api: Any) -> None:
    c = api("viewer")
    body = c.get(f"/api/replays/{done_run.pk}/steps?after=10&limit=5").json()
    assert [s["n"] for s in body["steps"]] == [11, 12, 13, 14, 15]
    assert (body["from"], body["to"]) == (11, 15)
    tail = c.get(f"/api/replays/{done_run.pk}/steps?after={done_run.total_steps}").json()
    assert tail["steps"] == [] and tail["status"] == "done"
    assert c.get(f"/api/replays/{done_run.pk}/steps?limit=0").status_code == 400
    assert c.get(f"/api/replays/{done_run.pk}/steps?after=x").status_code == 400


def test_cancel_a_queued_run_then_cancel_again_is_a_conflict(incident: Incident, api: Any) -> None:
    run = ReplayRun.objects.create(incident=incident, params={})
    c = api("compliance")
    assert c.post(f"/api/replays/{run.pk}/cancel").json()["status"] == "cancelled"
    again = c.post(f"/api/replays/{run.pk}/cancel")
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]


def test_the_dag_window_has_lanes_nodes_around_the_cursor_and_causal_edges(
    done_run: ReplayRun, api: Any
) -> None:
    body = api("viewer").get(f"/api/replays/{done_run.pk}/dag?cursor=200&window=40").json()
    ns = [n["n"] for n in body["nodes"]]
    assert ns == list(range(160, 241))
    assert all(n["x"] == n["n"] for n in body["nodes"])
    assert {n["y"] for n in body["nodes"]} == set(range(len(body["lanes"])))
    assert body["edges"], "orders, reports and fills in the window are linked"
    window = set(ns)
    assert all(
        e["src"] in window and e["dst"] in window and e["src"] < e["dst"] for e in body["edges"]
    )


def test_an_unknown_run_is_404(api: Any, db: Any) -> None:
    assert api("viewer").get("/api/replays/999/").status_code == 404
