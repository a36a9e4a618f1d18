"""Fidelity: compare replayed outputs with recorded ones by canonical digest.

An output's identity is the canonical digest (``deltatrace.canonical``) of ``{kind, keys, payload}``;
timestamps, seqs and parent refs are left out (they are the recording's, not the decision's).
Outputs are paired in order (recorded seq order vs replayed emission order): the first pair whose
digests differ, or the first unpaired output, is the first divergent node. Totals count outputs as
multisets: matched (in both), missing (recorded only), extra (replayed only).

Decision paths (``decision_path``, ``path_nodes``) walk ``parents`` back from a node: the causal
ancestry shown for ``--path`` and beside a divergence (recorded vs replayed).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from adapters.strategies.base import OUTPUT_KINDS
from deltatrace.canonical import canonical_json
from deltatrace.capture_format import KEY_FIELDS  # the correlation keys the event store keeps
from replay.merge import Ev
from replay.sandbox import ReplayError


@dataclass(slots=True)
class Node:
    """A recorded or replayed output, as compared and shown."""

    ref: tuple[str, int]
    kind: str
    lane: str
    keys: dict[str, str]
    payload: dict[str, Any]
    parents: Sequence[tuple[str, int]] = ()  # a tuple when recorded, a list when replayed
    # Given when an output's identity is not its whole payload (``whatif_risk.check_node``);
    # else worked out on first use: most pairs are told equal without it (``same_output``).
    _digest: str = field(default="", compare=False)

    # Written out: the generated __init__ stays interpreted under mypyc (see merge.Ev).
    def __init__(
        self,
        ref: tuple[str, int],
        kind: str,
        lane: str,
        keys: dict[str, str],
        payload: dict[str, Any],
        parents: Sequence[tuple[str, int]] = (),
        _digest: str = "",
    ) -> None:
        self.ref = ref
        self.kind = kind
        self.lane = lane
        self.keys = keys
        self.payload = payload
        self.parents = parents
        self._digest = _digest

    @property
    def digest(self) -> str:
        if not self._digest:
            self._digest = output_digest(self.kind, self.keys, self.payload)
        return self._digest

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": f"{self.ref[0]}:{self.ref[1]}",
            "kind": self.kind,
            "lane": self.lane,
            "keys": self.keys,
            "payload": self.payload,
            "digest": self.digest,
        }


_KEYSET = frozenset(KEY_FIELDS)
_SORTED = orjson.OPT_SORT_KEYS
# Value types _plain must look into (or reject); any other value is plain by itself.
_NESTED = frozenset({dict, list, tuple, float})


def norm_keys(keys: dict[str, str]) -> dict[str, str]:
    if keys.keys() <= _KEYSET and "" not in keys.values():
        return keys
    return {k: str(keys[k]) for k in KEY_FIELDS if keys.get(k)}


def _plain(value: Any) -> bool:
    """No floats and ASCII keys: then canonical_json is exactly orjson's sorted-key output."""
    t = type(value)
    if t is dict:
        # The common flat payload in C calls: ASCII keys and no float or container value.
        try:
            if all(map(str.isascii, value)) and _NESTED.isdisjoint(map(type, value.values())):
                return True
        except TypeError:  # a key that is not a str: the loop below decides (and raises)
            pass
        for k, v in value.items():
            if not k.isascii():
                return False
            tv = type(v)
            if tv is not str and tv is not int and not _plain(v):
                return False
        return True
    if t is list or t is tuple:
        return all(_plain(v) for v in value)
    return t is not float


def output_digest(kind: str, keys: dict[str, str], payload: dict[str, Any]) -> str:
    body = {"kind": kind, "keys": norm_keys(keys), "payload": payload}
    # Same bytes as deltatrace.canonical.canonical_json, without its per-value Python walk.
    data = orjson.dumps(body, option=_SORTED) if _plain(payload) else canonical_json(body)
    return hashlib.sha256(data).hexdigest()


def field_diff(recorded: Any, replayed: Any, path: str = "") -> list[dict[str, Any]]:
    """Leaf-level differences as ``{"path", "recorded", "replayed"}`` (paths like ``payload.price``)."""
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        out: list[dict[str, Any]] = []
        for k in sorted(set(recorded) | set(replayed)):
            sub = f"{path}.{k}" if path else str(k)
            out.extend(field_diff(recorded.get(k), replayed.get(k), sub))
        return out
    if canonical_json(recorded) == canonical_json(replayed):
        return []
    return [{"path": path, "recorded": recorded, "replayed": replayed}]


@dataclass
class Comparison:
    compared: int
    matched: int
    missing: int
    extra: int
    first_index: int | None
    recorded: Node | None
    replayed: Node | None

    @property
    def identical(self) -> bool:
        return self.first_index is None and self.missing == 0 and self.extra == 0

    def first_divergence(self) -> dict[str, Any] | None:
        if self.first_index is None:
            return None
        rec, rep = self.recorded, self.replayed
        if rec is not None and rep is not None:
            reason = "mismatch"
            diff = field_diff(
                {"kind": rec.kind, "keys": norm_keys(rec.keys), "payload": rec.payload},
                {"kind": rep.kind, "keys": norm_keys(rep.keys), "payload": rep.payload},
            )
        else:
            reason = "missing" if rep is None else "extra"
            diff = []
        node = rec or rep
        assert node is not None
        return {
            "index": self.first_index,
            "reason": reason,
            "stage": node.lane,
            "kind": node.kind,
            "recorded": rec.as_dict() if rec else None,
            "replayed": rep.as_dict() if rep else None,
            "diff": diff,
        }


# Value types whose Python equality is exactly canonical-JSON equality (bool is not one: True == 1;
# nor float: a float can equal an int whose canonical digits differ).
_EXACT = frozenset({str, int, type(None)})


def _exact(d: dict[str, Any]) -> bool:
    return _EXACT.issuperset(map(type, d.values()))


def same_output(a: Node, b: Node) -> bool:
    """``a.digest == b.digest``, mostly without hashing: equal kinds, keys and flat payloads of
    strings, integers and nulls serialise to the same canonical bytes."""
    if (
        a.kind == b.kind
        and a.payload == b.payload
        and a.keys == b.keys
        and _exact(a.payload)
        and _exact(b.payload)
        and _exact(a.keys)
        and _exact(b.keys)
    ):
        return True
    return a.digest == b.digest


def compare(recorded: Sequence[Node], replayed: Sequence[Node]) -> Comparison:
    first: int | None = None
    n = min(len(recorded), len(replayed))
    for i in range(n):
        if not same_output(recorded[i], replayed[i]):
            first = i
            break
    if first is None and len(recorded) == len(replayed):
        matched = n  # pairwise the same outputs: the same multisets
    else:
        if first is None:
            first = n
        rec_counts = Counter(x.digest for x in recorded)
        rep_counts = Counter(x.digest for x in replayed)
        matched = sum((rec_counts & rep_counts).values())
    rec = recorded[first] if first is not None and first < len(recorded) else None
    rep = replayed[first] if first is not None and first < len(replayed) else None
    return Comparison(
        compared=max(len(recorded), len(replayed)),
        matched=matched,
        missing=len(recorded) - matched,
        extra=len(replayed) - matched,
        first_index=first,
        recorded=rec,
        replayed=rep,
    )


def run_digest(summary: dict[str, Any], replayed: Sequence[Node]) -> str:
    """Same incident and options -> same digest, in any process and under any hash seed."""
    h = hashlib.sha256(canonical_json(summary))
    for node in replayed:
        h.update(b"\n" + node.digest.encode())
    return h.hexdigest()


# --- decision paths ----------------------------------------------------------------------------
def parse_ref(text: str, events: Sequence[Ev]) -> tuple[str, int]:
    """``capture:seq`` (capture key) -> ref; ReplayError if the incident has no such event."""
    cap, sep, seq = text.rpartition(":")
    if not sep or not seq.isdigit():
        raise ReplayError(f"--path expects an event ref CAPTURE:SEQ or an event id, got {text!r}")
    ref = (cap, int(seq))
    if not any(ev.capture == ref[0] and ev.seq == ref[1] for ev in events):
        raise ReplayError(f"no event {text} in this incident")
    return ref


def _show(ev: Ev | Node, status: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ref": f"{ev.ref[0]}:{ev.ref[1]}",
        "kind": ev.kind,
        "lane": ev.lane,
        "keys": ev.keys,
        "payload": ev.payload,
    }
    if isinstance(ev, Ev):
        out["host"] = ev.host
        out["ts_ns"] = ev.ts_ns
    if status is not None:
        out["replay"] = status
    return out


def decision_path(
    by_ref: dict[tuple[str, int], Ev], replayed: dict[tuple[str, int], Node], ref: tuple[str, int]
) -> list[dict[str, Any]]:
    """The causal ancestry of ``ref``, causes first. Replayed nodes shadow recorded ones."""
    seen: set[tuple[str, int]] = set()
    order: list[dict[str, Any]] = []
    stack = [ref]
    while stack:
        r = stack.pop()
        if r in seen:
            continue
        seen.add(r)
        node: Ev | Node | None = replayed.get(r) or by_ref.get(r)
        if node is None:
            continue
        order.append(_show(node))
        parents = [p[:2] for p in node.parents]
        stack.extend(sorted(parents, reverse=True))
    order.reverse()
    return order


def path_nodes(
    events: list[Ev],
    target: tuple[str, int],
    status: dict[tuple[str, int], str],
    replayed_captures: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """Ancestry of ``target`` plus the risk checks of its orders, in merged order, with replay status.

    Shows the chain ticks -> signal -> plan delta -> risk check -> order -> report -> fill. Each node
    is labelled matched/diverged (a replayed output), input (fed to the replay), or recorded.
    """
    by_ref = {ev.ref: ev for ev in events}
    keep: set[tuple[str, int]] = set()
    stack = [target]
    while stack:
        r = stack.pop()
        if r in keep or r not in by_ref:
            continue
        keep.add(r)
        stack.extend((c, s) for c, s, _k in by_ref[r].parents)
    orders = {r for r in keep if by_ref[r].kind == "Order"}
    for ev in events:
        if ev.kind == "RiskCheck" and any((c, s) in orders for c, s, _k in ev.parents):
            keep.add(ev.ref)

    def label(ev: Ev) -> str:
        if ev.ref in status:
            return status[ev.ref]  # matched | diverged
        if ev.capture in replayed_captures:
            return "not replayed" if ev.kind in OUTPUT_KINDS else "input"
        return "recorded"

    return [_show(ev, label(ev)) for ev in events if ev.ref in keep]
