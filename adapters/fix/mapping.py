"""FIX message → capture-format events (docs/capture-format.md), with order chains linked.

Pure and deterministic: no Django. One ``FixNormalizer`` per capture assigns the gap-free ``seq`` and
remembers ClOrdID / OrderID / (SenderCompID, MsgSeqNum) so later messages name their causes.

Speed: the bulk path works on text. A message is decoded once (that text is also its ``raw``) and
split into a tag → value str dict, so no value is decoded field by field; each message type builds
its payload with one literal. Values from non-UTF-8 input are backslash-escaped.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Final

from adapters.fix.dictionary import (
    EXEC_TYPES,
    MD_ACTIONS,
    MD_ENTRY_TYPES,
    MD_SLOTS,
    MD_TYPES,
    OLD_BEGIN_STRINGS,
    ORD_STATUS,
    ORD_TYPES,
    ORDER_ACTIONS,
    REJECTS,
    SESSION_FIELDS,
    SESSION_TYPES,
    SIDES,
    TIFS,
)
from adapters.fix.fields import split_flat
from adapters.fix.links import OrderLinks
from adapters.fix.plans import (
    Base,
    keys_of,
    keys_of_fields,
    new_event,
    plan_for,
    put_optional,
    qty,
)
from adapters.fix.timestamps import (
    TS_CACHE,
    FixMappingError,
    frac_ns,
    text_ts_ns,
    utc_ts_ns,
)

_SHARED_MAX: Final = 1 << 16  # distinct values a normaliser shares per cache (see _share)


class FixNormalizer(OrderLinks):
    """Turns FIX messages into capture events for one capture; assigns ``seq`` and ``parents``
    (order links: see ``OrderLinks``).

    ``normalize`` takes simplefix-style (tag, value) pairs; ``normalize_values`` is the bulk path
    used by the log reader, taking the framer's values, shape and message text.
    """

    def __init__(self, capture: str, host: str, record: bool = False) -> None:
        super().__init__(record)
        self.capture = capture
        self.host = host
        # One object per value of the fields a log repeats endlessly: CompIDs, symbols, prices,
        # quantities, MDReqID, account (see _share). Shared objects keep the events smaller, and
        # marshal (a worker's hand-over) writes and reads each one once as a back-reference
        # rather than a fresh object per event.
        self._shared: dict[str, str] = {}
        self._qtys: dict[str, int | str] = {}

    def normalize(
        self,
        fields: list[tuple[int, bytes]],
        raw: bytes,
        recv_ts_ns: int | None = None,
        direction: str | None = None,
    ) -> list[dict[str, Any]]:
        """Events for one message (usually one; an MD message gives one per entry, a trade two)."""
        values = [v.decode("utf-8", "backslashreplace") for _, v in fields]
        text = raw.decode("utf-8", "backslashreplace")
        shape = "\x01".join([str(t) for t, _ in fields])
        return self.normalize_values(values, shape, text, recv_ts_ns, direction, raw)

    def normalize_values(
        self,
        values: list[str],
        shape: str,
        raw_text: str,
        recv_ts_ns: int | None = None,
        direction: str | None = None,
        raw: bytes | None = None,
    ) -> list[dict[str, Any]]:
        """``normalize`` on an already split message: its values in order, its shape (tags joined
        by SOH) and text; ``raw`` only sharpens timestamp error messages."""
        vals: list[Any] = values
        # Borrowed with a None at the end, what a plan's index -1 (tag absent) picks: cheaper
        # than a copy, and given back as it came.
        vals.append(None)
        try:
            return self._normalize(vals, shape, raw_text, recv_ts_ns, direction, raw)
        finally:
            vals.pop()

    def _normalize(
        self,
        vals: list[Any],
        shape: str,
        raw_text: str,
        recv_ts_ns: int | None,
        direction: str | None,
        raw: bytes | None,
    ) -> list[dict[str, Any]]:
        plan = plan_for(shape)
        # Typed as a tuple: compiled, it is unpacked by index rather than by the iterator protocol.
        head: tuple[Any, ...] = plan[0](vals)
        msg_type, sent, sender, target, seq_num_t, tt, poss_dup = head
        if msg_type is None:
            raise FixMappingError("missing MsgType(35)")
        if sent is None:
            raise FixMappingError("missing SendingTime(52)")
        # The common cached-second timestamps inline, in typed locals (str slices and machine-int
        # sums when compiled); frac_ns is -1 for anything but 1 to 9 ASCII digits after a '.', and
        # then text_ts_ns below gives the value or the error.
        sent_text: str = sent
        ts = 0
        cached = TS_CACHE.get(sent_text[:17])
        ok = cached is not None
        if cached is not None:
            ts = cached
            if len(sent_text) != 17:
                frac = frac_ns(sent_text)
                ok = frac >= 0
                ts += frac
        transact: int | None = None
        if tt is not None:
            tt_text: str = tt
            cached = TS_CACHE.get(tt_text[:17])
            if cached is None:
                ok = False
            else:
                tt_ns = cached
                if len(tt_text) != 17:
                    frac = frac_ns(tt_text)
                    ok = ok and frac >= 0
                    tt_ns += frac
                transact = tt_ns
        if not ok:
            try:
                ts = text_ts_ns(sent)
                transact = text_ts_ns(tt) if tt is not None else None
            except FixMappingError:
                if raw is None or raw_text.isascii():
                    raise
                self._exact_ts_error(raw)
                raise
        sender = self.host if sender is None else self._share(sender)
        if target is not None:
            target = self._share(target)
        seq_num = None
        if seq_num_t is not None:
            q = qty(seq_num_t)
            if isinstance(q, int):
                seq_num = q
        payload: dict[str, Any] = {
            "msg_type": msg_type,
            "sender_comp_id": sender,
            "target_comp_id": target,
            "msg_seq_num": seq_num,
        }
        if direction is not None:
            payload["direction"] = direction
        if transact is not None:
            payload["transact_ts_ns"] = transact
        if poss_dup == "Y":
            payload["poss_dup"] = True
        base: Base = (ts, recv_ts_ns, sender)

        if msg_type == "8":
            events = self._exec_report(plan[1](vals), base, payload, raw_text)
        elif msg_type in MD_TYPES:
            events = self._market_data(plan[3](vals), plan[4], vals, base, payload, raw_text)
        elif msg_type in ORDER_ACTIONS:
            events = [self._order(plan[2](vals), msg_type, base, payload, raw_text)]
        else:
            tags = shape.split("\x01")
            f = dict(zip(tags, vals[:-1], strict=True))
            if msg_type in SESSION_TYPES:
                put_optional(payload, f, SESSION_FIELDS[msg_type])
                events = [self._event("Session", base, {}, [], payload, raw_text)]
            elif msg_type in REJECTS:
                events = [self._reject(f, msg_type, base, payload, raw_text)]
            else:
                # Anything else is kept, as an annotation with all its fields, never dropped.
                payload["fields"] = [[int(t), v] for t, v in zip(tags, vals[:-1], strict=True)]
                events = [self._event("Annotation", base, keys_of_fields(f), [], payload, raw_text)]
        if seq_num is not None:
            self._by_msg[(sender, seq_num)] = events[0]["seq"]
        return events

    def _share(self, value: str) -> str:
        """The one shared str for a value of a low-cardinality field (CompID, symbol, price...)."""
        known = self._shared.get(value)
        if known is not None:
            return known
        if len(self._shared) >= _SHARED_MAX:  # bounded: a log of unique values starts it afresh
            self._shared.clear()
        self._shared[value] = value
        return value

    def _shared_qty(self, value: str) -> int | str:
        """``qty`` of a quantity, one object per distinct text (quantities repeat: round lots)."""
        known = self._qtys.get(value)
        if known is not None:
            return known
        if len(self._qtys) >= _SHARED_MAX:
            self._qtys.clear()
        q = self._qtys[value] = qty(value)
        return q

    @staticmethod
    def _exact_ts_error(raw: bytes) -> None:
        """Re-raise a timestamp error naming the value's original (not escaped) bytes."""
        tags = split_flat(raw)[0]
        utc_ts_ns(tags[b"52"])
        tt = tags.get(b"60")
        if tt is not None:
            utc_ts_ns(tt)

    def _event(
        self,
        kind: str,
        base: Base,
        keys: dict[str, str],
        parents: list[dict[str, Any]],
        payload: dict[str, Any],
        raw: str | None,
    ) -> dict[str, Any]:
        self.seq += 1
        return new_event(self.seq, kind, base, keys, parents, payload, raw)

    def _order(
        self, v: tuple[Any, ...], msg_type: str, base: Base, payload: dict[str, Any], raw: str
    ) -> dict[str, Any]:
        sym = v[0]
        keys = keys_of(v, None if sym is None else self._share(sym))
        side, qty, price, ot, tif, account = v[5:]
        action = ORDER_ACTIONS[msg_type]
        payload["action"] = action
        payload["side"] = None if side is None else SIDES.get(side) or side
        payload["qty"] = self._shared_qty(qty) if qty is not None else None
        payload["price"] = None if price is None else self._share(price)
        if action != "cancel":
            if tif is None:
                tif = "0"  # absent TimeInForce means DAY
            payload["type"] = None if ot is None else ORD_TYPES.get(ot) or ot
            payload["tif"] = TIFS.get(tif) or tif
        if account is not None:
            payload["account"] = self._share(account)
        self.seq = seq = self.seq + 1
        cl, orig, oid = keys.get("cl_ord_id"), keys.get("orig_cl_ord_id"), keys.get("order_id")
        if self.ops is None:
            parents = self._link_order(action == "new", cl, orig, oid, seq)
        else:
            parents = []
            self.ops.append((0, seq, action == "new", cl, orig, oid))
        return new_event(seq, "Order", base, keys, parents, payload, raw)

    def _exec_report(
        self, v: tuple[Any, ...], base: Base, payload: dict[str, Any], raw: str
    ) -> list[dict[str, Any]]:
        sym = v[0]
        keys = keys_of(v, None if sym is None else self._share(sym))
        (et, st, side, cum, leaves, avg, order_qty, last_qty, price, last_px, text, rej, begin) = v[
            5:
        ]
        side = None if side is None else SIDES.get(side) or side
        payload["exec_type"] = None if et is None else EXEC_TYPES.get(et) or et
        payload["ord_status"] = None if st is None else ORD_STATUS.get(st) or st
        payload["side"] = side
        # Four quantities on the commonest message (qty: a native call, no interpreter calls)
        if cum is not None:
            cum = self._shared_qty(cum)
        if leaves is not None:
            leaves = self._shared_qty(leaves)
        payload["cum_qty"] = cum
        payload["leaves_qty"] = leaves
        payload["avg_px"] = None if avg is None else self._share(avg)
        if order_qty is not None:
            payload["order_qty"] = self._shared_qty(order_qty)
        last_q: int | str | None = None
        if last_qty is not None:
            payload["last_qty"] = last_q = self._shared_qty(last_qty)
        if price is not None:
            payload["price"] = self._share(price)
        if last_px is not None:
            payload["last_px"] = last_px = self._share(last_px)
        if text is not None:
            payload["text"] = text
        if rej is not None:
            payload["ord_rej_reason"] = rej
        self.seq = seq = self.seq + 1
        if self.ops is None:
            parents = self._link_report(keys.get("cl_ord_id"), keys.get("order_id"))
        else:
            parents = []
            self.ops.append((1, seq, keys.get("cl_ord_id"), keys.get("order_id")))
        report = new_event(seq, "ExecReport", base, keys, parents, payload, raw)
        # A trade: ExecType F (FIX 4.3+), or Partial fill / Fill in FIX 4.2 and earlier.
        trade = et == "F" or ((et == "1" or et == "2") and begin in OLD_BEGIN_STRINGS)
        if not (trade and last_qty is not None and last_px is not None and last_qty.strip("0.")):
            return [report]
        fill = {
            "side": side,
            "last_qty": last_q,
            "last_px": last_px,
            "cum_qty": cum,
            "leaves_qty": leaves,
        }
        self.seq = seq + 1
        fill_parents = [{"seq": seq, "kind": "report_fill"}]
        return [report, new_event(seq + 1, "Fill", base, keys.copy(), fill_parents, fill, None)]

    def _reject(
        self, f: dict[str, str], msg_type: str, base: Base, payload: dict[str, Any], raw: str
    ) -> dict[str, Any]:
        keys = keys_of_fields(f)
        exec_type, spec = REJECTS[msg_type]
        payload["exec_type"] = exec_type
        put_optional(payload, f, spec)
        ref = payload.get("ref_seq_num")
        target = payload.get("target_comp_id")
        # A session/business reject answers the counterparty's message with that MsgSeqNum (an
        # absent TargetCompID(56) never keys _by_msg).
        msg_key = (target, ref) if isinstance(ref, int) and target is not None else None
        by_msg = None if msg_key is None else self._by_msg.get(msg_key)
        cl, oid = keys.get("cl_ord_id"), keys.get("order_id")
        ref_id = payload.get("business_reject_ref_id")
        if self.ops is None:
            parents = self._link_reject(cl, oid, ref_id, by_msg)
            return self._event("ExecReport", base, keys, parents, payload, raw)
        ev = self._event("ExecReport", base, keys, [], payload, raw)
        self.ops.append((2, self.seq, cl, oid, ref_id, msg_key, by_msg))
        return ev

    def _market_data(
        self,
        v: tuple[Any, ...],
        entries: tuple[itemgetter[Any], ...],
        vals: list[Any],
        base: Base,
        payload: dict[str, Any],
        raw: str,
    ) -> list[dict[str, Any]]:
        md_req, msg_symbol = v
        if md_req is not None:
            payload["md_req_id"] = self._share(md_req)
        if msg_symbol is not None:
            msg_symbol = self._share(msg_symbol)
        events: list[dict[str, Any]] = []
        seq, slots, types = self.seq, MD_SLOTS, MD_ENTRY_TYPES
        for entry in entries:
            et, px, size, action, entry_id, position, symbol = entry(vals)
            p = payload.copy()
            if et is not None:
                p["entry_type"] = types.get(et) or et
            price_name, size_name = slots.get(et, ("price", "size"))
            if px is not None:
                p[price_name] = self._share(px)
            if size is not None:
                p[size_name] = self._shared_qty(size)
            if action is not None:
                p["update_action"] = MD_ACTIONS.get(action) or action
            if entry_id is not None:
                p["entry_id"] = entry_id
            if position is not None:
                p["position"] = position
            symbol = msg_symbol if symbol is None else self._share(symbol)
            seq += 1
            # The raw message is kept once, on its first tick.
            md_keys = {"symbol": symbol} if symbol is not None else {}
            ev = new_event(seq, "MDTick", base, md_keys, [], p, None if events else raw)
            events.append(ev)
        self.seq = seq
        return events
