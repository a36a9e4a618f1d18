"""Orchestration: an incident's events -> merged order -> sandboxed re-run -> fidelity verdict.

Pure: takes ``IncidentData`` (plain values, see ``replay.load`` for the database side) and returns the
verdict dict that ``deltatrace replay --json`` prints. Incidents with a strategy capture are re-run
through the strategy (all stages, or one stage alone on its recorded inputs); incidents with none
(FIX-only) get a lifecycle replay of their orders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.strategies.base import (
    INPUT_KINDS,
    OUTPUT_KINDS,
    STAGES,
    Context,
    Strategy,
)
from deltatrace.gcpause import gc_paused
from replay import lifecycle, whatif_risk
from replay.compare import Node, compare, decision_path, parse_ref, path_nodes, run_digest
from replay.merge import DEFAULT_TIERS, Ev, Merged, anomaly_summary, merge
from replay.sandbox import ReplayError, resolve_strategy, sandbox, suspended

KIND_STAGE = {"Signal": "signal", "PlanDelta": "planner", "Order": "executor"}
MAX_ANOMALIES_SHOWN = 20


@dataclass
class CaptureInfo:
    key: str
    host: str = ""
    adapter: str = ""
    clock: dict[str, Any] = field(default_factory=dict)
    strategy: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    # The privacy policy ingest applied to this capture, re-applied to replayed outputs (set by
    # ``replay.load.load_incident``; see ``replay.load.privacy_transforms``).
    output_transform: Callable[[dict[str, Any]], dict[str, Any]] | None = field(
        default=None, compare=False, repr=False
    )


@dataclass
class IncidentData:
    name: str
    captures: list[CaptureInfo]
    events: list[Ev]


@dataclass
class Options:
    stage: str = "all"
    path: str | None = None
    sets: dict[str, Any] = field(default_factory=dict)
    force: bool = False
    tiers: Sequence[tuple[str, int]] = DEFAULT_TIERS
    # Called (outside the sandbox) with (inputs done, inputs total) now and then.
    progress: Callable[[int, int], None] | None = None
    # capture key -> the privacy policy ingest applied to it (``replay.load.privacy_transforms``):
    # replayed outputs get the same treatment (e.g. the same account pseudonyms) before comparison.
    transforms: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = field(default_factory=dict)


def stage_of(ev_kind: str, lane: str) -> str:
    return lane if lane in STAGES else KIND_STAGE.get(ev_kind, lane)


def seed_of(cap: CaptureInfo) -> int:
    for src in (cap.strategy, cap.meta):
        if isinstance(src.get("seed"), int):
            return int(src["seed"])
    return 0


def check_params(cls: type[Strategy], recorded: dict[str, Any], sets: dict[str, Any]) -> None:
    known = set(cls.default_params) | set(recorded)
    unknown = sorted(k for k in sets if k not in known)
    if unknown:
        raise ReplayError(
            f"unknown parameter(s) {', '.join(unknown)} for strategy {cls.name} {cls.version}; "
            f"known: {', '.join(sorted(known))}"
        )


@dataclass
class StrategyRun:
    capture: str
    recorded: list[Node]
    replayed: list[Node]
    inputs: int
    info: dict[str, Any]


def run_strategy(
    cap: CaptureInfo,
    events: list[Ev],
    opts: Options,
    limit_pos: dict[tuple[str, int], bool] | None = None,
) -> StrategyRun:
    """Re-run one strategy capture. ``events`` are that capture's events in seq (= merged) order.

    ``limit_pos`` (path mode) holds the refs of the inputs to feed; outputs of inputs not fed are not
    compared.
    """
    cls, note = resolve_strategy(cap.strategy, force=opts.force)
    recorded_params = dict(cap.strategy.get("params") or {})
    strategy_sets = {k: v for k, v in opts.sets.items() if not k.startswith("risk.")}
    check_params(cls, recorded_params, strategy_sets)
    params = {**recorded_params, **strategy_sets}
    seed = seed_of(cap)
    strategy = cls(params)
    ctx = Context(seed)
    stage = opts.stage
    if stage == "all":
        feed_kinds: frozenset[str] = INPUT_KINDS
        compared_stages: frozenset[str] = frozenset(STAGES)
    else:
        feed_kinds = strategy.stages[stage].consumes
        compared_stages = frozenset({stage})

    # Which events to feed, and which recorded outputs they account for.
    if stage == "all" and limit_pos is None:
        # Everything is fed and compared: two comprehensions, no per-event branching.
        feed = [ev for ev in events if ev.kind in INPUT_KINDS]
        recorded = [
            Node(ev.ref, ev.kind, ev.lane, ev.keys, ev.payload, tuple(p[:2] for p in ev.parents))
            for ev in events
            if ev.kind in OUTPUT_KINDS and stage_of(ev.kind, ev.lane) in compared_stages
        ]
    else:
        feed, recorded = _select(events, stage, feed_kinds, compared_stages, limit_pos)

    replayed: list[Node] = []
    total = len(feed)
    with sandbox(cls):
        if stage == "all":
            _run_all(strategy, ctx, feed, replayed, opts.progress, total)
        else:
            _run_stage(strategy, stage, ctx, feed, replayed)
    transform = opts.transforms.get(cap.key) or cap.output_transform
    if transform is not None:
        replayed = [_sanitized(n, transform) for n in replayed]
    info = {
        "capture": cap.key,
        "strategy": cls.name,
        "version": cls.version,
        "params": params,
        "seed": seed,
    }
    if note:
        info["forced"] = note
    return StrategyRun(cap.key, recorded, replayed, total, info)


def _select(
    events: list[Ev],
    stage: str,
    feed_kinds: frozenset[str],
    compared_stages: frozenset[str],
    limit_pos: dict[tuple[str, int], bool] | None,
) -> tuple[list[Ev], list[Node]]:
    """The inputs to feed and the recorded outputs they account for (one stage, or a path)."""
    feed: list[Ev] = []
    recorded: list[Node] = []
    fed_current = True
    for ev in events:
        kind = ev.kind
        if kind in OUTPUT_KINDS:
            if fed_current and stage_of(kind, ev.lane) in compared_stages:
                recorded.append(
                    Node(
                        ev.ref, kind, ev.lane, ev.keys, ev.payload, tuple(p[:2] for p in ev.parents)
                    )
                )
            if stage == "all" or kind not in feed_kinds:
                continue
        elif kind not in INPUT_KINDS:
            continue
        if limit_pos is not None:
            fed_current = ev.ref in limit_pos
            if not fed_current:
                continue
        if kind in feed_kinds:
            feed.append(ev)
    return feed, recorded


def _sanitized(node: Node, transform: Callable[[dict[str, Any]], dict[str, Any]]) -> Node:
    ev = transform({"kind": node.kind, "keys": node.keys, "payload": node.payload})
    if ev["keys"] is node.keys and ev["payload"] is node.payload:
        return node
    return Node(node.ref, node.kind, node.lane, ev["keys"], ev["payload"], node.parents)


def _run_all(
    strategy: Strategy,
    ctx: Context,
    feed: list[Ev],
    out: list[Node],
    progress: Callable[[int, int], None] | None,
    total: int,
) -> None:
    handle = strategy.handle
    append = out.append
    node = Node
    for i, ev in enumerate(feed):
        ctx.now_ns = ev.ts_ns
        # A recorded Ev is an EventView (kind, ts_ns, keys, payload, ref) holding the same values
        # a StrategyEvent copy would: fed as is, with no object made per input.
        for ref, o in handle(ev, ctx):
            append(node(ref, o.kind, o.lane, o.keys, o.payload, o.parents))
        if progress is not None and i & 4095 == 4095:
            with suspended():
                progress(i + 1, total)


def _run_stage(
    strategy: Strategy, stage: str, ctx: Context, feed: list[Ev], out: list[Node]
) -> None:
    """One stage alone on its recorded inputs (recorded outputs of other stages included)."""
    st = strategy.stages[stage]
    for ev in feed:
        ctx.now_ns = ev.ts_ns
        ctx.outbox = []
        st.on_event(ev, ctx)
        for i, o in enumerate(ctx.outbox, 1):
            out.append(
                Node((ev.capture, ev.seq + i), o.kind, o.lane, o.keys, o.payload, tuple(o.parents))
            )
    ctx.outbox = []


def parse_sets(items: Sequence[str]) -> dict[str, Any]:
    """``PARAM=VALUE`` pairs; VALUE is read as JSON when it parses (numbers, true, "text"), else text."""
    import orjson

    out: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise ReplayError(f"--set expects PARAM=VALUE, got {item!r}")
        try:
            value: Any = orjson.loads(raw)
        except orjson.JSONDecodeError:
            value = raw
        if isinstance(value, float):
            value = raw  # prices and thresholds are decimal strings, never floats
        out[name.strip()] = value
    return out


@dataclass
class Trace:
    """What a replay worked out on the way to its verdict: the merged order and each strategy's
    recorded and replayed outputs (the background runner turns them into steps)."""

    merged: list[Ev]
    runs: list[StrategyRun]
    # The lifecycle issues, when the incident has no strategy capture.
    issues: list[lifecycle.Issue] | None = None


def replay(data: IncidentData, opts: Options | None = None) -> dict[str, Any]:
    """The verdict for one incident (see module docstring)."""
    return replay_traced(data, opts)[0]


def replay_traced(data: IncidentData, opts: Options | None = None) -> tuple[dict[str, Any], Trace]:
    """The verdict and its trace, from one run of the merge and of each strategy."""
    opts = opts or Options()
    if opts.stage != "all" and opts.stage not in STAGES:
        raise ReplayError(f"unknown stage {opts.stage!r}; one of all, {', '.join(STAGES)}")
    offsets = {
        c.key: int(c.clock["max_offset_ns"])
        for c in data.captures
        if isinstance(c.clock.get("max_offset_ns"), int)
    }
    trace = Trace([], [])
    with gc_paused():
        merged = merge(data.events, tiers=opts.tiers, max_offset_ns=offsets)
        trace.merged = merged.events
        return _verdict(data, merged, opts, trace), trace


def verdict(data: IncidentData, merged: Merged, opts: Options) -> dict[str, Any]:
    """Everything after the merge: re-run, compare, explain (the replay harness proper)."""
    with gc_paused():
        return _verdict(data, merged, opts)


def _verdict(
    data: IncidentData, merged: Merged, opts: Options, trace: Trace | None = None
) -> dict[str, Any]:
    target: tuple[str, int] | None = None
    if opts.path is not None:
        target = parse_ref(opts.path, merged.events)
    gateways = _risk_gateways(data, opts)
    strategy_caps = sorted(
        (c for c in data.captures if c.strategy.get("name")), key=lambda c: c.key
    )
    if strategy_caps:
        result = _strategy_verdict(
            data, merged, strategy_caps, opts, target, trace.runs if trace else None
        )
    else:
        if any(not k.startswith("risk.") for k in opts.sets):
            raise ReplayError("--set needs a strategy capture; this incident has none (FIX-only)")
        result = _lifecycle_verdict(merged, trace)
    if gateways:
        _add_risk_verdict(result, merged, gateways, opts)
    result["incident"] = data.name
    result["merge"] = {
        "fast_path": merged.fast_path,
        "cycles_broken": merged.cycles_broken,
        "dangling_edges": len(merged.dangling),
    }
    result["clock_anomalies"] = {
        **anomaly_summary(merged.anomalies),
        "tiers": {name: ns for name, ns in opts.tiers},
        "first": [a.as_dict() for a in merged.anomalies[:MAX_ANOMALIES_SHOWN]],
    }
    if target is not None:
        replayed_caps = frozenset(c.key for c in data.captures if c.strategy.get("name"))
        status = result.pop("_status_by_ref", {})
        result["path"] = path_nodes(merged.events, target, status, replayed_caps)
    result.pop("_status_by_ref", None)
    return result


def _risk_gateways(data: IncidentData, opts: Options) -> list[CaptureInfo]:
    """The captures whose risk checks a ``risk.*`` what-if re-runs (none without one)."""
    names = sorted(k for k in opts.sets if k.startswith("risk."))
    if not names:
        return []
    caps = sorted((c for c in data.captures if c.meta.get("risk_limits")), key=lambda c: c.key)
    if not caps:
        raise ReplayError(
            f"cannot set {', '.join(names)}: no capture in this incident records its risk "
            "limits (meta.risk_limits); only strategy parameters can be changed"
        )
    changes = whatif_risk.risk_sets(opts.sets)
    for c in caps:
        whatif_risk.limits_from_meta(c.meta, changes)  # bad names and values fail before any work
    return caps


def _add_risk_verdict(
    result: dict[str, Any], merged: Merged, caps: list[CaptureInfo], opts: Options
) -> None:
    """Re-run each gateway's checks with the changed limits and fold the comparison into
    ``result``: totals, status, first divergence (when the strategy replay has none), digest."""
    changes = whatif_risk.risk_sets(opts.sets)
    by_ref = {ev.ref: ev for ev in merged.events}
    summaries: list[dict[str, Any]] = []
    replayed: list[Node] = []
    first: dict[str, Any] | None = None
    status_by_ref: dict[tuple[str, int], str] = result.get("_status_by_ref", {})
    for cap in caps:
        limits = whatif_risk.limits_from_meta(cap.meta, changes)
        run = whatif_risk.run_gateway(cap.key, cap.meta, merged.events, limits)
        cmp, fd, summary = whatif_risk.risk_verdict(
            run, by_ref, whatif_risk.limits_from_meta(cap.meta)
        )
        summaries.append(summary)
        replayed.extend(run.replayed)
        if first is None and fd is not None:
            first = fd
        result["outputs_compared"] += cmp.compared
        for k in ("matched", "missing", "extra"):
            if k in result:
                result[k] += getattr(cmp, k)
        if not cmp.identical:
            result["status"] = "diverged"
        if "_status_by_ref" in result:
            for i, node in enumerate(run.recorded):
                same = i < len(run.replayed) and run.replayed[i].digest == node.digest
                status_by_ref[node.ref] = "matched" if same else "diverged"
    if result["first_divergence"] is None:
        result["first_divergence"] = first
    result["risk"] = summaries
    base = {"base": result["run_digest"], "risk": summaries, "first": result["first_divergence"]}
    result["run_digest"] = run_digest(base, replayed)


def _strategy_verdict(
    data: IncidentData,
    merged: Merged,
    caps: list[CaptureInfo],
    opts: Options,
    target: tuple[str, int] | None,
    runs_out: list[StrategyRun] | None = None,
) -> dict[str, Any]:
    per_cap: dict[str, list[Ev]] = {c.key: [] for c in caps}
    if len(caps) == 1:
        key = caps[0].key
        per_cap[key] = [ev for ev in merged.events if ev.capture == key]
    else:
        for ev in merged.events:
            lst = per_cap.get(ev.capture)
            if lst is not None:
                lst.append(ev)
    limit: dict[tuple[str, int], bool] | None = None
    if target is not None:
        # Feed only inputs up to the target in merged order: the prefix that explains it.
        limit = {}
        for ev in merged.events:
            if ev.capture in per_cap:
                limit[ev.ref] = True
            if ev.ref == target:
                break
    runs = [run_strategy(c, per_cap[c.key], opts, limit) for c in caps]
    if runs_out is not None:
        runs_out.extend(runs)
    recorded = [n for r in runs for n in r.recorded]
    replayed = [n for r in runs for n in r.replayed]
    cmp = compare(recorded, replayed)
    status = "identical" if cmp.identical else "diverged"
    first = cmp.first_divergence()
    if first is not None:
        by_ref = {ev.ref: ev for ev in merged.events}
        if cmp.recorded is not None:
            first["recorded_path"] = decision_path(by_ref, {}, cmp.recorded.ref)
        if cmp.replayed is not None:
            mine = {n.ref: n for n in replayed}
            first["replayed_path"] = decision_path(by_ref, mine, cmp.replayed.ref)
    summary = {
        "status": status,
        "mode": "strategy",
        "stage": opts.stage,
        "set": opts.sets,
        "path_target": f"{target[0]}:{target[1]}" if target else None,
        "events": len(merged.events),
        "inputs": sum(r.inputs for r in runs),
        "outputs_compared": cmp.compared,
        "matched": cmp.matched,
        "missing": cmp.missing,
        "extra": cmp.extra,
    }
    result: dict[str, Any] = {
        **summary,
        "first_divergence": first,
        "run_digest": run_digest({**summary, "first_divergence": first}, replayed),
        "strategies": [r.info for r in runs],
    }
    if target is not None:
        status_by_ref: dict[tuple[str, int], str] = {}
        for i, node in enumerate(recorded):
            same = i < len(replayed) and replayed[i].digest == node.digest
            status_by_ref[node.ref] = "matched" if same else "diverged"
        result["_status_by_ref"] = status_by_ref
    return result


def _lifecycle_verdict(merged: Merged, trace: Trace | None = None) -> dict[str, Any]:
    res = lifecycle.check(merged.events)
    if trace is not None:
        trace.issues = res.issues
    status = "identical" if not res.issues else "diverged"
    first = res.issues[0].as_dict() if res.issues else None
    summary = {
        "status": status,
        "mode": "lifecycle",
        "stage": "lifecycle",
        "events": len(merged.events),
        "orders": res.orders,
        "outputs_compared": res.reports,
        "issues": len(res.issues),
    }
    return {
        **summary,
        "first_divergence": first,
        "issues_found": [i.as_dict() for i in res.issues[:100]],
        "run_digest": run_digest({**summary, "first_divergence": first}, []),
    }
