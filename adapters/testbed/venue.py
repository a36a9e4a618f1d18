"""The risk-gateway and venue hosts, built on the exchange sandbox (adapters.exchange).

The gateway runs ``RiskGateway`` against ``RemoteEngine``, a stand-in for the venue on the far side
of a network link: orders it would hand to the engine are forwarded as messages, and the venue's
reports come back through it (so the gateway's positions follow fills, as in production).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from adapters.exchange.engine import MatchingEngine
from adapters.exchange.risk import RiskGateway
from adapters.exchange.types import (
    BUY,
    SELL,
    CancelRequest,
    ExecReport,
    NewOrder,
    ReplaceRequest,
    RiskLimits,
    Trade,
)
from adapters.testbed.hosts import Msg, Send, SerialHost, msg_of, sr, to_request
from adapters.testbed.writer import CaptureWriter

Report = tuple[Msg, ExecReport | None]  # None: relayed session news, no report


def risk_limits_meta(limits: RiskLimits) -> dict[str, Any]:
    """The gateway's limits for its capture header (``meta.risk_limits``): decimals as strings, so
    a replay can rebuild exactly these limits (``replay.whatif_risk.limits_from_meta``)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(limits):
        value = getattr(limits, f.name)
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, dict):
            value = {k: value[k] for k in sorted(value)}
        out[f.name] = value
    return out


def gateway_meta(venue: str, reference: dict[str, Decimal], strategy_name: str) -> dict[str, Any]:
    """What else a counterfactual re-run of the gateway needs (``meta.risk_gateway``): the venue
    name (kill scope ``venue``), the reference prices it set, and the strategy tag on orders."""
    return {
        "venue": venue,
        "reference_prices": {s: str(reference[s]) for s in sorted(reference)},
        "strategy": strategy_name,
    }


class RemoteEngine:
    """What RiskGateway sees of a venue it reaches over the network."""

    def __init__(self, venue: str) -> None:
        self.venue = venue
        self.listeners: list[Callable[[ExecReport], None]] = []
        self.outbox: list[Any] = []  # requests to forward once the gateway has recorded them
        self.last: dict[str, ExecReport] = {}
        self.trades: dict[str, Trade] = {}

    def subscribe(self, listener: Callable[[ExecReport], None]) -> None:
        self.listeners.append(listener)

    def submit(self, order: NewOrder, ts_ns: int) -> list[ExecReport]:
        self.outbox.append(order)
        return []

    def cancel(self, req: CancelRequest, ts_ns: int) -> list[ExecReport]:
        self.outbox.append(req)
        return []

    def replace(self, req: ReplaceRequest, ts_ns: int) -> list[ExecReport]:
        self.outbox.append(req)
        return []

    def top_of_book(self, symbol: str) -> tuple[Decimal | None, int, Decimal | None, int]:
        return None, 0, None, 0

    def last_trade(self, symbol: str) -> Trade | None:
        return self.trades.get(symbol)

    def order(self, cl_ord_id: str) -> ExecReport | None:
        r = self.last.get(cl_ord_id)
        return None if r is None else r.copy()

    def deliver(self, r: ExecReport) -> None:
        self.last[r.cl_ord_id] = r
        if r.orig_cl_ord_id:
            self.last[r.orig_cl_ord_id] = r
        if r.last_qty and r.last_px is not None:
            buy, sell = (r.order_id, "") if r.side == BUY else ("", r.order_id)
            self.trades[r.symbol] = Trade(
                r.symbol, r.last_px, r.last_qty, r.ts_ns, r.side, buy, sell
            )
        for fn in self.listeners:
            fn(r)


class GatewayHost(SerialHost):
    """Records each order's receipt and risk checks; forwards passed orders; relays reports."""

    def __init__(
        self,
        w: CaptureWriter,
        venue: str,
        limits: RiskLimits,
        reference: Decimal,
        strategy_name: str,
        to_venue: Callable[[tuple[Msg, Any]], None],
        to_strategy: Send,
        check: Callable[[], int] | None = None,
    ) -> None:
        self.w = w
        self.remote = RemoteEngine(venue)
        self.risk = RiskGateway(self.remote, limits)
        self.reference = reference
        self.strategy_name = strategy_name
        self.to_venue, self.to_strategy = to_venue, to_strategy
        self.seen: dict[str, Msg | None] = {}  # cl_ord_id -> last report relayed for it
        self.check = check  # ns one order's pre-trade checks take (None: instantaneous)
        self.busy_until = 0

    def on_order(self, msg: Msg) -> None:
        if self._busy(self.on_order, msg):
            return
        w = self.w
        keys, payload = msg[1], msg[2]
        ev = w.record("Order", "risk", keys, payload, sr(msg), None, msg[5])
        cl = keys["cl_ord_id"]
        if cl in self.seen:  # a resend of an order already handled: answer with its last state
            last = self.seen[cl]
            if last is not None:
                self.to_strategy(last)
            return
        self.seen[cl] = None
        req = to_request(keys, payload, self.strategy_name)
        ts = ev["ts_ns"]
        if isinstance(req, NewOrder):
            self.risk.set_reference_price(req.symbol, self.reference)
            results, reports = self.risk.submit(req, ts)
        elif isinstance(req, CancelRequest):
            results, reports = [], self.risk.cancel(req, ts)
        else:
            results, reports = self.risk.replace_with_checks(req, ts)
        sender = ev
        # The checks take time: their results are stamped, and sent on, when they are done (the
        # rules themselves judge the order as of its arrival, as a what-if replay does).
        done, out_ts = self._work(self.check if results else None)
        if results:
            # One order's checks share their keys and parent: record them with one dict each
            # (events are never changed once recorded, so the lines come out the same).
            parents = [{"seq": ev["seq"], "kind": "order_risk"}]
            first = results[0]
            rkeys = first.to_keys()
            for r in results:
                same = r.cl_ord_id == first.cl_ord_id and r.symbol == first.symbol
                rk = rkeys if same else r.to_keys()
                sender = w.record("RiskCheck", "risk", rk, r.to_payload(), parents, out_ts)
                if r.result != "pass":  # not r.passed
                    self._later(done, self.to_strategy, msg_of(w, sender))
        for rep in reports:
            parents = [{"seq": ev["seq"], "kind": "order_report"}]
            out = w.record("ExecReport", "risk", rep.to_keys(), rep.to_payload(), parents, out_ts)
            self.seen[cl] = msg_of(w, out)
            self._later(done, self.to_strategy, self.seen[cl])
        self._later(done, self._flush, sender)

    def kill_switch(self, scope: str, value: str, reason: str) -> None:
        if self._busy(self.kill_switch, scope, value, reason):
            return
        w = self.w
        payload = {"action": "kill_switch", "scope": scope, "value": value, "reason": reason}
        ev = w.record("Annotation", "risk", {}, payload, [])
        self.risk.engage_kill_switch(scope, value, reason, ev["ts_ns"])
        self._flush(ev)

    def _flush(self, sender: dict[str, Any]) -> None:
        w = self.w
        out, self.remote.outbox = self.remote.outbox, []
        for req in out:
            if isinstance(req, CancelRequest) and sender["kind"] == "Annotation":
                keys = req.to_keys()
                payload = {**req.to_payload(), "reason": "kill_switch"}
                parents = [{"seq": sender["seq"], "kind": "causal"}]
                ev = w.record("Order", "risk", keys, payload, parents)
                self.to_venue((msg_of(w, ev), req))
            else:
                self.to_venue((msg_of(w, sender), req))

    def on_report(self, item: Report) -> None:
        if self._busy(self.on_report, item):
            return
        msg, rep = item
        w = self.w
        w.hlc.recv(w.now(), msg[5][0], msg[5][1])  # relayed, not recorded: still causally after
        if rep is not None:
            self.remote.deliver(rep)
            if rep.cl_ord_id in self.seen:
                self.seen[rep.cl_ord_id] = msg
        self.to_strategy(msg)


class VenueHost:
    """The matching engine, with background liquidity quoted at the feed's top of book."""

    def __init__(
        self,
        w: CaptureWriter,
        engine: MatchingEngine,
        to_gateway: Callable[[Report], None],
        bot_size: int = 5000,
    ) -> None:
        self.w = w
        self.engine = engine
        self.to_gateway = to_gateway
        self.bot_size = bot_size
        self.bot: dict[tuple[str, str], tuple[str, str]] = {}  # (symbol, side) -> (cl, price)
        self.n_bot = 0
        self._prices: dict[str, Decimal] = {}  # quote text -> Decimal (Decimals are immutable)

    def on_order(self, item: tuple[Msg, Any]) -> None:
        msg, req = item
        w = self.w
        ts = w.now()  # a host clock reads the same twice at one instant: read it once
        remote = msg[5]
        w.hlc.recv(ts, remote[0], remote[1])
        engine = self.engine
        if isinstance(req, NewOrder):
            reports = engine.submit(req, ts)
        elif isinstance(req, CancelRequest):
            reports = engine.cancel(req, ts)
        else:
            reports = engine.replace(req, ts)
        self._record(reports, msg)

    def on_tick(self, msg: Msg) -> None:
        """Requote the background liquidity at the tick's bid and ask (not recorded: the market)."""
        w = self.w
        ts = w.now()
        remote = msg[5]
        w.hlc.recv(ts, remote[0], remote[1])
        p, sym = msg[2], msg[1]["symbol"]
        engine = self.engine
        bot = self.bot
        prices = self._prices
        n_bot = self.n_bot
        for side, px_s in ((BUY, p["bid"]), (SELL, p["ask"])):
            cur = bot.get((sym, side))
            if cur is not None and cur[1] == px_s:
                continue
            if cur is not None:
                n_bot += 1
                reports = engine.cancel(CancelRequest(f"BOT-{n_bot}", cur[0], sym, "BOT"), ts)
            else:
                reports = []
            n_bot += 1
            cl = f"BOT-{n_bot}"
            price = prices.get(px_s)
            if price is None:
                price = prices[px_s] = Decimal(px_s)
            order = NewOrder(cl, sym, side, self.bot_size, price, "LIMIT", "DAY", "BOT")
            reports += engine.submit(order, ts)
            bot[(sym, side)] = (cl, px_s)
            for rep in reports:
                if rep.account != "BOT":  # most requotes touch only the bot's own orders
                    self._record(reports, msg)
                    break
        self.n_bot = n_bot
        engine.drain_market_data()  # the feed is the market data here: the venue's is not read

    def _record(self, reports: list[ExecReport], cause: Msg) -> None:
        w = self.w
        for rep in reports:
            if rep.account == "BOT":
                continue
            keys = rep.to_keys()  # a report and its Fill share keys (never changed once recorded)
            ev = w.record("ExecReport", "venue", keys, rep.to_payload(), sr(cause))
            self.to_gateway((msg_of(w, ev), rep))
            if rep.last_qty > 0:  # rep.is_fill
                parents = [{"seq": ev["seq"], "kind": "report_fill"}]
                fill = w.record("Fill", "venue", keys, rep.fill_payload(), parents)
                self.to_gateway((msg_of(w, fill), None))
