"""Order links for the FIX normaliser: the earlier event each message's events name as parent.

An amendment names the order it amends, a report its order, a reject the order or the message it
answers: by ClOrdID(11), OrigClOrdID(41), OrderID(37) and (SenderCompID, MsgSeqNum). Every link depends
on every earlier message, so a chunk of a log read by a worker records its link operations instead
(record mode), and the parent resolves them in file order with ``replay``.
"""

from __future__ import annotations

from typing import Any


class OrderLinks:
    """What links later messages to earlier events: ids seen so far and the events they name."""

    def __init__(self, record: bool) -> None:
        self.seq = 0  # the last event's seq (gap-free per capture)
        self._orders: dict[str, int] = {}  # ClOrdID → seq of the Order event
        self._order_ids: dict[str, int] = {}  # OrderID → seq of the first Order for it
        self._by_msg: dict[tuple[str, int], int] = {}  # (SenderCompID, MsgSeqNum) → seq
        # Record mode (a later chunk of a log, normalised in a worker): order links depend on every
        # earlier message, so they are recorded here and resolved by ``replay`` in the parent.
        self.ops: list[tuple[Any, ...]] | None = [] if record else None

    # Each takes the message's key values (None when absent or "NONE").

    def _link_order(
        self, new: bool, cl: str | None, orig: str | None, oid: str | None, seq: int
    ) -> list[dict[str, Any]]:
        """A cancel/replace names the order it amends; every order registers its ids."""
        parents = [] if new else self._order_parent(orig, oid, "order_chain")
        if cl is not None:
            self._orders[cl] = seq
        if oid is not None:
            self._order_ids.setdefault(oid, seq)
        return parents

    def _link_report(self, cl: str | None, oid: str | None) -> list[dict[str, Any]]:
        parent_seq = self._orders.get(cl if cl is not None else "")
        if parent_seq is None and oid is not None:
            parent_seq = self._order_ids.get(oid)
        if parent_seq is None:
            return []
        if oid is not None:
            self._order_ids.setdefault(oid, parent_seq)
        return [{"seq": parent_seq, "kind": "order_report"}]

    def _link_reject(
        self, cl: str | None, oid: str | None, ref_id: str | None, by_msg: int | None
    ) -> list[dict[str, Any]]:
        parents = self._order_parent(cl, oid, "order_report")
        if not parents and ref_id is not None and ref_id in self._orders:
            parents = [{"seq": self._orders[ref_id], "kind": "order_report"}]
        if not parents and by_msg is not None:
            parents = [{"seq": by_msg, "kind": "causal"}]
        return parents

    def _order_parent(self, via: str | None, oid: str | None, kind: str) -> list[dict[str, Any]]:
        seq = self._orders.get(via if via is not None else "")
        if seq is None and oid is not None:
            seq = self._order_ids.get(oid)
        return [] if seq is None else [{"seq": seq, "kind": kind}]

    def replay(
        self,
        events: list[dict[str, Any]],
        ops: list[tuple[Any, ...]],
        by_msg: dict[tuple[str, int], int],
        end: int,
        base: int = 0,
    ) -> None:
        """Append a record-mode chunk's results: its events, numbered from ``base + 1`` to ``end``
        (renumbered in place unless this normaliser's seq is ``base``), its recorded link ops and
        its (SenderCompID, MsgSeqNum) map. The state after is what normalising the chunk's
        messages here would have left."""
        off = self.seq - base
        if off:
            for ev in events:
                # Typed locals: compiled, machine-int sums, and no iterator for the usual empty list.
                local_seq: int = ev["seq"]
                ev["seq"] = local_seq + off
                links: list[dict[str, Any]] = ev["parents"]
                if links:  # only a Fill's link to its report (links are in ops)
                    for p in links:
                        parent_seq: int = p["seq"]
                        p["seq"] = parent_seq + off
        own = self._by_msg
        first = base + 1
        for op in ops:
            # Typed locals: compiled, the op's kind and seq are unboxed once and compared natively.
            op_kind: int = op[0]
            op_seq: int = op[1]
            seq = op_seq + off
            if op_kind == 0:
                parents = self._link_order(op[2], op[3], op[4], op[5], seq)
            elif op_kind == 1:
                parents = self._link_report(op[2], op[3])
            else:
                msg_key, local = op[5], op[6]
                # The latest earlier write wins: this chunk's own, else the state before it.
                prior = None if msg_key is None else own.get(msg_key)
                parents = self._link_reject(
                    op[2], op[3], op[4], local + off if local is not None else prior
                )
            events[op_seq - first]["parents"] = parents
        if off:
            own.update({k: v + off for k, v in by_msg.items()})
        else:
            own.update(by_msg)
        self.seq = end + off
