"""Order entry to the exchange sandbox over FIX: NewOrderSingle (D), OrderCancelRequest (F) and
OrderCancelReplaceRequest (G) in, through the `RiskGateway`, ExecutionReports (8) and
OrderCancelRejects (9) out. It is an application of the same acceptor as the drop copy
(`adapters.fix.acceptor.FixAcceptor`), so the session rules, resends and PossDup are shared.
Malformed orders get a BusinessMessageReject (j) and never reach the gateway.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.exchange.risk import RiskGateway
from adapters.exchange.types import (
    BUY,
    DAY,
    FOK,
    IOC,
    LIMIT,
    MARKET,
    SELL,
    CancelRequest,
    ExecReport,
    NewOrder,
    ReplaceRequest,
)
from adapters.fix.acceptor import Body, FixAcceptor, MemoryStore, SessionStore
from adapters.fix.session import SessionConfig
from adapters.fix.wire import Frame, format_utc_timestamp

SIDES = {b"1": BUY, b"2": SELL}
ORD_TYPES = {b"1": MARKET, b"2": LIMIT}
TIFS = {b"0": DAY, b"3": IOC, b"4": FOK}
SIDE_CODES = {BUY: "1", SELL: "2"}
TYPE_CODES = {MARKET: "1", LIMIT: "2"}
TIF_CODES = {DAY: "0", IOC: "3", FOK: "4"}
ORD_STATUS = {
    "NEW": "0",
    "PARTIALLY_FILLED": "1",
    "FILLED": "2",
    "CANCELED": "4",
    "REPLACED": "5",
    "REJECTED": "8",
}
# ExecType(150): FIX 4.4 and later report every trade as F; FIX 4.2 as partial fill/fill.
EXEC_TYPE_44 = {"NEW": "0", "PARTIAL_FILL": "F", "FILL": "F", "CANCELED": "4", "REPLACED": "5"}
EXEC_TYPE_42 = {"NEW": "0", "PARTIAL_FILL": "1", "FILL": "2", "CANCELED": "4", "REPLACED": "5"}
# BusinessRejectReason(380)
UNSUPPORTED_MSG_TYPE = 3
REQUIRED_FIELD_MISSING = 5
OTHER = 0


class OrderRejected(ValueError):
    def __init__(self, reason: int, text: str, tag: int | None = None) -> None:
        super().__init__(text)
        self.reason, self.text, self.tag = reason, text, tag


def _text(f: Frame, tag: int, required: bool = True) -> str:
    value = f.get(tag)
    if value is None or value == b"":
        if required:
            raise OrderRejected(REQUIRED_FIELD_MISSING, f"required tag {tag} missing", tag)
        return ""
    return value.decode("utf-8", "replace")


def _enum(f: Frame, tag: int, table: dict[bytes, str], default: str | None = None) -> str:
    value = f.get(tag)
    if value is None and default is not None:
        return default
    if value is None:
        raise OrderRejected(REQUIRED_FIELD_MISSING, f"required tag {tag} missing", tag)
    if value not in table:
        raise OrderRejected(
            OTHER, f"tag {tag} value {value.decode(errors='replace')!r} unsupported", tag
        )
    return table[value]


def _qty(f: Frame, tag: int = 38) -> int:
    value = _text(f, tag)
    try:
        qty = int(Decimal(value))
    except (InvalidOperation, ValueError):
        raise OrderRejected(OTHER, f"tag {tag} is not a quantity: {value!r}", tag) from None
    if qty <= 0 or Decimal(value) != qty:
        raise OrderRejected(OTHER, f"tag {tag} must be a positive whole quantity", tag)
    return qty


def _price(f: Frame, required: bool) -> Decimal | None:
    value = _text(f, 44, required)
    if not value:
        return None
    try:
        price = Decimal(value)
    except InvalidOperation:
        raise OrderRejected(OTHER, f"tag 44 is not a price: {value!r}", 44) from None
    if not price.is_finite() or price <= 0:
        raise OrderRejected(OTHER, "tag 44 must be a positive price", 44)
    return price


def parse_order(f: Frame) -> NewOrder | CancelRequest | ReplaceRequest:
    """A D/F/G message as the sandbox's request type (OrderRejected when it is malformed)."""
    mt = f.msg_type
    cl_ord_id, symbol, account = _text(f, 11), _text(f, 55), _text(f, 1, required=False)
    if mt == "D":
        ord_type = _enum(f, 40, ORD_TYPES)
        return NewOrder(
            cl_ord_id,
            symbol,
            _enum(f, 54, SIDES),
            _qty(f),
            # A market order's Price(44), if an engine sends one, carries no meaning: ignore it.
            _price(f, required=True) if ord_type == LIMIT else None,
            ord_type,
            _enum(f, 59, TIFS, DAY),
            account,
        )
    if mt == "F":
        return CancelRequest(cl_ord_id, _text(f, 41), symbol, account)
    if mt == "G":
        return ReplaceRequest(cl_ord_id, _text(f, 41), symbol, _qty(f), _price(f, False), account)
    raise OrderRejected(UNSUPPORTED_MSG_TYPE, f"MsgType {mt!r} not supported by the sandbox")


class FixOrderGateway:
    """The acceptor application: orders in, reports out, in the order the gateway produced them."""

    def __init__(
        self,
        gateway: RiskGateway,
        begin_string: str = "FIX.4.4",
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.gateway = gateway
        self.exec_types = EXEC_TYPE_42 if begin_string == "FIX.4.2" else EXEC_TYPE_44
        self.clock = clock
        self.risk_results: list[Any] = []

    async def on_message(self, message: Frame, recv_ts_ns: int) -> list[tuple[str, Body]]:
        return self.handle(message, recv_ts_ns)

    def handle(self, f: Frame, ts_ns: int) -> list[tuple[str, Body]]:
        try:
            request = parse_order(f)
        except OrderRejected as exc:
            body: Body = [(45, f.get(34) or b"0"), (372, f.msg_type), (380, exc.reason)]
            if f.get(11):
                body.append((379, f.get(11) or b""))
            return [("j", [*body, (58, exc.text)])]
        if isinstance(request, NewOrder):
            results, reports = self.gateway.submit(request, ts_ns)
            self.risk_results += results
        elif isinstance(request, CancelRequest):
            reports = self.gateway.cancel(request, ts_ns)
        else:
            reports = self.gateway.replace(request, ts_ns)
        return [self.encode(r, f.msg_type) for r in reports]

    def encode(self, r: ExecReport, request_type: str) -> tuple[str, Body]:
        now = format_utc_timestamp(r.ts_ns or self.clock())
        if r.exec_type == "CANCEL_REJECT":
            body: Body = [
                (37, r.order_id or "NONE"),
                (11, r.cl_ord_id),
                (41, r.orig_cl_ord_id),
                (39, ORD_STATUS.get(r.ord_status, "8")),
                (434, "2" if request_type == "G" else "1"),
                (60, now),
            ]
            return "9", [*body, *([(58, r.text)] if r.text else [])]
        body = [
            (37, r.order_id or "NONE"),
            (17, r.exec_id),
            (11, r.cl_ord_id),
            *([(41, r.orig_cl_ord_id)] if r.orig_cl_ord_id else []),
            (150, self.exec_types.get(r.exec_type, "8")),
            (39, ORD_STATUS.get(r.ord_status, "8")),
            *([(1, r.account)] if r.account else []),
            (55, r.symbol),
            (54, SIDE_CODES[r.side]),
            (38, r.order_qty),
            (40, TYPE_CODES.get(r.ord_type, "2")),
            *([(44, str(r.price))] if r.price is not None else []),
            (59, TIF_CODES.get(r.tif, "0")),
        ]
        if r.last_qty:
            body += [(32, r.last_qty), (31, str(r.last_px))]
        body += [(151, r.leaves_qty), (14, r.cum_qty), (6, str(r.avg_px)), (60, now)]
        if r.text:
            body.append((58, r.text))
        return "8", body


async def start_gateway(
    gateway: RiskGateway,
    config: SessionConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    store: SessionStore | None = None,
) -> tuple[FixAcceptor, int]:
    """A listening order-entry acceptor in front of `gateway`; returns it and its port."""
    app = FixOrderGateway(gateway, config.begin_string)

    async def inline(fn: Callable[..., Any], *args: Any) -> Any:
        return fn(*args)  # the in-memory store never blocks; a database store goes to a thread

    if store is None:
        acceptor = FixAcceptor(config, MemoryStore(), app, blocking=inline)
    else:
        acceptor = FixAcceptor(config, store, app)
    _, bound = await acceptor.start(host, port)
    return acceptor, bound
