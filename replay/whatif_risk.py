"""What-if on risk limits: re-run a gateway's pre-trade checks with other limits.

A capture whose header records ``meta.risk_limits`` (the testbed gateway does) can be replayed
counterfactually: a fresh ``RiskGateway`` with the changed limits sees, in merged order, the orders
the gateway received (its ``risk``-lane Order events with a send->receive parent), the kill switches
it engaged (``Annotation`` with ``action: kill_switch``) and the venue's reports (so positions, open
quantities and the last trade follow the recording). Its RiskCheck results are compared with the
recorded ones.

The venue of the counterfactual: an order rejected in the recording but passed in the replay never
reached the recorded venue, so ``replay.shadow_venue`` answers it from the recorded quotes (a
touch-fill model), and its fills move the replayed gateway's positions, open quantities and last
trade price. Reports for an order the replay rejects are ignored by it, as a real gateway would. Only RiskCheck events are compared: the gateway's
reject reports carry exec ids numbered in reject order, which a changed limit renumbers.

Pure: plain values in and out, no Django.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.exchange.risk import RiskGateway
from adapters.exchange.types import CancelRequest, ExecReport, NewOrder, RiskLimits
from adapters.testbed.hosts import to_request
from adapters.testbed.venue import RemoteEngine
from replay.compare import Comparison, Node, compare, decision_path, output_digest
from replay.merge import Ev
from replay.sandbox import ReplayError
from replay.shadow_venue import MODEL as SHADOW_MODEL
from replay.shadow_venue import ShadowVenue

PREFIX = "risk."
_FIELDS = {f.name: f for f in dataclasses.fields(RiskLimits)}
_DECIMALS = frozenset({"max_notional", "collar_bps"})
_REQUIRED_INTS = frozenset({"rate_window_ns"})  # never None
MAX_CHANGED_SHOWN = 100


def risk_sets(sets: dict[str, Any]) -> dict[str, Any]:
    """The ``risk.FIELD`` overrides of a ``--set`` dict, keyed by field."""
    return {k[len(PREFIX) :]: v for k, v in sets.items() if k.startswith(PREFIX)}


def _decimal(name: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ReplayError(f"risk.{name} expects a decimal number, got {value!r}")
    try:
        out = Decimal(value)
    except InvalidOperation:
        raise ReplayError(f"risk.{name} expects a decimal number, got {value!r}") from None
    if not out.is_finite() or out < 0:
        raise ReplayError(f"risk.{name} must be a finite number >= 0, got {value!r}")
    return out


def _int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ReplayError(f"risk.{name} expects a whole number >= 0, got {value!r}")
    return value


def _value(name: str, value: Any) -> Any:
    """One limit field from its JSON form (``None`` switches a rule off)."""
    if value is None:
        if name in _REQUIRED_INTS or name == "position_limits":
            raise ReplayError(f"risk.{name} cannot be switched off (null)")
        return None
    if name in _DECIMALS:
        return _decimal(name, value)
    if name == "position_limits":
        if not isinstance(value, dict):
            raise ReplayError(f'risk.position_limits expects {{"SYMBOL": qty, ...}}, got {value!r}')
        return {str(k): _int(f"position_limits.{k}", v) for k, v in sorted(value.items())}
    return _int(name, value)


def limits_from_meta(meta: dict[str, Any], changes: dict[str, Any] | None = None) -> RiskLimits:
    """``RiskLimits`` from a capture's ``meta.risk_limits``, with ``changes`` (field -> JSON value)."""
    changes = changes or {}
    unknown = sorted(k for k in changes if k not in _FIELDS)
    if unknown:
        raise ReplayError(
            f"unknown risk limit(s) {', '.join('risk.' + k for k in unknown)}; "
            f"known: {', '.join('risk.' + k for k in sorted(_FIELDS))}"
        )
    recorded = meta.get("risk_limits")
    if not isinstance(recorded, dict):
        raise ReplayError("the capture records no risk limits (meta.risk_limits)")
    kwargs: dict[str, Any] = {}
    for name in _FIELDS:
        if name in changes:
            kwargs[name] = _value(name, changes[name])
        elif name in recorded:
            kwargs[name] = _value(name, recorded[name])
    return RiskLimits(**kwargs)


def limits_json(limits: RiskLimits) -> dict[str, Any]:
    """Limits as shown in a verdict (decimals as strings)."""
    return {
        f: str(v) if isinstance(v, Decimal) else v for f, v in dataclasses.asdict(limits).items()
    }


@dataclass
class RiskRun:
    capture: str
    recorded: list[Node]
    replayed: list[Node]
    orders: int
    info: dict[str, Any]


def _report(ev: Ev, accounts: dict[str, str], tag: str) -> ExecReport:
    """A venue ExecReport event back as the sandbox's ExecReport (what the gateway follows).

    Reports do not carry account and strategy; the gateway knew them from the order (``accounts``:
    ClOrdID -> account of the orders it received, all tagged with strategy ``tag``)."""
    p, k = ev.payload, ev.keys
    cl = k.get("cl_ord_id", "")
    account = accounts.get(cl)
    if account is None:
        account = accounts.get(k.get("orig_cl_ord_id", ""))

    def dec(v: Any) -> Decimal | None:
        return None if v is None else Decimal(v)

    return ExecReport(
        venue=str(p.get("venue", "")),
        order_id=k.get("order_id", ""),
        exec_id=k.get("exec_id", ""),
        cl_ord_id=cl,
        symbol=k.get("symbol", ""),
        side=p.get("side", ""),
        exec_type=p.get("exec_type", ""),
        ord_status=p.get("ord_status", ""),
        order_qty=int(p.get("order_qty", 0)),
        cum_qty=int(p.get("cum_qty", 0)),
        leaves_qty=int(p.get("leaves_qty", 0)),
        avg_px=Decimal(p.get("avg_px", "0")),
        ts_ns=ev.ts_ns,
        price=dec(p.get("price")),
        ord_type=p.get("type", "LIMIT"),
        tif=p.get("tif", "DAY"),
        last_qty=int(p.get("last_qty", 0)),
        last_px=dec(p.get("last_px")),
        orig_cl_ord_id=k.get("orig_cl_ord_id", ""),
        account=account or "",
        strategy=tag if account is not None else "",
        text=p.get("text", ""),
    )


def check_node(
    ref: tuple[str, int],
    keys: dict[str, str],
    payload: dict[str, Any],
    parents: tuple[tuple[str, int], ...],
) -> Node:
    """A RiskCheck compared by its decision (rule, pass/reject) alone: a changed limit changes the
    ``limit`` text of every check of its rule, and ``observed`` may hinge on when the gateway saw a
    venue report (unrecorded), but neither is a different decision. The diff shows them all."""
    decision = {"rule": payload.get("rule"), "result": payload.get("result")}
    digest = output_digest("RiskCheck", keys, decision)
    return Node(ref, "RiskCheck", "risk", keys, payload, parents, digest)


def _received(ev: Ev) -> bool:
    """A copy of a message another host sent (the original is what the venue's market was)."""
    return any(kind == "send_receive" for _c, _s, kind in ev.parents)


def _refs(ev: Ev) -> tuple[tuple[str, int], ...]:
    return tuple(p[:2] for p in ev.parents)


def run_gateway(
    capture: str, meta: dict[str, Any], events: Sequence[Ev], limits: RiskLimits
) -> RiskRun:
    """Re-run the gateway of ``capture`` over the incident's ``events`` (merged order)."""
    gw = meta.get("risk_gateway") or {}
    remote = RemoteEngine(str(gw.get("venue", "")))
    risk = RiskGateway(remote, limits)
    # Orders the recorded gateway turned away never reached the venue: if the replay lets one
    # through, the shadow venue answers it (and its cancels and replaces) from the recorded quotes.
    shadow = ShadowVenue(remote.venue, remote.deliver)
    turned_away = {
        ev.keys.get("cl_ord_id", "")
        for ev in events
        if ev.capture == capture and ev.kind == "RiskCheck" and ev.payload.get("result") == "reject"
    }
    refs = {s: Decimal(p) for s, p in sorted((gw.get("reference_prices") or {}).items())}
    tag = str(gw.get("strategy", ""))
    seen: set[str] = set()
    accounts: dict[str, str] = {}
    recorded: list[Node] = []
    replayed: list[Node] = []
    orders = 0
    for ev in events:
        kind = ev.kind
        if ev.capture != capture:
            if kind == "ExecReport" and ev.lane == "venue" and ev.keys:
                remote.deliver(_report(ev, accounts, tag))
            elif kind == "MDTick" and ev.payload and not _received(ev):
                p = ev.payload
                symbol = ev.keys.get("symbol", "")
                shadow.quote(
                    symbol,
                    p.get("bid"),
                    p.get("bid_size"),
                    p.get("ask"),
                    p.get("ask_size"),
                    ev.ts_ns,
                )
            continue
        if kind == "RiskCheck":
            recorded.append(check_node(ev.ref, ev.keys, ev.payload, _refs(ev)))
        elif kind == "Annotation" and ev.payload.get("action") == "kill_switch":
            p = ev.payload
            risk.engage_kill_switch(p["scope"], p["value"], p.get("reason", ""), ev.ts_ns)
        elif kind == "Order" and _received(ev):
            if not ev.payload:
                raise ReplayError(
                    f"capture {capture} was loaded without payloads; cannot re-run its risk checks"
                )
            cl = ev.keys.get("cl_ord_id", "")
            if cl in seen:  # a resend: the gateway answered from its record, no checks
                continue
            seen.add(cl)
            accounts[cl] = str(ev.payload.get("account", ""))
            orders += 1
            req = to_request(ev.keys, ev.payload, tag)
            if isinstance(req, NewOrder):
                if req.symbol in refs:
                    risk.set_reference_price(req.symbol, refs[req.symbol])
                results, _ = risk.submit(req, ev.ts_ns)
            elif isinstance(req, CancelRequest):
                results = []
                risk.cancel(req, ev.ts_ns)
            else:
                results, _ = risk.replace_with_checks(req, ev.ts_ns)
            order_ref = ev.ref
            for i, r in enumerate(results, 1):
                replayed.append(
                    check_node((capture, ev.seq + i), r.to_keys(), r.to_payload(), (order_ref,))
                )
        for req in remote.outbox:  # what the recorded venue saw, it answers in the recording
            orig = getattr(req, "orig_cl_ord_id", None)
            if (req.cl_ord_id in turned_away and orig is None) or (orig and shadow.owns(orig)):
                shadow.handle(req, ev.ts_ns)
        remote.outbox.clear()
    info = {
        "capture": capture,
        "orders_checked": orders,
        "limits": limits_json(limits),
        "counterfactual_orders": shadow.orders_answered,
        "counterfactual_fills": shadow.fills,
        "counterfactual_filled_qty": shadow.filled_qty,
        "venue_model": SHADOW_MODEL,
    }
    return RiskRun(capture, recorded, replayed, orders, info)


def _decisions(nodes: Sequence[Node]) -> dict[tuple[str, int], list[tuple[str, str]]]:
    out: dict[tuple[str, int], list[tuple[str, str]]] = {}
    for n in nodes:
        order = n.parents[0] if n.parents else n.ref
        out.setdefault(order, []).append((n.payload.get("rule", ""), n.payload.get("result", "")))
    return out


def _outcome(checks: list[tuple[str, str]]) -> dict[str, Any]:
    rejects = [rule for rule, result in checks if result == "reject"]
    return {"decision": "rejected" if rejects else "passed", "rejected_by": rejects}


def changed_orders(
    run: RiskRun, by_ref: dict[tuple[str, int], Ev]
) -> tuple[int, list[dict[str, Any]]]:
    """Orders whose check results (rule -> pass/reject) differ: (count, the first ones shown)."""
    rec, rep = _decisions(run.recorded), _decisions(run.replayed)
    out: list[dict[str, Any]] = []
    count = 0
    for order in sorted(set(rec) | set(rep), key=lambda r: (r[1], r[0])):
        a, b = rec.get(order, []), rep.get(order, [])
        if a == b:
            continue
        count += 1
        if len(out) < MAX_CHANGED_SHOWN:
            ev = by_ref.get(order)
            out.append(
                {
                    "order": f"{order[0]}:{order[1]}",
                    "cl_ord_id": ev.keys.get("cl_ord_id", "") if ev else "",
                    "recorded": _outcome(a),
                    "replayed": _outcome(b),
                    "rules": {
                        rule: {"recorded": dict(a).get(rule), "replayed": dict(b).get(rule)}
                        for rule in sorted({r for r, _ in a} | {r for r, _ in b})
                        if dict(a).get(rule) != dict(b).get(rule)
                    },
                }
            )
    return count, out


def risk_verdict(
    run: RiskRun, by_ref: dict[tuple[str, int], Ev], recorded_limits: RiskLimits
) -> tuple[Comparison, dict[str, Any] | None, dict[str, Any]]:
    """Compare a gateway re-run with the recording: (comparison, first divergence, summary)."""
    cmp = compare(run.recorded, run.replayed)
    first = cmp.first_divergence()
    if first is not None:
        if cmp.recorded is not None:
            first["recorded_path"] = decision_path(by_ref, {}, cmp.recorded.ref)
        if cmp.replayed is not None:
            first["replayed_path"] = decision_path(
                by_ref, {cmp.replayed.ref: cmp.replayed}, cmp.replayed.ref
            )
    n_changed, changed = changed_orders(run, by_ref)
    summary = {
        **run.info,
        "recorded_limits": limits_json(recorded_limits),
        "checks_compared": cmp.compared,
        "matched": cmp.matched,
        "missing": cmp.missing,
        "extra": cmp.extra,
        "orders_changed": n_changed,
        "changed": changed,
    }
    return cmp, first, summary
