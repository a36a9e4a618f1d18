"""The thin database layer: an incident's captures, events and edges as plain values, fast.

Loading a million events is dominated by the sqlite3 module turning column values into Python
objects, so each capture is read with only the columns it needs (no incident or capture id per row),
in seq order off the unique ``(capture, seq)`` index, and its causes in the order of the
``edge_unique`` index (no sort step). Payloads are parsed with orjson; no ORM objects per event.
"""

from __future__ import annotations

import functools
import itertools
import logging
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from deltatrace.gcpause import gc_paused
from deltatrace.segments import Columns, Parents, SegmentError, segments_cover
from deltatrace.segments import unpack as unpack_segment
from replay.engine import CaptureInfo, IncidentData
from replay.merge import Ev
from replay.sandbox import ReplayError, ReplayRefused

# Each capture's events in seq order come off the unique (capture, seq) index; the merge's sort then
# only interleaves runs. Captures belong to one incident, the filter on it is only a safeguard.
EVENT_SQL = (
    "SELECT seq, kind, ts_ns, recv_ts_ns, hlc_l, hlc_c, host, lane, symbol, cl_ord_id, "
    "orig_cl_ord_id, order_id, exec_id, signal_id, plan_id, payload FROM deltatrace_event "
    "WHERE incident_id = %s AND capture_id = %s ORDER BY seq"
)
# What the merge and the clock checks need, for captures whose content the replay does not read.
LIGHT_SQL = (
    "SELECT seq, kind, ts_ns, hlc_l, hlc_c, host, lane FROM deltatrace_event "
    "WHERE incident_id = %s AND capture_id = %s ORDER BY seq"
)
# A capture's causes, in the order of the edge_unique index (dst_capture, dst_seq, src_capture,
# src_seq, kind): SQLite walks that index instead of sorting the incident's edges.
EDGE_SQL = (
    "SELECT dst_seq, src_capture_id, src_seq, kind FROM deltatrace_edge "
    "WHERE dst_capture_id = %s AND incident_id = %s "
    "ORDER BY dst_seq, src_capture_id, src_seq, kind"
)

# Event segments (deltatrace/segments.py): used when they account for the capture's rows exactly.
SEGMENT_META_SQL = (
    "SELECT first_seq, last_seq, events, edges FROM deltatrace_eventsegment "
    "WHERE capture_id = %s ORDER BY first_seq"
)
SEGMENT_DATA_SQL = (
    "SELECT data FROM deltatrace_eventsegment WHERE capture_id = %s ORDER BY first_seq"
)
COUNT_SQL = (
    "SELECT (SELECT COUNT(*) FROM deltatrace_event WHERE capture_id = %s), "
    "(SELECT COUNT(*) FROM deltatrace_edge WHERE dst_capture_id = %s)"
)

CHUNK = 50_000
log = logging.getLogger(__name__)
_NO_PARENTS: Parents = ()


def load_events(
    cursor: Any,
    incident_id: int,
    keys_by_id: dict[int, str],
    qmark: bool = False,
    light: frozenset[int] = frozenset(),
    segments: bool = True,
) -> list[Ev]:
    """Events of one incident from a DB-API cursor (``qmark`` for the sqlite3 module's ``?``).

    Events come capture by capture (in capture id order), each in seq order. Captures in ``light``
    come without keys and payloads (enough to merge and check clocks). A capture's event segments
    serve it when they cover its rows (``segments=False``: always read the rows).
    """
    fix = (lambda s: s.replace("%s", "?")) if qmark else (lambda s: s)
    out: list[Ev] = []
    with gc_paused():
        for cap_id in sorted(keys_by_id):
            if segments and _from_segments(
                cursor, fix, cap_id, keys_by_id, cap_id not in light, out
            ):
                continue
            log.debug("capture %s: read from its rows", keys_by_id[cap_id])
            parents = _parents(_rows(cursor, fix(EDGE_SQL), [cap_id, incident_id]), keys_by_id)
            key = keys_by_id[cap_id]
            if cap_id in light:
                _light_rows(_rows(cursor, fix(LIGHT_SQL), [incident_id, cap_id]), key, parents, out)
            else:
                _full_rows(_rows(cursor, fix(EVENT_SQL), [incident_id, cap_id]), key, parents, out)
    return out


def _from_segments(
    cursor: Any,
    fix: Callable[[str], str],
    cap_id: int,
    keys_by_id: dict[int, str],
    full: bool,
    out: list[Ev],
) -> bool:
    """Append the capture's events from its segments if they cover its rows; False otherwise."""
    cursor.execute(fix(SEGMENT_META_SQL), [cap_id])
    meta = cursor.fetchall()
    if not meta:
        return False
    cursor.execute(fix(COUNT_SQL), [cap_id, cap_id])
    events, edges = cursor.fetchone()
    if not segments_cover(meta, events, edges):
        return False
    key = keys_by_id[cap_id]
    evs: list[Ev] = []
    for (blob,) in _rows(cursor, fix(SEGMENT_DATA_SQL), [cap_id]):
        try:
            c = unpack_segment(blob, keys_by_id, full)
        except SegmentError as exc:
            # The rows are the record: a damaged segment costs speed, never the replay.
            log.warning("capture %s: %s; reading its rows instead", key, exc)
            return False
        _segment_events(key, c, full, evs)
    log.debug("capture %s: %d events from %d segments", key, len(evs), len(meta))
    out += evs
    return True


def _segment_events(key: str, c: Columns, full: bool, out: list[Ev]) -> None:
    """Columns -> events, as the row readers build them (light: no keys, payloads, receive times)."""
    seq, kind, ts, hl, hc, host, lane, parents = (
        c.seq,
        c.kind,
        c.ts_ns,
        c.hlc_l,
        c.hlc_c,
        c.host,
        c.lane,
        c.parents,
    )
    append = out.append
    if full:
        keys, payloads, recv = c.keys, c.payloads, c.recv_ts_ns
        for i in range(len(seq)):
            append(
                Ev(
                    key,
                    seq[i],
                    kind[i],
                    ts[i],
                    hl[i],
                    hc[i],
                    host[i],
                    lane[i],
                    keys[i],
                    payloads[i],
                    parents[i],
                    recv[i],
                )
            )
    else:
        for i in range(len(seq)):
            append(
                Ev(key, seq[i], kind[i], ts[i], hl[i], hc[i], host[i], lane[i], {}, {}, parents[i])
            )


def _rows(cursor: Any, sql: str, params: list[Any]) -> Iterable[tuple[Any, ...]]:
    """The result rows. On SQLite straight off the sqlite3 cursor (Django's wrapper sits on one):
    iterating it frees each row as it goes, cheaper than holding chunks of a million tuples."""
    inner = getattr(cursor, "cursor", cursor)
    if isinstance(inner, sqlite3.Cursor):
        inner.execute(sql, params)
        return inner
    cursor.execute(sql, params)
    return itertools.chain.from_iterable(iter(functools.partial(cursor.fetchmany, CHUNK), []))


def _parents(rows: Iterable[tuple[Any, ...]], keys_by_id: dict[int, str]) -> dict[int, Parents]:
    """seq -> causes (capture key, seq, edge kind) of one capture's events; causes in captures
    outside the incident are left out."""
    out: dict[int, Parents] = {}
    key_of = keys_by_id.get
    last = -1
    cur: Parents = ()
    for dseq, scap, sseq, kind in rows:
        src = key_of(scap)
        if src is None:
            continue
        # Rows come grouped by dst seq: most events have one cause, a few more.
        cur = (*cur, (src, sseq, kind)) if dseq == last else ((src, sseq, kind),)
        out[dseq] = cur
        last = dseq
    return out


def _light_rows(
    rows: Iterable[tuple[Any, ...]], key: str, parents: dict[int, Parents], out: list[Ev]
) -> None:
    append = out.append
    get_parents = parents.get
    none = _NO_PARENTS
    for seq, kind, ts, hl, hc, host, lane in rows:
        append(Ev(key, seq, kind, ts, hl, hc, host, lane, {}, {}, get_parents(seq, none)))


def _full_rows(
    rows: Iterable[tuple[Any, ...]], key: str, parents: dict[int, Parents], out: list[Ev]
) -> None:
    loads = orjson.loads
    append = out.append
    get_parents = parents.get
    none = _NO_PARENTS
    for seq, kind, ts, recv, hl, hc, host, lane, sym, cl, orig, oid, eid, sid, pid, payload in rows:
        if cl or orig or oid or eid or sid or pid:
            keys = _keys(sym, cl, orig, oid, eid, sid, pid)
        else:
            keys = {"symbol": sym} if sym else {}
        ps = get_parents(seq, none)
        append(Ev(key, seq, kind, ts, hl, hc, host, lane, keys, loads(payload), ps, recv))


def _keys(sym: str, cl: str, orig: str, oid: str, eid: str, sid: str, pid: str) -> dict[str, str]:
    """The non-empty correlation keys, in KEY_FIELDS order."""
    keys = {}
    for k, v in (
        ("symbol", sym),
        ("cl_ord_id", cl),
        ("orig_cl_ord_id", orig),
        ("order_id", oid),
        ("exec_id", eid),
        ("signal_id", sid),
        ("plan_id", pid),
    ):
        if v:
            keys[k] = v
    return keys


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
