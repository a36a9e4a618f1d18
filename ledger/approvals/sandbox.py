"""The process-wide exchange-gateway sandbox: a matching engine behind the risk gateway.

Kill switches and limits live in the database (``KillSwitch``, ``RiskLimitSetting``), set by executed
triggers; every order first brings the in-memory gateway up to date with them, so any number of
server processes enforce the same controls. A rejected order never reaches the venue.
"""

from __future__ import annotations

import itertools
import threading
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.exchange import LIMIT, MARKET, MatchingEngine, NewOrder, RiskGateway
from adapters.exchange.types import SIDES, TIFS, RiskLimits
from ledger.approvals import rules
from ledger.approvals.models import KillSwitch, RiskLimitSetting

VENUE = "XSIM"
DEFAULT_LIMITS = RiskLimits(max_qty=10_000)


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
        self.gateway = RiskGateway(self.engine, DEFAULT_LIMITS, name="SANDBOX")
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
        """Submit one order; ``{"accepted", "risk": [...], "reports": [...]}`` as payload dicts."""
        order = parse_order(data, next(self._ids))
        self.sync()
        with self._lock:
            results, reports = self.gateway.submit(order, time.time_ns())
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
