"""Gather what a report says about an incident: the Django side of a build (plain values out).

Events are read with raw SQL (the ORM's per-row cost dominates at 100k events) and sanitized with the
audience's privacy policy before anything else sees them. The replay verdict, latency and approvals
come from their own areas; each is guarded so a missing or failing part says so in the report rather
than failing the build.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from django.apps import apps
from django.conf import settings
from django.db import connection

from deltatrace.capture_format import KEY_FIELDS
from deltatrace.models import Capture, Incident
from deltatrace.privacy import Policy, load_key

log = logging.getLogger(__name__)

EVENT_SQL = (
    "SELECT e.capture_id, e.seq, e.kind, e.ts_ns, e.recv_ts_ns, e.hlc_l, e.hlc_c, e.host, e.lane, "
    + ", ".join(f"e.{k}" for k in KEY_FIELDS)
    + ", e.payload, e.raw, e.digest FROM deltatrace_event e WHERE e.incident_id = %s"
    " ORDER BY e.hlc_l, e.hlc_c, e.host, e.capture_id, e.seq"
)
EDGE_SQL = (
    "SELECT dst_capture_id, dst_seq, src_capture_id, src_seq, kind FROM deltatrace_edge "
    "WHERE incident_id = %s ORDER BY dst_capture_id, dst_seq, src_capture_id, src_seq, kind"
)
PATH_KINDS = ("Fill", "ExecReport", "Order")


@dataclass
class ReportData:
    incident: dict[str, Any]
    captures: list[dict[str, Any]]
    events: list[dict[str, Any]]  # sanitized, capture-format dicts plus "capture", merged order
    policy: dict[str, Any]
    latency: dict[str, Any]
    replay: dict[str, Any]
    decision_path: list[dict[str, Any]]
    decision_path_of: str
    approvals: dict[str, Any] = field(default_factory=dict)


def incident_summary(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.pk,
        "name": incident.name,
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
        "description": incident.description,
        "start_ns": incident.start_ns,
        "end_ns": incident.end_ns,
        "event_count": incident.event_count,
        "quarantined_count": incident.quarantined_count,
    }


def captures_of(incident: Incident) -> list[dict[str, Any]]:
    return [
        {
            "key": c.key,
            "host": c.host,
            "adapter": c.adapter,
            "events": c.event_count,
            "quarantined": c.quarantined_count,
            "seq_gaps": c.seq_gaps,
            "digest": c.digest,
            "strategy": c.strategy or {},
        }
        for c in Capture.objects.filter(incident=incident).order_by("key")
    ]


def load_events(incident: Incident) -> list[dict[str, Any]]:
    """The incident's events as capture-format dicts with `capture` (key) and `parents`."""
    keys = dict(Capture.objects.filter(incident=incident).values_list("pk", "key"))
    parents: dict[tuple[int, int], list[dict[str, Any]]] = {}
    loads = orjson.loads
    with connection.cursor() as cur:
        cur.execute(EDGE_SQL, [incident.pk])
        for dcap, dseq, scap, sseq, kind in cur.fetchall():
            parents.setdefault((dcap, dseq), []).append(
                {"capture": keys.get(scap, str(scap)), "seq": sseq, "kind": kind}
            )
        cur.execute(EVENT_SQL, [incident.pk])
        out: list[dict[str, Any]] = []
        nk = len(KEY_FIELDS)
        while rows := cur.fetchmany(20_000):
            for r in rows:
                ev: dict[str, Any] = {
                    "capture": keys[r[0]],
                    "seq": r[1],
                    "kind": r[2],
                    "ts_ns": r[3],
                    "hlc": [r[5], r[6]],
                    "host": r[7],
                    "lane": r[8],
                    "keys": {k: v for k, v in zip(KEY_FIELDS, r[9 : 9 + nk], strict=True) if v},
                    "payload": loads(r[9 + nk] or "{}"),
                    "digest": r[11 + nk],
                }
                if r[4] is not None:
                    ev["recv_ts_ns"] = r[4]
                if r[10 + nk] is not None:
                    ev["raw"] = r[10 + nk]
                ps = parents.get((r[0], r[1]))
                if ps:
                    ev["parents"] = ps
                out.append(ev)
    return out


def sanitize(
    events: list[dict[str, Any]], audience: str
) -> tuple[list[dict[str, Any]], Policy, dict[str, str]]:
    """Apply the default policy for ``audience`` (pseudonyms keyed like ingest's).

    Also returns what each changed identifier became (raw -> token), so identifiers quoted inside
    free text (a replay issue's "order S1-0001") can be replaced the same way.
    """
    policy = Policy.load("default").for_audience(audience)
    key = load_key(Path(settings.DATA_DIR) / "privacy.key")
    apply = policy.apply_event
    out = [apply(e, key) for e in events]
    renamed: dict[str, str] = {}
    for before, after in zip(events, out, strict=True):
        if before is after:
            continue
        ka, kb = before.get("keys") or {}, after.get("keys") or {}
        for name, value in ka.items():
            new = kb.get(name)
            if new != value:
                renamed[str(value)] = str(new) if new is not None else "[removed]"
        pa, pb = before.get("payload") or {}, after.get("payload") or {}
        for name, value in pa.items():
            if type(value) is str and pb.get(name) != value:
                renamed[value] = str(pb[name]) if name in pb else "[removed]"
    return out, policy, renamed


def latency(incident: Incident) -> dict[str, Any]:
    from deltatrace.latency import incident_latency_stats

    try:
        return incident_latency_stats(incident.pk)
    except Exception as exc:  # a report must still be issued; it says what is missing
        log.exception("latency for report failed")
        return {"orders": 0, "hops": {}, "error": str(exc)}


def replay_verdict(incident: Incident) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """(verdict, decision path, what the path explains). Never raises: failures are reported."""
    try:
        from replay.engine import decision_path, replay
        from replay.load import load_incident

        data = load_incident(incident)
        verdict = replay(data)
    except Exception as exc:  # the replay area's errors, or an engine still being finished
        return {"status": "unavailable", "reason": f"{type(exc).__name__}: {exc}"}, [], ""
    first = verdict.get("first_divergence") or {}
    if first.get("recorded_path"):
        return verdict, first["recorded_path"], "the first divergence (as recorded)"
    by_ref = {ev.ref: ev for ev in data.events}
    cap, _, seq = str(first.get("ref", "")).rpartition(":")
    if seq.isdigit() and (cap, int(seq)) in by_ref:  # a lifecycle divergence: explain that event
        return (
            verdict,
            decision_path(by_ref, {}, (cap, int(seq))),
            f"the first divergence ({cap}:{seq})",
        )
    for kind in PATH_KINDS:
        last = next((ev for ev in reversed(data.events) if ev.kind == kind), None)
        if last is not None:
            ref = f"{last.capture}:{last.seq}"
            return verdict, decision_path(by_ref, {}, last.ref), f"the last {kind} ({ref})"
    return verdict, [], ""


def approvals(incident: Incident) -> dict[str, Any]:
    """Triggers of this incident with their signed approvals, when the approvals app is present."""
    if not apps.is_installed("ledger.approvals"):
        return {"status": "none", "note": "the approvals app is not installed", "triggers": []}
    from deltatrace.canonical import strict_jcs
    from ledger.approvals.models import Trigger

    triggers = []
    signed = []
    qs = Trigger.objects.filter(incident=incident).select_related("proposer").order_by("pk")
    for t in qs.prefetch_related("approvals__key", "approvals__user"):
        triggers.append(
            {
                "id": t.pk,
                "kind": t.kind,
                "summary": t.summary,
                "status": t.status,
                "proposer": t.proposer.get_username(),
                "digest": t.digest,
                "content": t.content,
                "content_canonical": strict_jcs(t.content).decode(),
                "proposed_index": t.proposed_index,
                "executed_index": t.executed_index,
                "result": t.result,
            }
        )
        for a in t.approvals.all():
            signed.append(
                {
                    "trigger": t.pk,
                    "approver": a.user.get_username(),
                    "decision": a.decision,
                    "key_id": a.key.key_id,
                    "public_key": _b64(bytes(a.key.public_key)),
                    "statement": a.statement,
                    "signature": a.signature,
                    "ledger_index": a.ledger_index,
                }
            )
    if not triggers:
        return {"status": "none", "note": "no triggers for this incident", "triggers": []}
    return {"status": "present", "triggers": triggers, "approvals": signed}


def _b64(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode()


_TOKEN = re.compile(r"[A-Za-z0-9_.:/+-]+")


def _scrub(value: Any, policy: Policy, key: bytes, renamed: dict[str, str]) -> Any:
    """Apply the policy to every event-shaped dict inside a verdict or decision path, and replace
    identifiers the policy changed wherever else they appear (messages, order names)."""
    if isinstance(value, list):
        return [_scrub(v, policy, key, renamed) for v in value]
    if isinstance(value, dict):
        if "payload" in value and "kind" in value:
            value = policy.apply_event(value, key)
        return {k: _scrub(v, policy, key, renamed) for k, v in value.items()}
    if isinstance(value, str) and renamed:
        return _TOKEN.sub(lambda m: renamed.get(m.group(), m.group()), value)
    return value


def gather(incident: Incident, audience: str) -> ReportData:
    events, policy, renamed = sanitize(load_events(incident), audience)
    verdict, path, path_of = replay_verdict(incident)
    # The verdict and path come from raw rows: the audience's policy applies to them too.
    key = load_key(Path(settings.DATA_DIR) / "privacy.key")
    verdict, path = _scrub(verdict, policy, key, renamed), _scrub(path, policy, key, renamed)
    path_of = _scrub(path_of, policy, key, renamed)
    return ReportData(
        incident=incident_summary(incident),
        captures=captures_of(incident),
        events=events,
        policy=policy.identity(),
        latency=latency(incident),
        replay=verdict,
        decision_path=path,
        decision_path_of=path_of,
        approvals=approvals(incident),
    )
