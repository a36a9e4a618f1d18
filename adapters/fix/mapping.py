"""FIX message → capture-format events (docs/capture-format.md), with order chains linked.

Pure and deterministic: no Django. One ``FixNormalizer`` per capture assigns the gap-free ``seq`` and
remembers ClOrdID / OrderID / (SenderCompID, MsgSeqNum) so later messages name their causes.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

SIDES = {
    b"1": "BUY",
    b"2": "SELL",
    b"3": "BUY_MINUS",
    b"4": "SELL_PLUS",
    b"5": "SELL_SHORT",
    b"6": "SELL_SHORT_EXEMPT",
    b"7": "UNDISCLOSED",
    b"8": "CROSS",
    b"9": "CROSS_SHORT",
}
ORD_TYPES = {
    b"1": "MARKET",
    b"2": "LIMIT",
    b"3": "STOP",
    b"4": "STOP_LIMIT",
    b"5": "MARKET_ON_CLOSE",
    b"K": "MARKET_WITH_LEFTOVER_AS_LIMIT",
    b"P": "PEGGED",
}
TIFS = {
    b"0": "DAY",
    b"1": "GTC",
    b"2": "OPG",
    b"3": "IOC",
    b"4": "FOK",
    b"5": "GTX",
    b"6": "GTD",
    b"7": "AT_CLOSE",
}
EXEC_TYPES = {
    b"0": "NEW",
    b"1": "PARTIAL_FILL",
    b"2": "FILL",
    b"3": "DONE_FOR_DAY",
    b"4": "CANCELED",
    b"5": "REPLACED",
    b"6": "PENDING_CANCEL",
    b"7": "STOPPED",
    b"8": "REJECTED",
    b"9": "SUSPENDED",
    b"A": "PENDING_NEW",
    b"B": "CALCULATED",
    b"C": "EXPIRED",
    b"D": "RESTATED",
    b"E": "PENDING_REPLACE",
    b"F": "TRADE",
    b"G": "TRADE_CORRECT",
    b"H": "TRADE_CANCEL",
    b"I": "ORDER_STATUS",
}
ORD_STATUS = {
    **EXEC_TYPES,
    b"1": "PARTIALLY_FILLED",
    b"2": "FILLED",
    b"D": "ACCEPTED_FOR_BIDDING",
}
MD_ENTRY_TYPES = {
    b"0": "BID",
    b"1": "OFFER",
    b"2": "TRADE",
    b"3": "INDEX_VALUE",
    b"4": "OPENING_PRICE",
    b"5": "CLOSING_PRICE",
    b"6": "SETTLEMENT_PRICE",
    b"7": "TRADING_SESSION_HIGH",
    b"8": "TRADING_SESSION_LOW",
    b"9": "VWAP",
    b"B": "TRADE_VOLUME",
    b"C": "OPEN_INTEREST",
}
MD_ACTIONS = {b"0": "NEW", b"1": "CHANGE", b"2": "DELETE"}
# Where an MD entry's price and size go in the MDTick payload.
_MD_SLOTS = {b"0": ("bid", "bid_size"), b"1": ("ask", "ask_size"), b"2": ("last", "last_size")}
SESSION_TYPES = frozenset({b"A", b"0", b"1", b"2", b"4", b"5"})
# Session payload fields per message: (tag, name, is_int).
_SESSION_FIELDS: dict[bytes, tuple[tuple[bytes, str, bool], ...]] = {
    b"A": (
        (b"98", "encrypt_method", True),
        (b"108", "heart_bt_int", True),
        (b"141", "reset_seq_num_flag", False),
        (b"1137", "default_appl_ver_id", False),
    ),
    b"0": ((b"112", "test_req_id", False),),
    b"1": ((b"112", "test_req_id", False),),
    b"2": ((b"7", "begin_seq_no", True), (b"16", "end_seq_no", True)),
    b"4": ((b"36", "new_seq_no", True), (b"123", "gap_fill_flag", False)),
    b"5": ((b"58", "text", False),),
}
_REJECTS: dict[bytes, tuple[str, tuple[tuple[bytes, str, bool], ...]]] = {
    b"9": (
        "CANCEL_REJECT",
        (
            (b"39", "ord_status", False),
            (b"102", "cxl_rej_reason", True),
            (b"434", "cxl_rej_response_to", False),
            (b"58", "text", False),
        ),
    ),
    b"3": (
        "SESSION_REJECT",
        (
            (b"45", "ref_seq_num", True),
            (b"371", "ref_tag_id", True),
            (b"372", "ref_msg_type", False),
            (b"373", "session_reject_reason", True),
            (b"58", "text", False),
        ),
    ),
    b"j": (
        "BUSINESS_REJECT",
        (
            (b"45", "ref_seq_num", True),
            (b"372", "ref_msg_type", False),
            (b"379", "business_reject_ref_id", False),
            (b"380", "business_reject_reason", True),
            (b"58", "text", False),
        ),
    ),
}
_OLD_BEGIN_STRINGS = frozenset({b"FIX.4.0", b"FIX.4.1", b"FIX.4.2"})
_ORDER_ACTIONS = {b"D": "new", b"F": "cancel", b"G": "replace"}
_MD_TYPES = frozenset({b"W", b"X"})
_KEY_TAGS = (
    (b"55", "symbol"),
    (b"11", "cl_ord_id"),
    (b"41", "orig_cl_ord_id"),
    (b"37", "order_id"),
    (b"17", "exec_id"),
)
_ER_QTYS = ((b"38", "order_qty"), (b"32", "last_qty"))
_ER_TEXTS = ((b"44", "price"), (b"31", "last_px"), (b"58", "text"), (b"103", "ord_rej_reason"))

_TS_BASE = re.compile(rb"(\d{4})(\d{2})(\d{2})-(\d{2}):(\d{2}):(\d{2})")
_ts_cache: dict[bytes, int] = {}


class FixMappingError(ValueError):
    """A framed message that cannot become an event (e.g. an unreadable SendingTime)."""


def utc_ts_ns(value: bytes) -> int:
    """``YYYYMMDD-HH:MM:SS[.f…]`` (UTCTimestamp, up to nanoseconds) → exact epoch nanoseconds."""
    base = _ts_cache.get(value[:17])
    if base is None:
        m = _TS_BASE.fullmatch(value[:17])
        if m is None:
            raise FixMappingError(f"bad UTC timestamp {value[:40]!r}")
        y, mo, d, h, mi, s = (int(g) for g in m.groups())
        try:
            # Second 60 is a leap second in FIX; it is counted as the next second's start.
            epoch = datetime(y, mo, d, h, mi, min(s, 59)).toordinal() - 719163
        except ValueError as exc:
            raise FixMappingError(f"bad UTC timestamp {value[:40]!r}: {exc}") from None
        if len(_ts_cache) > 100_000:
            _ts_cache.clear()
        base = _ts_cache[value[:17]] = (((epoch * 24 + h) * 60 + mi) * 60 + s) * 1_000_000_000
    if len(value) == 17:
        return base
    frac = value[18:]
    if value[17:18] != b"." or not 1 <= len(frac) <= 9 or not frac.isdigit():
        raise FixMappingError(f"bad UTC timestamp fraction {value[:40]!r}")
    return base + int(frac) * 10 ** (9 - len(frac))


def _qty(v: bytes) -> int | str:
    """Quantities as integers when whole, otherwise the decimal string (never a float)."""
    return int(v) if v.isdigit() else v.decode()


def _opt(payload: dict[str, Any], f: dict[bytes, bytes], spec: tuple[tuple[bytes, str, bool], ...]):
    for tag, name, is_int in spec:
        v = f.get(tag)
        if v is not None:
            payload[name] = int(v) if is_int and v.isdigit() else v.decode()


def _code(table: dict[bytes, str], v: bytes | None) -> str | None:
    return None if v is None else table.get(v) or v.decode()


class FixNormalizer:
    """Turns FIX messages into capture events for one capture; assigns ``seq`` and ``parents``.

    ``normalize`` takes simplefix-style (tag, value) pairs; ``normalize_tags`` is the bulk path used by
    the log reader, taking the framer's tag-text dict and flat [tag, value, ...] list.
    """

    def __init__(self, capture: str, host: str) -> None:
        self.capture = capture
        self.host = host
        self.seq = 0
        self._orders: dict[str, int] = {}  # ClOrdID → seq of the Order event
        self._order_ids: dict[str, int] = {}  # OrderID → seq of the first Order for it
        self._by_msg: dict[tuple[str, int], int] = {}  # (SenderCompID, MsgSeqNum) → seq

    def normalize(
        self,
        fields: list[tuple[int, bytes]],
        raw: bytes,
        recv_ts_ns: int | None = None,
        direction: str | None = None,
    ) -> list[dict[str, Any]]:
        """Events for one message (usually one; an MD message gives one per entry, a trade two)."""
        flat = [x for t, v in fields for x in (b"%d" % t, v)]
        it = iter(flat)
        return self.normalize_tags(dict(zip(it, it, strict=True)), flat, raw, recv_ts_ns, direction)

    def normalize_tags(
        self,
        f: dict[bytes, bytes],
        flat: list[bytes],
        raw: bytes,
        recv_ts_ns: int | None = None,
        direction: str | None = None,
    ) -> list[dict[str, Any]]:
        seq = self.seq
        try:
            return self._normalize(f, flat, raw, recv_ts_ns, direction)
        except UnicodeDecodeError:
            # Non-UTF-8 values: map again with them escaped, so no seq is skipped or reused.
            self.seq = seq
            flat = [v.decode("utf-8", "backslashreplace").encode() for v in flat]
            it = iter(flat)
            f = dict(zip(it, it, strict=True))
            return self._normalize(f, flat, raw, recv_ts_ns, direction)

    def _normalize(
        self,
        f: dict[bytes, bytes],
        flat: list[bytes],
        raw: bytes,
        recv_ts_ns: int | None,
        direction: str | None,
    ) -> list[dict[str, Any]]:
        msg_type = f.get(b"35")
        if msg_type is None:
            raise FixMappingError("missing MsgType(35)")
        sent = f.get(b"52")
        if sent is None:
            raise FixMappingError("missing SendingTime(52)")
        ts = utc_ts_ns(sent)
        sender_b = f.get(b"49")
        sender = sender_b.decode() if sender_b is not None else self.host
        target = f.get(b"56")
        seq_num_b = f.get(b"34")
        seq_num = int(seq_num_b) if seq_num_b is not None and seq_num_b.isdigit() else None
        payload: dict[str, Any] = {
            "msg_type": msg_type.decode(),
            "sender_comp_id": sender,
            "target_comp_id": target.decode() if target is not None else None,
            "msg_seq_num": seq_num,
        }
        if direction is not None:
            payload["direction"] = direction
        tt = f.get(b"60")
        if tt is not None:
            payload["transact_ts_ns"] = utc_ts_ns(tt)
        if f.get(b"43") == b"Y":
            payload["poss_dup"] = True
        raw_text = raw.decode("utf-8", "backslashreplace")
        base = (ts, recv_ts_ns, sender)

        if msg_type == b"8":
            events = self._exec_report(f, base, payload, raw_text)
        elif msg_type in _ORDER_ACTIONS:
            events = [self._order(f, msg_type, base, payload, raw_text)]
        elif msg_type in _MD_TYPES:
            events = self._market_data(f, flat, base, payload, raw_text)
        elif msg_type in SESSION_TYPES:
            _opt(payload, f, _SESSION_FIELDS[msg_type])
            events = [self._event("Session", base, {}, [], payload, raw_text)]
        elif msg_type in _REJECTS:
            events = [self._reject(f, msg_type, base, payload, raw_text)]
        else:
            # Anything else is kept, as an annotation with all its fields, never dropped.
            payload["fields"] = [
                [int(t), v.decode("utf-8", "backslashreplace")]
                for t, v in zip(flat[0::2], flat[1::2], strict=True)
            ]
            events = [self._event("Annotation", base, self._keys(f), [], payload, raw_text)]
        if seq_num is not None:
            self._by_msg[(sender, seq_num)] = events[0]["seq"]
        return events

    def _event(
        self,
        kind: str,
        base: tuple[int, int | None, str],
        keys: dict[str, str],
        parents: list[dict[str, Any]],
        payload: dict[str, Any],
        raw: str | None,
    ) -> dict[str, Any]:
        self.seq += 1
        ev = {
            "seq": self.seq,
            "kind": kind,
            "ts_ns": base[0],
            "recv_ts_ns": base[1],
            "host": base[2],
            "lane": "fix",
            "keys": keys,
            "parents": parents,
            "payload": payload,
        }
        if raw is not None:
            ev["raw"] = raw
        return ev

    @staticmethod
    def _keys(f: dict[bytes, bytes]) -> dict[str, str]:
        keys = {}
        for tag, name in _KEY_TAGS:
            v = f.get(tag)
            if v is not None and v != b"NONE":  # "NONE" is FIX's placeholder for no OrderID
                keys[name] = v.decode()
        return keys

    def _order_parent(self, keys: dict[str, str], kind: str, via: str) -> list[dict[str, Any]]:
        seq = self._orders.get(keys.get(via, ""))
        if seq is None and "order_id" in keys:
            seq = self._order_ids.get(keys["order_id"])
        return [] if seq is None else [{"seq": seq, "kind": kind}]

    def _order(self, f, msg_type, base, payload, raw) -> dict[str, Any]:
        keys = self._keys(f)
        action = _ORDER_ACTIONS[msg_type]
        qty, price = f.get(b"38"), f.get(b"44")
        payload["action"] = action
        payload["side"] = _code(SIDES, f.get(b"54"))
        payload["qty"] = _qty(qty) if qty is not None else None
        payload["price"] = price.decode() if price is not None else None
        if action != "cancel":
            payload["type"] = _code(ORD_TYPES, f.get(b"40"))
            payload["tif"] = _code(TIFS, f.get(b"59", b"0"))  # absent TimeInForce means DAY
        account = f.get(b"1")
        if account is not None:
            payload["account"] = account.decode()
        parents = (
            [] if action == "new" else self._order_parent(keys, "order_chain", "orig_cl_ord_id")
        )
        ev = self._event("Order", base, keys, parents, payload, raw)
        if "cl_ord_id" in keys:
            self._orders[keys["cl_ord_id"]] = ev["seq"]
        if "order_id" in keys:
            self._order_ids.setdefault(keys["order_id"], ev["seq"])
        return ev

    def _exec_report(self, f, base, payload, raw) -> list[dict[str, Any]]:
        keys = self._keys(f)
        et = f.get(b"150")
        side = _code(SIDES, f.get(b"54"))
        cum, leaves, avg = f.get(b"14"), f.get(b"151"), f.get(b"6")
        payload["exec_type"] = _code(EXEC_TYPES, et)
        payload["ord_status"] = _code(ORD_STATUS, f.get(b"39"))
        payload["side"] = side
        payload["cum_qty"] = _qty(cum) if cum is not None else None
        payload["leaves_qty"] = _qty(leaves) if leaves is not None else None
        payload["avg_px"] = avg.decode() if avg is not None else None
        for tag, name in _ER_QTYS:
            v = f.get(tag)
            if v is not None:
                payload[name] = _qty(v)
        for tag, name in _ER_TEXTS:
            v = f.get(tag)
            if v is not None:
                payload[name] = v.decode()
        parents = self._order_parent(keys, "order_report", "cl_ord_id")
        if parents and "order_id" in keys:
            self._order_ids.setdefault(keys["order_id"], parents[0]["seq"])
        report = self._event("ExecReport", base, keys, parents, payload, raw)
        last_qty, last_px = f.get(b"32"), f.get(b"31")
        # A trade: ExecType F (FIX 4.3+), or Partial fill / Fill in FIX 4.2 and earlier.
        trade = et == b"F" or (et in (b"1", b"2") and f[b"8"] in _OLD_BEGIN_STRINGS)
        if not (trade and last_qty is not None and last_px is not None and last_qty.strip(b"0.")):
            return [report]
        fill = {
            "side": side,
            "last_qty": _qty(last_qty),
            "last_px": last_px.decode(),
            "cum_qty": payload["cum_qty"],
            "leaves_qty": payload["leaves_qty"],
        }
        parent = [{"seq": report["seq"], "kind": "report_fill"}]
        return [report, self._event("Fill", base, dict(keys), parent, fill, None)]

    def _reject(self, f, msg_type, base, payload, raw) -> dict[str, Any]:
        keys = self._keys(f)
        exec_type, spec = _REJECTS[msg_type]
        payload["exec_type"] = exec_type
        _opt(payload, f, spec)
        parents = self._order_parent(keys, "order_report", "cl_ord_id")
        ref_id = payload.get("business_reject_ref_id")
        if not parents and ref_id in self._orders:
            parents = [{"seq": self._orders[ref_id], "kind": "order_report"}]
        ref = payload.get("ref_seq_num")
        target = payload.get("target_comp_id")
        if not parents and isinstance(ref, int) and (target, ref) in self._by_msg:
            # A session/business reject answers the counterparty's message with that MsgSeqNum.
            parents = [{"seq": self._by_msg[(target, ref)], "kind": "causal"}]
        return self._event("ExecReport", base, keys, parents, payload, raw)

    def _market_data(self, f, flat, base, payload, raw) -> list[dict[str, Any]]:
        md_req = f.get(b"262")
        if md_req is not None:
            payload["md_req_id"] = md_req.decode()
        msg_symbol = f.get(b"55")
        entries: list[dict[bytes, bytes]] = []
        start = len(flat)
        i = -1
        while True:  # NoMDEntries(268) as a tag: an even position in the flat list
            try:
                i = flat.index(b"268", i + 1)
            except ValueError:
                break
            if i % 2 == 0:
                start = i + 2
                break
        # Each entry starts with the group's first tag (269 in W, 279 in X) and runs to the next.
        first = flat[start] if start < len(flat) else b""
        for i in range(start, len(flat) - 1, 2):
            tag = flat[i]
            if tag == b"10":
                break
            if tag == first:
                entries.append({})
            entries[-1].setdefault(tag, flat[i + 1])
        events = []
        for entry in entries or [{}]:
            p = dict(payload)
            et = entry.get(b"269")
            if et is not None:
                p["entry_type"] = MD_ENTRY_TYPES.get(et) or et.decode()
            price_name, size_name = _MD_SLOTS.get(et, ("price", "size"))
            px, size = entry.get(b"270"), entry.get(b"271")
            if px is not None:
                p[price_name] = px.decode()
            if size is not None:
                p[size_name] = _qty(size)
            action = entry.get(b"279")
            if action is not None:
                p["update_action"] = MD_ACTIONS.get(action) or action.decode()
            for tag, name in ((b"278", "entry_id"), (b"290", "position")):
                if tag in entry:
                    p[name] = entry[tag].decode()
            symbol = entry.get(b"55", msg_symbol)
            keys = {"symbol": symbol.decode()} if symbol is not None else {}
            # The raw message is kept once, on its first tick.
            events.append(self._event("MDTick", base, keys, [], p, None if events else raw))
        return events
