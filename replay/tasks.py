"""Background replay runs: a django-tasks task on the database backend (``deltatrace db_worker``).

A run is claimed with a conditional UPDATE (queued -> running, with a worker token), so any number of
workers can pick up the same task without running it twice. Steps are derived deterministically from
the engine's merge and sandboxed re-run, written in numbered batches, and after each batch commits the
run's channel group is told (notification only: viewers read the steps from the database). Every batch
also writes a heartbeat conditional on the worker token: a cancel (or a takeover) makes it match no
row, the batch rolls back and the worker stops. A run left ``running`` by a dead worker is re-queued
(``requeue_stale``) and resumes after its last stored step: replay is deterministic, so the steps
computed again are the same ones.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from functools import partial
from typing import Any

import orjson
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django_tasks import task

from adapters.strategies.base import OUTPUT_KINDS
from deltatrace.gcpause import gc_paused
from deltatrace.live import group_send
from deltatrace.models import Event, Incident
from replay import lifecycle
from replay.compare import Node, field_diff, norm_keys
from replay.engine import (
    IncidentData,
    Options,
    Trace,
    replay_traced,
    run_strategy,
)
from replay.load import load_incident, resolve_event_ref
from replay.merge import merge
from replay.models import STALE_AFTER, ReplayRun, ReplayStep, group_name
from replay.records import log_verdict
from replay.sandbox import ReplayError

log = logging.getLogger(__name__)
BATCH = 2000


class LostRun(Exception):
    """The run was cancelled or taken over while this worker held it."""


# --- the pure part: steps from an incident --------------------------------------------------------
def derive_steps(
    data: IncidentData, opts: Options, verdict: dict[str, Any], trace: Trace | None = None
) -> Iterator[dict[str, Any]]:
    """Step dicts (without ``n``) in merged order; deterministic for the same data and options.

    ``trace`` is what computing ``verdict`` already worked out (``replay_traced``); without it the
    merge and the strategies run again, with the same outcome."""
    if verdict.get("path") is not None:
        status = {"matched": True, "diverged": False}
        for node in verdict["path"]:
            yield {
                "ref": node["ref"],
                "kind": node["kind"],
                "host": node.get("host", ""),
                "lane": node["lane"],
                "ts_ns": node.get("ts_ns"),
                "match": status.get(node["replay"]),
                "summary": {"keys": node["keys"], "payload": node["payload"]},
            }
        return
    offsets = {
        c.key: int(c.clock["max_offset_ns"])
        for c in data.captures
        if isinstance(c.clock.get("max_offset_ns"), int)
    }
    if trace is not None and opts.path is None:
        merged = trace.merged
    else:
        trace = None
        merged = merge(data.events, tiers=opts.tiers, max_offset_ns=offsets).events
    caps = sorted((c for c in data.captures if c.strategy.get("name")), key=lambda c: c.key)
    pairs: dict[tuple[str, int], tuple[Node, Node | None]] = {}
    extras: list[Node] = []
    issues: dict[tuple[str, int], str] = {}
    if caps:
        if trace is not None:
            runs = trace.runs
        else:
            per_cap: dict[str, list[Any]] = {c.key: [] for c in caps}
            for ev in merged:
                if ev.capture in per_cap:
                    per_cap[ev.capture].append(ev)
            quiet = Options(
                stage=opts.stage,
                sets=opts.sets,
                force=opts.force,
                tiers=opts.tiers,
                transforms=opts.transforms,
            )
            runs = [run_strategy(c, per_cap[c.key], quiet) for c in caps]
        recorded = [n for r in runs for n in r.recorded]
        replayed = [n for r in runs for n in r.replayed]
        for i, rec in enumerate(recorded):
            pairs[rec.ref] = (rec, replayed[i] if i < len(replayed) else None)
        extras = replayed[len(recorded) :]
    else:
        found = trace.issues if trace is not None else None
        if found is None:
            found = lifecycle.check(merged).issues
        issues = {i.ref: i.message for i in found}
    for ev in merged:
        step: dict[str, Any] = {
            "ref": f"{ev.capture}:{ev.seq}",
            "kind": ev.kind,
            "host": ev.host,
            "lane": ev.lane,
            "ts_ns": ev.ts_ns,
            "match": None,
            "summary": {"keys": ev.keys},
        }
        pair = pairs.get(ev.ref)
        if pair is not None:
            rec, rep = pair
            step["recorded_digest"] = rec.digest
            step["replayed_digest"] = rep.digest if rep else ""
            step["match"] = rep is not None and rep.digest == rec.digest
            step["summary"]["payload"] = rec.payload
            if not step["match"]:
                step["summary"]["replayed"] = _side(rep)
                step["summary"]["diff"] = _diff(rec, rep)
        elif ev.kind in OUTPUT_KINDS:
            step["summary"]["payload"] = ev.payload
        if ev.ref in issues:
            step["match"] = False
            step["summary"]["issue"] = issues[ev.ref]
        yield step
    for rep in extras:
        yield {
            "ref": "",
            "kind": rep.kind,
            "host": "",
            "lane": rep.lane,
            "ts_ns": None,
            "match": False,
            "replayed_digest": rep.digest,
            "summary": {"keys": rep.keys, "replayed": _side(rep), "extra": True},
        }


def _side(node: Node | None) -> dict[str, Any] | None:
    if node is None:
        return None
    return {"kind": node.kind, "keys": norm_keys(node.keys), "payload": node.payload}


def _diff(rec: Node, rep: Node | None) -> list[dict[str, Any]]:
    if rep is None:
        return []
    return field_diff(_side(rec), _side(rep))


# --- the Django part ------------------------------------------------------------------------------
def notify(run_id: int, message: dict[str, Any]) -> None:
    """Tell the run's viewers (best effort: the layer may drop it; viewers also poll)."""
    group_send(group_name(run_id), message)


def start_replay(incident: Incident, params: dict[str, Any], user: Any = None) -> ReplayRun:
    """Create a queued run and enqueue its task once the row is committed."""
    with transaction.atomic():
        run = ReplayRun.objects.create(
            incident=incident,
            params=params,
            created_by=user if user is not None and user.is_authenticated else None,
        )
        transaction.on_commit(partial(enqueue, run.pk))
    return run


def enqueue(run_id: int) -> None:
    run_replay.enqueue(run_id)


def requeue_stale() -> list[int]:
    """Re-queue runs whose worker stopped writing heartbeats (a crash or a server restart)."""
    cutoff = timezone.now() - STALE_AFTER
    stale = ReplayRun.objects.filter(status=ReplayRun.RUNNING, heartbeat__lt=cutoff)
    out = []
    for pk in stale.values_list("pk", flat=True):
        with transaction.atomic():
            n = ReplayRun.objects.filter(
                pk=pk, status=ReplayRun.RUNNING, heartbeat__lt=cutoff
            ).update(status=ReplayRun.QUEUED, worker="", phase="re-queued: its worker stopped")
            if n:
                transaction.on_commit(partial(enqueue, pk))
                out.append(pk)
    return out


@task()
def run_replay(run_id: int) -> str:
    """The task body: claim and execute one run (a no-op if it is not queued any more)."""
    return execute(run_id)


def _beat(run_id: int, token: str, **fields: Any) -> None:
    n = ReplayRun.objects.filter(pk=run_id, status=ReplayRun.RUNNING, worker=token).update(
        heartbeat=timezone.now(), **fields
    )
    if n != 1:
        raise LostRun(run_id)


def execute(run_id: int) -> str:
    requeue_stale()
    run = ReplayRun.objects.select_related("incident").filter(pk=run_id).first()
    if run is None:
        return "missing"
    token = run.claim()
    if token is None:
        return "not claimed"
    notify(run_id, {"type": "run.status"})
    try:
        _execute(run, token)
    except LostRun:
        return "lost"
    except ReplayError as exc:
        _finish(run_id, token, ReplayRun.FAILED, error=str(exc))
        return "failed"
    except Exception as exc:
        log.exception("replay %s failed", run_id)
        _finish(
            run_id, token, ReplayRun.FAILED, error=f"internal error: {type(exc).__name__}: {exc}"
        )
        return "failed"
    return "done"


def _finish(run_id: int, token: str, status: str, **fields: Any) -> None:
    ReplayRun.objects.filter(pk=run_id, status=ReplayRun.RUNNING, worker=token).update(
        status=status, finished=timezone.now(), heartbeat=timezone.now(), **fields
    )
    notify(run_id, {"type": "run.status"})


def options_for(incident: Incident, params: dict[str, Any]) -> Options:
    path = params.get("path")
    return Options(
        stage=str(params.get("stage") or "all"),
        path=resolve_event_ref(incident, str(path)) if path else None,
        sets=dict(params.get("sets") or {}),
        force=bool(params.get("force")),
    )


def _execute(run: ReplayRun, token: str) -> None:
    run_id = run.pk
    _beat(run_id, token, phase="loading events", progress=0.01)
    data = load_incident(run.incident)
    opts = options_for(run.incident, run.params)

    def progress(done: int, total: int) -> None:
        _beat(run_id, token, phase="re-running", progress=0.05 + 0.35 * done / max(total, 1))

    opts.progress = progress
    verdict, trace = replay_traced(data, opts)
    _beat(run_id, token, phase="computing steps", progress=0.4)
    # A million step dicts stay alive until written: the cyclic GC would walk them again and again
    # (measured: 4x slower steps); they are plain data, freed by reference counting.
    with gc_paused():
        steps = list(derive_steps(data, opts, verdict, trace))
        del data, trace
        _write_steps(run, token, steps)
    with transaction.atomic():
        # Every verdict someone obtained is on the record, as from `deltatrace replay`.
        actor = run.created_by.get_username() if run.created_by else "replay-worker"
        log_verdict(run.incident, verdict, actor)
        _beat(
            run_id,
            token,
            status=ReplayRun.DONE,
            progress=1.0,
            phase="",
            verdict=verdict,
            run_digest=verdict.get("run_digest", ""),
            finished=timezone.now(),
        )
        transaction.on_commit(partial(notify, run_id, {"type": "run.status"}))


def _write_steps(run: ReplayRun, token: str, steps: list[dict[str, Any]]) -> None:
    """Steps in batches, each its own transaction, announced to viewers once committed; resumes
    after the last step a previous attempt wrote."""
    run_id = run.pk
    total = len(steps)
    done = ReplayStep.objects.filter(run_id=run_id).aggregate(m=Max("n"))["m"] or 0
    event_ids = dict(
        ((key, seq), pk)
        for key, seq, pk in Event.objects.filter(incident_id=run.incident_id).values_list(
            "capture__key", "seq", "pk"
        )
    )
    _beat(run_id, token, phase="writing steps", total_steps=total, steps_written=done)
    for start in range(done, total, BATCH):
        batch = steps[start : start + BATCH]
        last = start + len(batch)
        with transaction.atomic():
            _insert_steps([_row(run_id, start + i + 1, s, event_ids) for i, s in enumerate(batch)])
            _beat(run_id, token, steps_written=last, progress=0.4 + 0.6 * last / max(total, 1))
            transaction.on_commit(
                partial(notify, run_id, {"type": "steps.available", "last": last})
            )


def _row(
    run_id: int, n: int, s: dict[str, Any], event_ids: dict[tuple[str, int], int]
) -> tuple[Any, ...]:
    key, _, seq = s["ref"].rpartition(":")
    event_id = event_ids.get((key, int(seq))) if seq.isdigit() else None
    return (
        run_id,
        n,
        event_id,
        s["ref"],
        s["kind"],
        s["host"],
        s["lane"],
        s["ts_ns"],
        s.get("recorded_digest", ""),
        s.get("replayed_digest", ""),
        s["match"],
        _json(s["summary"]),
    )


_STEP_COLS = (
    "run_id, n, event_id, ref, kind, host, lane, ts_ns, recorded_digest, replayed_digest, match, "
    "summary"
)


def _insert_steps(rows: list[tuple[Any, ...]]) -> None:
    """One executemany per batch: a million steps through bulk_create took 41 s, mostly spent
    building model instances and running field conversions the rows do not need."""
    from django.db import connection

    summary = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    params = ", ".join(["%s"] * (len(rows[0]) - 1) + [summary])
    with connection.cursor() as cur:
        cur.executemany(f"INSERT INTO replay_replaystep ({_STEP_COLS}) VALUES ({params})", rows)


def _json(value: Any) -> str:
    # JSONField's own encoding is json.dumps; orjson gives the same JSON values, faster, and
    # json.dumps takes over for integers beyond 64 bits, which orjson refuses.
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)
