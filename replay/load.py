"""The thin database layer: an incident's captures, events and edges as plain values, fast.

Events are read with one raw ``SELECT ... ORDER BY`` (already close to the merge order, so the merge's
sort has little to do) and payloads parsed with orjson; no ORM objects per event.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from replay.engine import CaptureInfo, IncidentData, gc_paused
from replay.merge import Ev
from replay.sandbox import ReplayError, ReplayRefused

# Per-capture seq order comes off the unique index; the merge's sort then only interleaves runs.
EVENT_SQL = (
    "SELECT capture_id, seq, kind, ts_ns, recv_ts_ns, hlc_l, hlc_c, host, lane, symbol, cl_ord_id, "
    "orig_cl_ord_id, order_id, exec_id, signal_id, plan_id, payload FROM deltatrace_event "
    "WHERE incident_id = %s AND capture_id = %s ORDER BY seq"
)
# What the merge and the clock checks need, for captures whose content the replay does not read.
LIGHT_SQL = (
    "SELECT capture_id, seq, kind, ts_ns, hlc_l, hlc_c, host, lane FROM deltatrace_event "
    "WHERE incident_id = %s AND capture_id = %s ORDER BY seq"
)
EDGE_SQL = (
    "SELECT dst_capture_id, dst_seq, src_capture_id, src_seq, kind FROM deltatrace_edge "
    "WHERE incident_id = %s ORDER BY dst_capture_id, dst_seq, src_capture_id, src_seq, kind"
)


def load_events(
    cursor: Any,
    incident_id: int,
    keys_by_id: dict[int, str],
    qmark: bool = False,
    light: frozenset[int] = frozenset(),
) -> list[Ev]:
    """Events of one incident from a DB-API cursor (``qmark`` for the sqlite3 module's ``?``).

    Captures in ``light`` come without keys and payloads (enough to merge and check clocks).
    """
    with gc_paused():
        return _load_events(cursor, incident_id, keys_by_id, qmark, light)


def _load_events(
    cursor: Any,
    incident_id: int,
    keys_by_id: dict[int, str],
    qmark: bool,
    light: frozenset[int],
) -> list[Ev]:
    fix = (lambda s: s.replace("%s", "?")) if qmark else (lambda s: s)
    cursor.execute(fix(EDGE_SQL), [incident_id])
    # capture id -> seq -> causes: int keys, no tuple per lookup.
    parents: dict[int, dict[int, list[tuple[str, int, str]]]] = {c: {} for c in keys_by_id}
    for dcap, dseq, scap, sseq, kind in cursor.fetchall():
        src = keys_by_id.get(scap)
        if src is not None and dcap in parents:
            parents[dcap].setdefault(dseq, []).append((src, sseq, kind))
    out: list[Ev] = []
    append = out.append
    empty: tuple[tuple[str, int, str], ...] = ()
    for cap_id in sorted(keys_by_id):
        if cap_id not in light:
            _load_full(
                cursor, fix(EVENT_SQL), incident_id, cap_id, keys_by_id, parents[cap_id], out
            )
            continue
        key = keys_by_id[cap_id]
        get_parents = parents[cap_id].get
        cursor.execute(fix(LIGHT_SQL), [incident_id, cap_id])
        while True:
            rows = cursor.fetchmany(20000)
            if not rows:
                break
            for _cap, seq, kind, ts, hl, hc, host, lane in rows:
                ps = get_parents(seq)
                append(
                    Ev(key, seq, kind, ts, hl, hc, host, lane, {}, {}, tuple(ps) if ps else empty)
                )
    return out


def _load_full(
    cursor: Any,
    sql: str,
    incident_id: int,
    cap_id: int,
    keys_by_id: dict[int, str],
    cap_parents: dict[int, list[tuple[str, int, str]]],
    out: list[Ev],
) -> None:
    cursor.execute(sql, [incident_id, cap_id])
    loads = orjson.loads
    append = out.append
    empty: tuple[tuple[str, int, str], ...] = ()
    key = keys_by_id[cap_id]
    get_parents = cap_parents.get
    while True:
        rows = cursor.fetchmany(20000)
        if not rows:
            break
        for (
            _cap,
            seq,
            kind,
            ts,
            recv,
            hl,
            hc,
            host,
            lane,
            sym,
            cl,
            orig,
            oid,
            eid,
            sid,
            pid,
            payload,
        ) in rows:
            if cl or orig or oid or eid or sid or pid:
                keys = {
                    k: v
                    for k, v in (
                        ("symbol", sym),
                        ("cl_ord_id", cl),
                        ("orig_cl_ord_id", orig),
                        ("order_id", oid),
                        ("exec_id", eid),
                        ("signal_id", sid),
                        ("plan_id", pid),
                    )
                    if v
                }
            else:
                keys = {"symbol": sym} if sym else {}
            ps = get_parents(seq)
            append(
                Ev(
                    key,
                    seq,
                    kind,
                    ts,
                    hl,
                    hc,
                    host,
                    lane,
                    keys,
                    loads(payload),
                    tuple(ps) if ps else empty,
                    recv,
                )
            )


def privacy_transforms(
    data: IncidentData,
) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
    """For each strategy capture ingest sanitized (``meta.privacy``), the same policy and key, so
    replayed outputs are pseudonymized exactly as the recorded ones were."""
    from django.conf import settings

    from deltatrace.privacy import Policy, PolicyError, load_key

    out: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
    for cap in data.captures:
        info = cap.meta.get("privacy") if cap.strategy.get("name") else None
        if not isinstance(info, dict) or not info.get("name"):
            continue
        try:
            policy = Policy.load(info["name"])
            if info.get("audience"):
                policy = policy.for_audience(info["audience"])
            key = load_key(Path(settings.DATA_DIR) / "privacy.key", create=False)
        except PolicyError as exc:
            raise ReplayRefused(
                f"capture {cap.key} was sanitized by privacy policy {info['name']!r} at ingest, "
                f"which cannot be applied to the replay: {exc}"
            ) from None
        if info.get("digest") and policy.digest() != info["digest"]:
            raise ReplayRefused(
                f"capture {cap.key}: privacy policy {info['name']!r} changed since ingest "
                f"(digest {policy.digest()} vs recorded {info['digest']})"
            )
        out[cap.key] = functools.partial(_apply_policy, policy, key)
    return out


def _apply_policy(policy: Any, key: bytes, ev: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = policy.apply_event(ev, key)
    return result


def resolve_incident(ref: str | int) -> Any:
    """An Incident by id or unique name; ReplayError with a clear message otherwise."""
    from deltatrace.models import Incident

    text = str(ref).strip()
    inc = Incident.objects.filter(name=text).first()
    if inc is None and text.isdigit():
        inc = Incident.objects.filter(pk=int(text)).first()
    if inc is None:
        raise ReplayError(f"unknown incident {text!r} (give an incident id or its name)")
    return inc


def load_incident(incident: Any, full: bool = True) -> IncidentData:
    """The incident as plain values. ``full=False``: only strategy captures carry keys and payloads
    (all a strategy replay reads; lifecycle and path replays need ``full``)."""
    from django.db import connection

    from deltatrace.models import Capture

    caps = list(Capture.objects.filter(incident=incident).order_by("key"))
    infos = [
        CaptureInfo(c.key, c.host, c.adapter, c.clock or {}, c.strategy or {}, c.meta or {})
        for c in caps
    ]
    keys_by_id = {c.pk: c.key for c in caps}
    light: frozenset[int] = frozenset()
    if not full and any(c.strategy.get("name") for c in caps):
        light = frozenset(c.pk for c in caps if not c.strategy.get("name"))
    with connection.cursor() as cur:
        events = load_events(cur, incident.pk, keys_by_id, light=light)
    data = IncidentData(incident.name, infos, events)
    for key, transform in privacy_transforms(data).items():
        next(c for c in infos if c.key == key).output_transform = transform
    return data


def resolve_event_ref(incident: Any, text: str) -> str:
    """``capture:seq`` (capture key or id) or an event id -> ``key:seq`` for the engine."""
    from deltatrace.models import Capture, Event

    text = text.strip()
    cap, sep, seq = text.rpartition(":")
    if sep and seq.isdigit():
        c = Capture.objects.filter(incident=incident, key=cap).first()
        if c is None and cap.isdigit():
            c = Capture.objects.filter(incident=incident, pk=int(cap)).first()
        if c is None:
            raise ReplayError(f"no capture {cap!r} in incident {incident.name}")
        return f"{c.key}:{int(seq)}"
    if text.isdigit():
        ev = Event.objects.filter(incident=incident, pk=int(text)).select_related("capture").first()
        if ev is None:
            raise ReplayError(f"no event with id {text} in incident {incident.name}")
        return f"{ev.capture.key}:{ev.seq}"
    raise ReplayError(f"--path expects CAPTURE:SEQ or an event id, got {text!r}")
