"""The background runner: claim, steps in order, cancel, restart recovery, the db_worker path."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from deltatrace.models import Incident
from replay.engine import Options, replay, replay_traced
from replay.load import load_incident
from replay.models import ReplayRun, ReplayStep
from replay.tasks import (
    BATCH,
    derive_steps,
    execute,
    options_for,
    requeue_stale,
    start_replay,
)


def test_a_finished_run_stores_gap_free_steps_and_the_engines_verdict(
    incident: Incident, done_run: ReplayRun
) -> None:
    ns = list(ReplayStep.objects.filter(run=done_run).values_list("n", flat=True))
    assert ns == list(range(1, len(ns) + 1))
    assert done_run.status == "done" and done_run.progress == 1.0
    assert done_run.total_steps == len(ns) == incident.event_count
    expected = replay(load_incident(incident), Options())
    assert done_run.verdict["status"] == "identical"
    assert done_run.run_digest == expected["run_digest"]
    outputs = ReplayStep.objects.filter(run=done_run, match__isnull=False)
    assert outputs.count() == expected["outputs_compared"]
    assert not outputs.filter(match=False).exists()
    # Steps point at the recorded events they replay.
    step = outputs.first()
    assert step is not None and step.event is not None and step.event.kind == step.kind
    # And the verdict is on the record in the governance ledger.
    from ledger.models import LedgerEntry

    entry = LedgerEntry.objects.filter(type="replay.verdict").latest("index").as_dict()
    assert entry["subject"] == done_run.run_digest
    assert entry["payload"]["status"] == "identical"


def test_a_what_if_run_marks_the_diverging_steps_with_both_sides(incident: Incident) -> None:
    run = ReplayRun.objects.create(
        incident=incident, params={"stage": "all", "sets": {"threshold_bps": 1}}
    )
    assert execute(run.pk) == "done"
    run.refresh_from_db()
    assert run.verdict["status"] == "diverged"
    bad = ReplayStep.objects.filter(run=run, match=False).order_by("n").first()
    assert bad is not None
    assert bad.summary.get("replayed") is not None or bad.replayed_digest == ""


def test_a_run_is_claimed_by_one_worker_only(incident: Incident) -> None:
    run = ReplayRun.objects.create(incident=incident, params={})
    token = run.claim()
    assert token is not None
    assert run.claim() is None  # a second worker gets nothing
    assert execute(run.pk) == "not claimed"
    assert not ReplayStep.objects.filter(run=run).exists()


def test_a_cancelled_run_stops_at_its_next_batch(incident: Incident, monkeypatch: Any) -> None:
    import replay.tasks as tasks

    run = ReplayRun.objects.create(incident=incident, params={})
    monkeypatch.setattr(tasks, "BATCH", 50)
    seen: list[int] = []

    def notify(run_id: int, message: dict[str, Any]) -> None:
        if message["type"] == "steps.available":
            seen.append(message["last"])
            if len(seen) == 2:  # someone presses cancel after the second batch is stored
                ReplayRun.objects.get(pk=run_id).cancel()

    monkeypatch.setattr(tasks, "notify", notify)
    assert execute(run.pk) == "lost"
    run.refresh_from_db()
    assert run.status == "cancelled" and run.finished is not None
    # The worker stopped at its next batch; what it stored is whole, numbered batches.
    assert seen == [50, 100]
    assert ReplayStep.objects.filter(run=run).count() == 100


def test_a_run_left_running_by_a_dead_worker_is_requeued_and_resumes(
    incident: Incident,
) -> None:
    complete = ReplayRun.objects.create(incident=incident, params={})
    execute(complete.pk)
    expected = list(ReplayStep.objects.filter(run=complete).values_list("ref", "match"))

    run = ReplayRun.objects.create(incident=incident, params={})
    assert run.claim() is not None
    # The dead worker had written the first 100 steps, then its heartbeat stopped.
    for s in ReplayStep.objects.filter(run=complete, n__lte=100):
        s.pk, s.run = None, run
        s.save()
    ReplayRun.objects.filter(pk=run.pk).update(heartbeat=timezone.now() - timedelta(hours=1))
    from django_tasks_db.models import DBTaskResult

    before = DBTaskResult.objects.count()
    assert requeue_stale() == [run.pk]
    assert DBTaskResult.objects.count() == before + 1  # a fresh task for a live worker
    run.refresh_from_db()
    assert run.status == "queued"
    assert execute(run.pk) == "done"
    got = list(ReplayStep.objects.filter(run=run).order_by("n").values_list("ref", "match"))
    assert got == expected
    assert ReplayRun.objects.get(pk=run.pk).attempts == 2


def test_a_healthy_running_run_is_not_requeued(incident: Incident) -> None:
    run = ReplayRun.objects.create(incident=incident, params={})
    run.claim()
    assert requeue_stale() == []


def test_start_replay_enqueues_a_task_that_db_worker_runs(incident: Incident) -> None:
    run = start_replay(incident, {"stage": "all", "sets": {}, "path": None, "force": False})
    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.count() == 1
    call_command("db_worker", "--batch", "--queue-name", "*", "--no-startup-delay", verbosity=0)
    run.refresh_from_db()
    assert run.status == "done"
    assert run.steps_written == run.total_steps > BATCH // 10


def test_an_unreplayable_run_fails_with_a_clear_error(incident: Incident) -> None:
    run = ReplayRun.objects.create(incident=incident, params={"sets": {"no_such_param": 3}})
    assert execute(run.pk) == "failed"
    run.refresh_from_db()
    assert run.status == "failed" and "no_such_param" in run.error


@pytest.mark.parametrize("stage", ["executor"])
def test_a_stage_run_compares_only_that_stage(incident: Incident, stage: str) -> None:
    run = ReplayRun.objects.create(incident=incident, params={"stage": stage})
    execute(run.pk)
    run.refresh_from_db()
    kinds = set(
        ReplayStep.objects.filter(run=run, match__isnull=False).values_list("kind", flat=True)
    )
    assert kinds == {"Order"}


@pytest.mark.parametrize(
    "params", [{}, {"sets": {"threshold_bps": 1}}, {"stage": "executor"}], ids=str
)
def test_steps_from_the_verdicts_own_run_equal_steps_worked_out_again(
    incident: Incident, params: dict[str, Any]
) -> None:
    data = load_incident(incident)
    opts = options_for(incident, params)
    verdict, trace = replay_traced(data, opts)
    assert verdict == replay(data, options_for(incident, params))
    reused = list(derive_steps(data, opts, verdict, trace))
    again = list(derive_steps(data, opts, verdict))
    assert reused == again
    assert len(reused) >= incident.event_count  # what-ifs add the outputs only the replay made
    assert any(s["match"] is not None for s in reused)


def test_a_run_replays_each_strategy_once(incident: Incident, monkeypatch: Any) -> None:
    from replay import engine, tasks

    # Every re-run of a strategy capture starts by resolving its recorded strategy header (the
    # engine may run compiled, so its internal calls are counted where it looks up the resolver).
    calls: list[int] = []
    real = engine.resolve_strategy

    def counting(header: Any, *args: Any, **kw: Any) -> Any:
        calls.append(id(header))
        return real(header, *args, **kw)

    monkeypatch.setattr(engine, "resolve_strategy", counting)
    monkeypatch.setattr(tasks, "resolve_strategy", counting, raising=False)
    run = ReplayRun.objects.create(incident=incident, params={})
    assert execute(run.pk) == "done"
    assert calls and len(calls) == len(set(calls))
