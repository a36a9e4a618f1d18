"""Synthetic incidents for tests and the benchmark: a feed, a momentum strategy host and a venue.

The strategy host's capture is made by actually driving the reference strategy exactly as a recording
host would (``Strategy.handle``), so an untouched synthetic incident replays identically.
"""

from __future__ import annotations

import random
from typing import Any

import orjson

from adapters.strategies.base import Context, StrategyEvent, edge_kind
from adapters.strategies.momentum import Momentum
from deltatrace.capture_format import KEY_FIELDS
from deltatrace.segments import INSERT_SQL as SEGMENT_INSERT_SQL
from deltatrace.segments import pack
from replay.engine import CaptureInfo, IncidentData
from replay.merge import Ev, merge

T0 = 1_767_225_600_000_000_000
TICK_NS = 1_000_000  # one tick per ms
WIRE_NS = 20_000  # feed -> strategy latency


def _ticks(n: int, rng: random.Random) -> list[tuple[str, str]]:
    """(bid, ask) decimal strings of a trending random walk, in cents."""
    out = []
    mid, drift = 10_000, 0
    for i in range(n):
        if i % 200 == 0:
            drift = rng.choice((-2, -1, 0, 1, 2))
        mid = max(1_000, mid + drift + rng.randint(-3, 3))
        bid, ask = mid - 1, mid + 1
        out.append((f"{bid // 100}.{bid % 100:02d}", f"{ask // 100}.{ask % 100:02d}"))
    return out


def synth_incident(
    ticks: int,
    seed: int = 7,
    *,
    skew_ns: int = 0,
    params: dict[str, Any] | None = None,
    venue: bool = True,
    name: str = "synthetic",
) -> IncidentData:
    """An incident of ``ticks`` market-data ticks; ``skew_ns`` sets the strategy host's clock behind."""
    rng = random.Random(seed)
    recorded_params = {**Momentum.default_params, **(params or {})}
    strategy = Momentum(recorded_params)
    ctx = Context(seed)
    feed: list[Ev] = []
    strat: list[Ev] = []
    ven: list[Ev] = []
    seq = 0
    for i, (bid, ask) in enumerate(_ticks(ticks, rng), 1):
        ts = T0 + i * TICK_NS
        payload = {"bid": bid, "ask": ask, "bid_size": 500, "ask_size": 300}
        keys = {"symbol": "ACME"}
        feed.append(Ev("feed", i, "MDTick", ts, ts, 0, "feed-1", "md", keys, payload))
        seq += 1
        local = ts + WIRE_NS - skew_ns  # the strategy host's (possibly skewed) clock
        hlc = max(local, ts + 1)
        parents = (("feed", i, "send_receive"),)
        strat.append(
            Ev("strat", seq, "MDTick", local, hlc, 0, "strategy-1", "md", keys, payload, parents)
        )
        ctx.now_ns = local
        sev = StrategyEvent("MDTick", local, keys, payload, ("strat", seq))
        kinds = {seq: "MDTick"}
        for (cap, oseq), out in strategy.handle(sev, ctx):
            ps = tuple((cap, p[1], edge_kind(kinds.get(p[1], ""), out.kind)) for p in out.parents)
            kinds[oseq] = out.kind
            c = oseq - seq
            strat.append(
                Ev(
                    cap,
                    oseq,
                    out.kind,
                    local,
                    hlc,
                    c,
                    "strategy-1",
                    out.lane,
                    out.keys,
                    out.payload,
                    ps,
                )
            )
            if out.kind == "Order" and venue:
                _venue(ven, oseq, out.keys, out.payload, hlc + WIRE_NS)
            seq = oseq
    caps = [
        CaptureInfo("feed", "feed-1", "testbed", {"max_offset_ns": 100_000}),
        CaptureInfo(
            "strat",
            "strategy-1",
            "testbed",
            {"max_offset_ns": 100_000},
            {**strategy.identity(), "params": recorded_params},
            {"seed": seed},
        ),
    ]
    if venue:
        caps.append(CaptureInfo("venue", "venue-1", "testbed", {"max_offset_ns": 100_000}))
    return IncidentData(name, caps, feed + strat + ven)


def _venue(ven: list[Ev], order_seq: int, keys: dict[str, str], p: dict[str, Any], ts: int) -> None:
    """The venue's view of one order: risk check, fill report, fill."""
    n = len(ven)
    ts += n  # the venue's clock moves on between its events
    qty = int(p["qty"])
    k = {**keys, "order_id": f"V{order_seq}", "exec_id": f"X{order_seq}"}
    sent = (("strat", order_seq, "send_receive"),)
    ven.append(
        Ev(
            "venue",
            n + 1,
            "RiskCheck",
            ts,
            ts,
            0,
            "venue-1",
            "risk",
            dict(keys),
            {"rule": "max_qty", "result": "pass", "limit": "100000", "observed": str(qty)},
            (("strat", order_seq, "order_risk"),),
        )
    )
    report = {
        "exec_type": "FILL",
        "ord_status": "FILLED",
        "cum_qty": qty,
        "leaves_qty": 0,
        "avg_px": p["price"],
        "order_qty": qty,
    }
    ven.append(
        Ev(
            "venue",
            n + 2,
            "ExecReport",
            ts,
            ts,
            1,
            "venue-1",
            "venue",
            k,
            report,
            (*sent, ("venue", n + 1, "causal")),
        )
    )
    fill = {
        "side": p["side"],
        "last_qty": qty,
        "last_px": p["price"],
        "cum_qty": qty,
        "leaves_qty": 0,
    }
    ven.append(
        Ev(
            "venue",
            n + 3,
            "Fill",
            ts,
            ts,
            2,
            "venue-1",
            "venue",
            k,
            fill,
            (("venue", n + 2, "report_fill"),),
        )
    )


# --- storing a synthetic incident (tests and the benchmark) -------------------------------------
def event_rows(
    data: IncidentData, incident_id: int, cap_ids: dict[str, int]
) -> list[tuple[Any, ...]]:
    dumps = orjson.dumps
    opt = orjson.OPT_SORT_KEYS
    rows = []
    for e in data.events:
        k = e.keys
        rows.append(
            (
                incident_id,
                cap_ids[e.capture],
                e.seq,
                e.kind,
                e.ts_ns,
                e.recv_ts_ns,
                e.hlc_l,
                e.hlc_c,
                e.host,
                e.lane,
                *(k.get(f, "") for f in KEY_FIELDS),
                dumps(e.payload, option=opt).decode(),
                None,
                "",
            )
        )
    return rows


def edge_rows(
    data: IncidentData, incident_id: int, cap_ids: dict[str, int]
) -> list[tuple[Any, ...]]:
    return [
        (incident_id, cap_ids[cap], seq, cap_ids[e.capture], e.seq, kind, False)
        for e in data.events
        for cap, seq, kind in e.parents
    ]


EVENT_INSERT = (
    "INSERT INTO deltatrace_event (incident_id, capture_id, seq, kind, ts_ns, recv_ts_ns, hlc_l, "
    "hlc_c, host, lane, "
    + ", ".join(KEY_FIELDS)
    + ", payload, raw, digest) VALUES ("
    + ", ".join(["%s"] * 20)
    + ")"
)
EDGE_INSERT = (
    "INSERT INTO deltatrace_edge (incident_id, src_capture_id, src_seq, dst_capture_id, dst_seq, "
    "kind, inferred) VALUES (%s, %s, %s, %s, %s, %s, %s)"
)


def store_rows(
    cursor: Any, data: IncidentData, incident_id: int, cap_ids: dict[str, int], qmark: bool = False
) -> None:
    fix = (lambda s: s.replace("%s", "?")) if qmark else (lambda s: s)
    events = event_rows(data, incident_id, cap_ids)
    edges = edge_rows(data, incident_id, cap_ids)
    cursor.executemany(fix(EVENT_INSERT), events)
    cursor.executemany(fix(EDGE_INSERT), edges)
    cursor.executemany(fix(SEGMENT_INSERT_SQL), segment_rows(events, edges))


def segment_rows(
    events: list[tuple[Any, ...]], edges: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """Event segments as ingest writes them: each capture's events in batches of its batch size."""
    from deltatrace.ingest.writer import BATCH  # needs Django; synth_incident above does not

    by_cap: dict[int, list[tuple[Any, ...]]] = {}
    for row in events:
        by_cap.setdefault(row[1], []).append(row)
    causes: dict[tuple[int, int], list[tuple[Any, ...]]] = {}
    for e in edges:
        causes.setdefault((e[3], e[4]), []).append(e)
    out = []
    for cap, rows in by_cap.items():
        rows.sort(key=lambda r: r[2])
        for i in range(0, len(rows), BATCH):
            batch = rows[i : i + BATCH]
            mine = [e for r in batch for e in causes.get((cap, r[2]), ())]
            out.append((cap, batch[0][2], batch[-1][2], len(batch), len(mine), pack(batch, mine)))
    return out


def store_incident(data: IncidentData) -> Any:
    """Write a synthetic incident through the ORM (incident, captures) and raw SQL (events, edges)."""
    from django.db import connection, transaction

    from deltatrace.models import Capture, Incident

    with transaction.atomic():
        inc = Incident.objects.create(name=data.name, event_count=len(data.events))
        cap_ids = {}
        for c in data.captures:
            cap = Capture.objects.create(
                incident=inc,
                key=c.key,
                host=c.host,
                adapter=c.adapter,
                clock=c.clock,
                strategy=c.strategy,
                meta=c.meta,
            )
            cap_ids[c.key] = cap.pk
        with connection.cursor() as cur:
            store_rows(cur, data, inc.pk, cap_ids)
    return inc


# --- the benchmark (``deltatrace bench replay``) ------------------------------------------------
EVENTS_PER_TICK = 2.65  # feed tick + strategy receive + its outputs + the venue's answers


def _temp_sqlite(path: str) -> Any:
    """A Django connection to a fresh SQLite file with the event tables (whatever the default DB is)."""
    from django.db.utils import ConnectionHandler

    from deltatrace.models import Edge, Event, EventSegment

    conn = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": path}})[
        "default"
    ]
    with conn.schema_editor() as ed:
        ed.create_model(Event)
        ed.create_model(Edge)
        ed.create_model(EventSegment)
    with conn.cursor() as cur:
        # Only the event tables exist here; incident and capture ids are plain numbers.
        cur.execute("PRAGMA foreign_keys = OFF")
        cur.execute("PRAGMA journal_mode = WAL")
    return conn


def run(quick: bool) -> Any:
    import gc
    import tempfile
    from pathlib import Path

    from deltatrace.benchmarks import Suite, Target, best_of
    from deltatrace.gcpause import gc_paused
    from replay.engine import Options, replay, verdict
    from replay.load import load_events

    target_events = 100_000 if quick else 1_000_000
    data = synth_incident(int(target_events / EVENTS_PER_TICK), name="bench")
    n = len(data.events)
    cap_ids = {c.key: i for i, c in enumerate(data.captures, 1)}
    keys_by_id = {i: k for k, i in cap_ids.items()}
    suite = Suite("replay")
    with tempfile.TemporaryDirectory() as tmp:
        conn = _temp_sqlite(str(Path(tmp) / "bench.sqlite3"))
        with conn.cursor() as cur:
            cur.execute("BEGIN")
            store_rows(cur, data, 1, cap_ids)
            cur.execute("COMMIT")
        del data
        gc.collect()
        caps = synth_incident(1, name="bench").captures
        loaded: list[IncidentData] = []
        light = frozenset(i for i, c in enumerate(caps, 1) if not c.strategy)
        verdicts: list[dict[str, Any]] = []

        def load() -> None:
            with conn.cursor() as cur:
                events = load_events(cur, 1, keys_by_id, light=light)
                loaded[:] = [IncidentData("bench", caps, events)]

        def end_to_end() -> None:
            load()
            verdicts[:] = [replay(loaded[0], Options())]

        def fresh() -> None:
            loaded.clear()
            verdicts.clear()
            gc.collect()

        repeats = 3
        e2e = best_of(repeats, end_to_end, fresh)
        load_s = best_of(repeats, load, fresh)
        end_to_end()  # the run whose verdict and events are reported below
        conn.close()

    data = loaded[0]
    # The harness proper: feeding, sandbox, output capture, comparison, digests (after the merge).
    merged = merge(data.events)
    harness = best_of(repeats, lambda: verdict(data, merged, Options()))
    strat = [e for e in data.events if e.capture == "strat"]
    inputs = [
        e for e in strat if e.kind in ("MDTick", "ExecReport", "Fill", "RiskCheck", "Session")
    ]
    prebuilt = [StrategyEvent(e.kind, e.ts_ns, e.keys, e.payload, e.ref) for e in inputs]
    params = caps[1].strategy["params"]

    def bare() -> None:
        # Same GC setting as the harness, so the ratio is the harness's own cost.
        with gc_paused():
            s = Momentum(params)
            ctx = Context(7)
            handle = s.handle
            for sev in prebuilt:
                ctx.now_ns = sev.ts_ns
                handle(sev, ctx)

    bare_s = best_of(repeats, bare)
    result = verdicts[0]
    suite.figures.update(
        {
            "events": n,
            "strategy_inputs": len(inputs),
            "outputs_compared": result["outputs_compared"],
            "verdict": result["status"],
            "end_to_end_s": round(e2e, 3),
            "load_s": round(load_s, 3),
            "replay_s": round(harness, 3),
            "bare_loop_s": round(bare_s, 3),
            "events_per_s": round(n / e2e),
            "harness_over_bare": round(harness / bare_s, 3),
        }
    )
    suite.targets.append(Target("end_to_end_events_per_s", n / e2e, 300_000, ">="))
    suite.targets.append(Target("harness_over_bare_loop", harness / bare_s, 2.0, "<="))
    suite.targets.append(Target("verdict_identical", float(result["status"] == "identical"), 1.0))
    # Live push: steps/s to one WebSocket viewer, and 100 viewers of one run (replay/live_bench.py).
    from replay import live_bench

    live = live_bench.run(quick)
    suite.figures.update(live)
    suite.targets.append(Target("live steps/s to one viewer", live["live_steps_per_s"], 20_000))
    suite.targets.append(
        Target(
            "100 viewers each got every step in order",
            float(live["live_viewers_all_in_order"]),
            1.0,
        )
    )
    return suite
