"""The process-wide exchange-gateway sandbox: a matching engine behind the risk gateway.

Kill switches and limits live in the database (``KillSwitch``, ``RiskLimitSetting``), set by executed
triggers; every order first brings the in-memory gateway up to date with them, so any number of
server processes enforce the same controls. A rejected order never reaches the venue.

Each order is also recorded as capture events (capture ``sandbox-gateway``) in the incident named
with it (default ``sandbox``), through ingest's ``append_events``: the Order, its RiskChecks
(``order_risk``), the ExecReports of that submit (``order_report``; lane ``risk`` for the gateway's
own rejects, ``venue`` for the engine's) and a Fill per fill report (``report_fill``).
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.exchange import LIMIT, MARKET, MatchingEngine, NewOrder, RiskGateway
from adapters.exchange.types import SIDES, TIFS, ExecReport, RiskLimits, RiskResult
from ledger.approvals import rules
from ledger.approvals.models import KillSwitch, RiskLimitSetting

VENUE = "XSIM"
DEFAULT_LIMITS = RiskLimits(max_qty=10_000)
GATEWAY = "SANDBOX"
CAPTURE = "sandbox-gateway"
DEFAULT_INCIDENT = "sandbox"
HEADER: dict[str, Any] = {
    "format": "deltatrace.capture",
    "version": 1,
    "capture": CAPTURE,
    "host": CAPTURE,
    "adapter": "exchange-sandbox",
    "meta": {"venue": VENUE, "gateway": GATEWAY},
}
_INCIDENT_NAME = re.compile(r"[-a-zA-Z0-9_]{1,100}")


class OrderError(ValueError):
    """A malformed order; the message says which field."""


def limits_from(settings: dict[str, str]) -> RiskLimits:
    """DEFAULT_LIMITS with the governance settings applied (empty value: rule off)."""
    changes: dict[str, Any] = {}
    for name, value in settings.items():
        kind = rules.LIMITS.get(name)
        if kind is None:
            continue
        if not value:
            changes[name] = None
        else:
            changes[name] = int(value) if kind is int else Decimal(value)
    if changes.get("rate_window_ns", 0) is None:
        changes.pop("rate_window_ns")  # the window cannot be "off"
    return RiskLimits(**{**DEFAULT_LIMITS.__dict__, **changes})


def parse_incident(data: dict[str, Any]) -> str:
    """The incident the order is recorded in (``incident``, optional): a name or an id."""
    value = data.get("incident") if isinstance(data, dict) else None
    if value is None or value == "":
        return DEFAULT_INCIDENT
    if not isinstance(value, str) or not _INCIDENT_NAME.fullmatch(value):
        raise OrderError(
            "incident must be an incident name or id (letters, digits, '-' and '_', at most 100)"
        )
    return value


def order_events(
    seq: int,
    order: NewOrder,
    results: list[RiskResult],
    reports: list[ExecReport],
    ts_ns: int,
) -> list[dict[str, Any]]:
    """One submit as capture-format events, numbered from ``seq``."""
    order_seq = seq
    events = [_event(seq, "Order", "risk", ts_ns, order.to_keys(), order.to_payload(), [])]
    for r in results:
        seq += 1
        parents = [{"seq": order_seq, "kind": "order_risk"}]
        events.append(_event(seq, "RiskCheck", "risk", ts_ns, r.to_keys(), r.to_payload(), parents))
    for rep in reports:
        seq += 1
        report_seq = seq
        # The gateway's own rejects never reached the venue.
        lane = "risk" if rep.exec_id.startswith(f"{GATEWAY}-") else "venue"
        parents = [{"seq": order_seq, "kind": "order_report"}]
        payload = rep.to_payload()
        events.append(_event(seq, "ExecReport", lane, rep.ts_ns, rep.to_keys(), payload, parents))
        if rep.is_fill:
            seq += 1
            parents = [{"seq": report_seq, "kind": "report_fill"}]
            fill = rep.fill_payload()
            events.append(_event(seq, "Fill", "venue", rep.ts_ns, rep.to_keys(), fill, parents))
    return events


def _event(
    seq: int,
    kind: str,
    lane: str,
    ts_ns: int,
    keys: dict[str, str],
    payload: dict[str, Any],
    parents: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "seq": seq,
        "kind": kind,
        "ts_ns": ts_ns,
        "lane": lane,
        "keys": keys,
        "parents": parents,
        "payload": payload,
    }


def record_order(
    incident_name: str,
    order: NewOrder,
    results: list[RiskResult],
    reports: list[ExecReport],
    ts_ns: int,
) -> str:
    """Append one submit to the incident's ``sandbox-gateway`` capture; returns the Order's ref
    ``capture_id:seq``. Through ingest (validated, deduped), never a direct write."""
    from django.db import transaction
    from django.db.models import Max

    from deltatrace.ingest import append_events, get_or_create_capture, get_or_create_incident
    from deltatrace.models import Capture, Event

    with transaction.atomic():
        incident = get_or_create_incident(incident_name)
        capture = get_or_create_capture(incident, HEADER)
        capture = Capture.objects.select_for_update().get(pk=capture.pk)  # serialises seqs
        last = Event.objects.filter(capture=capture).aggregate(m=Max("seq"))["m"] or 0
        events = order_events(last + 1, order, results, reports, ts_ns)
        summary = append_events(capture, events)
        if summary["accepted"] != len(events):
            raise RuntimeError(f"sandbox order {order.cl_ord_id} was not recorded: {summary}")
    return f"{capture.pk}:{last + 1}"


def parse_order(data: dict[str, Any], n: int) -> NewOrder:
    if not isinstance(data, dict):
        raise OrderError("the order must be a JSON object")
    symbol = data.get("symbol")
    if not isinstance(symbol, str) or not symbol or len(symbol) > 50:
        raise OrderError("symbol: a non-empty string is required")
    side = str(data.get("side", "")).upper()
    if side not in SIDES:
        raise OrderError(f"side must be one of {', '.join(SIDES)}")
    qty = data.get("qty")
    if type(qty) is not int or qty <= 0:
        raise OrderError("qty must be a positive integer")
    ord_type = str(data.get("type", LIMIT)).upper()
    if ord_type not in (LIMIT, MARKET):
        raise OrderError("type must be LIMIT or MARKET")
    price = None
    if ord_type == LIMIT:
        try:
            price = Decimal(str(data.get("price")))
        except InvalidOperation:
            price = None
        if price is None or not price.is_finite() or price <= 0:
            raise OrderError("a LIMIT order needs a positive decimal price")
    tif = str(data.get("tif", "DAY")).upper()
    if tif not in TIFS:
        raise OrderError(f"tif must be one of {', '.join(TIFS)}")
    fields = {k: data.get(k, "") for k in ("account", "strategy", "cl_ord_id")}
    if not all(isinstance(v, str) and len(v) <= 100 for v in fields.values()):
        raise OrderError("account, strategy and cl_ord_id must be strings")
    return NewOrder(
        fields["cl_ord_id"] or f"SBX-{n}",
        symbol,
        side,
        qty,
        price,
        ord_type,
        tif,
        fields["account"],
        fields["strategy"],
    )


class Sandbox:
    def __init__(self) -> None:
        self.engine = MatchingEngine(VENUE)
        self.gateway = RiskGateway(self.engine, DEFAULT_LIMITS, name=GATEWAY)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def sync(self) -> None:
        """Bring kill switches and limits in line with the database."""
        wanted = {
            (k.scope, k.value): k.reason
            for k in KillSwitch.objects.filter(released__isnull=True).order_by("id")
        }
        with self._lock:
            current = {(s, v): r for s, v, r in self.gateway.kill_switches()}
            for scope, value in current.keys() - wanted.keys():
                self.gateway.release_kill_switch(scope, value)
            for (scope, value), reason in wanted.items():
                if current.get((scope, value)) != reason:
                    self.gateway.engage_kill_switch(scope, value, reason, time.time_ns())
            limits = limits_from(dict(RiskLimitSetting.objects.values_list("name", "value")))
            if limits != self.gateway.limits:
                self.gateway.update_limits(limits)

    def submit(self, data: dict[str, Any]) -> dict[str, Any]:
        """Submit one order; ``{"accepted", "risk": [...], "reports": [...]}`` as payload dicts.

        The order, its checks and reports are recorded in the incident named by ``incident``."""
        order = parse_order(data, next(self._ids))
        incident = parse_incident(data)
        self.sync()
        with self._lock:  # recorded in the order the gateway saw them
            ts = time.time_ns()
            results, reports = self.gateway.submit(order, ts)
            record_order(incident, order, results, reports, ts)
        return {
            "cl_ord_id": order.cl_ord_id,
            "accepted": all(r.passed for r in results) and reports[0].exec_type != "REJECTED",
            "risk": [r.to_payload() for r in results],
            "reports": [{**r.to_payload(), "order_id": r.order_id} for r in reports],
        }

    def state(self) -> dict[str, Any]:
        self.sync()
        with self._lock:
            lim = self.gateway.limits
            return {
                "venue": VENUE,
                "kill_switches": [
                    {"scope": s, "value": v, "reason": r}
                    for s, v, r in self.gateway.kill_switches()
                ],
                "limits": {
                    name: None if getattr(lim, name) is None else str(getattr(lim, name))
                    for name in rules.LIMITS
                },
            }


_service: Sandbox | None = None
_service_lock = threading.Lock()


def service() -> Sandbox:
    """The sandbox of this process (made on first use)."""
    global _service
    with _service_lock:
        if _service is None:
            _service = Sandbox()
        return _service


def reset() -> None:
    """Forget the in-memory book and positions (tests); controls come back from the database."""
    global _service
    with _service_lock:
        _service = None
