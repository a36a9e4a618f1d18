"""The simulated hosts: market-data feed, strategy, risk gateway and venue.

Messages between hosts are tuples ``(kind, keys, payload, capture, seq, hlc)``: the sender's
recorded event, so the receiver records a ``send_receive`` parent to it and merges its HLC.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from adapters.strategies.base import Context, Strategy, StrategyEvent, edge_kind
from adapters.testbed.writer import CaptureWriter

Msg = tuple[str, dict[str, str], dict[str, Any], str, int, list[int]]
Send = Callable[[Msg], None]

STRATEGY_INPUT_LANES = {
    "MDTick": "md",
    "ExecReport": "executor",
    "Fill": "executor",
    "RiskCheck": "executor",
    "Session": "session",
}


def msg_of(w: CaptureWriter, ev: dict[str, Any]) -> Msg:
    return (ev["kind"], ev["keys"], ev["payload"], w.capture, ev["seq"], ev["hlc"])


def sr(msg: Msg) -> list[dict[str, Any]]:
    return [{"capture": msg[3], "seq": msg[4], "kind": "send_receive"}]


def cents(c: int) -> str:
    text = _CENTS.get(c)
    if text is None:
        sign = "-" if c < 0 else ""
        a = abs(c)
        text = _CENTS[c] = f"{sign}{a // 100}.{a % 100:02d}"
    return text


_CENTS: dict[int, str] = {}  # a walk revisits the same few hundred prices


class FeedHost:
    """Publishes top-of-book ticks from a trending random walk (in cents) to its subscribers."""

    def __init__(
        self,
        w: CaptureWriter,
        rng: random.Random,
        symbol: str,
        start_cents: int,
        interval_ns: int,
        n_ticks: int,
        subscribers: list[Send],
    ) -> None:
        self.w, self.rng, self.symbol = w, rng, symbol
        self.mid2 = start_cents * 2  # twice the mid, so half-cent mids stay integers
        self.interval, self.left = interval_ns, n_ticks
        self.subscribers = subscribers
        self.drift = 0
        self.keys = {"symbol": symbol}
        self.jump_at: dict[int, int] = {}  # tick number -> cents to jump (scenario shocks)
        self.n = 0

    def start(self) -> None:
        self.w.sim.after(self.interval, self.tick)

    def tick(self) -> None:
        rng = self.rng
        self.n += 1
        if self.n % 50 == 1:
            self.drift = rng.choice((-1, 0, 0, 1))
        r = rng.random()
        step = self.drift if r < 0.35 else (1 if r < 0.5 else -1 if r < 0.65 else 0)
        self.mid2 += 2 * (step + self.jump_at.get(self.n, 0))
        half = 1 if rng.random() < 0.7 else 2
        bid = (self.mid2 - half * 2 + 1) // 2 if self.mid2 % 2 else (self.mid2 - half) // 2
        ask = bid + half
        payload = {
            "bid": cents(bid),
            "ask": cents(ask),
            # random() is several times cheaper than randrange() on this hot path
            "bid_size": 100 + 100 * int(rng.random() * 19),
            "ask_size": 100 + 100 * int(rng.random() * 19),
        }
        w = self.w
        ev = w.record("MDTick", "md", self.keys, payload, [])
        msg = ("MDTick", self.keys, payload, w.capture, ev["seq"], ev["hlc"])
        for send in self.subscribers:
            send(msg)
        self.left -= 1
        if self.left > 0:
            sim = w.sim
            delay = self.interval + int(rng.random() * (self.interval // 4))
            sim.push(sim.now + delay, self.tick, ())


class SerialHost:
    """A host that does one piece of work at a time: what arrives while it works waits its turn,
    and what the work produces is stamped and sent when it ends."""

    w: CaptureWriter
    busy_until: int

    def _busy(self, fn: Callable[..., Any], *args: Any) -> bool:
        """Still working: ``fn(*args)`` runs when the work ends (True if it was deferred)."""
        sim = self.w.sim
        if sim.now < self.busy_until:
            sim.push(self.busy_until, fn, args)
            return True
        return False

    def _work(self, duration: Callable[[], int] | None) -> tuple[int, int | None]:
        """Start work now: when it ends, and this host's clock then (None: it takes no time)."""
        sim = self.w.sim
        done = sim.now + (duration() if duration is not None else 0)
        if done > sim.now:
            self.busy_until = done
            return done, self.w.at(done)
        return done, None

    def _later(self, done: int, fn: Callable[..., Any], *args: Any) -> None:
        """``fn(*args)`` when the work ends (at once if it took no time)."""
        if done > self.w.sim.now:
            self.w.sim.push(done, fn, args)
        else:
            fn(*args)


class StrategyHost(SerialHost):
    """Runs a strategy: records each input as received, then its stage outputs, and sends Orders.

    Deciding takes time: ``compute`` draws the nanoseconds one decision that emits outputs takes
    (signal, plan and orders are stamped and the orders sent when it ends). The host decides one
    input at a time, so what arrives meanwhile waits and is recorded when its turn comes.
    """

    def __init__(
        self,
        w: CaptureWriter,
        strategy: Strategy,
        seed: int,
        send_order: Send,
        compute: Callable[[], int] | None = None,
    ) -> None:
        self.w = w
        self.strategy = strategy
        self.ctx = Context(seed)
        self.send_order = send_order
        self.compute = compute
        self.busy_until = 0

    def receive(self, msg: Msg) -> None:
        if self._busy(self.receive, msg):
            return
        kind = msg[0]
        parents = [{"capture": msg[3], "seq": msg[4], "kind": "send_receive"}]  # sr(msg)
        ev = self.w.record(kind, STRATEGY_INPUT_LANES[kind], msg[1], msg[2], parents, None, msg[5])
        self._run(ev)

    def on_link(self, event: str, peer: str) -> None:
        if self._busy(self.on_link, event, peer):
            return
        ev = self.w.record("Session", "session", {}, {"event": event, "peer": peer}, [])
        self._run(ev)

    def _run(self, ev: dict[str, Any]) -> None:
        w = self.w
        ts = ev["ts_ns"]
        ctx = self.ctx
        ctx.now_ns = ts
        capture = w.capture
        sev = StrategyEvent(ev["kind"], ts, ev["keys"], ev["payload"], (capture, ev["seq"]))
        outputs = self.strategy.handle(sev, ctx)
        if not outputs:
            return
        done, ended = self._work(self.compute)
        if ended is not None:
            ts = ended  # the outputs exist when the decision ends
        kinds = w.kinds
        record = w.record
        for ref, out in outputs:
            kind = out.kind
            parents: list[dict[str, Any]] = []
            for cap, seq in out.parents:
                if cap == capture:
                    parents.append({"seq": seq, "kind": edge_kind(kinds[seq], kind)})
                else:
                    parents.append({"capture": cap, "seq": seq, "kind": "causal"})
            rec = record(kind, out.lane, out.keys, out.payload, parents, ts)
            assert rec["seq"] == ref[1], "outputs must follow their input with consecutive seqs"
            if kind == "Order":
                order = (kind, out.keys, out.payload, capture, rec["seq"], rec["hlc"])
                self._later(done, self.send_order, order)


def to_request(keys: dict[str, str], p: dict[str, Any], strategy: str) -> Any:
    """A strategy Order event as the exchange sandbox's request object."""
    from adapters.exchange.types import CancelRequest, NewOrder, ReplaceRequest

    price = None if p.get("price") is None else Decimal(p["price"])
    account = p.get("account", "")
    if p["action"] == "new":
        return NewOrder(
            keys["cl_ord_id"],
            keys["symbol"],
            p["side"],
            int(p["qty"]),
            price,
            p.get("type", "LIMIT"),
            p.get("tif", "DAY"),
            account,
            strategy,
        )
    if p["action"] == "cancel":
        return CancelRequest(
            keys["cl_ord_id"], keys["orig_cl_ord_id"], keys["symbol"], account, strategy
        )
    return ReplaceRequest(
        keys["cl_ord_id"],
        keys["orig_cl_ord_id"],
        keys["symbol"],
        int(p["qty"]),
        price,
        account,
        strategy,
    )
