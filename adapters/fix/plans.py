"""Field plans and event templates for the FIX normaliser (``mapping``).

A plan is built once per message shape (its tags in order): C-level getters that pick the values a
mapping needs from the message's value list in one call. Events are copied from templates. Also the
field helpers every mapping uses: quantities, keys, optional fields.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Final

from adapters.fix.dictionary import KEY_TAGS


def qty(v: str) -> int | str:
    """Quantities as integers when whole, otherwise the decimal string (never a float).

    Digit by digit (as ``int(v) if v.isdigit() and v.isascii()``): compiled, a few instructions a
    digit where each of those calls goes through the interpreter. Up to 18 digits, which stay a
    machine-word int; longer or empty values take the general way."""
    n = len(v)
    if n == 0 or n > 18:
        return int(v) if v.isdigit() and v.isascii() else v
    q = 0
    for i in range(n):
        c = ord(v[i])
        if c < 48 or c > 57:
            return v
        q = q * 10 + c - 48
    return q


def put_optional(
    payload: dict[str, Any], f: dict[str, str], spec: tuple[tuple[str, str, bool], ...]
) -> None:
    for tag, name, is_int in spec:
        v = f.get(tag)
        if v is not None:
            payload[name] = qty(v) if is_int else v  # integers parse as quantities do


def keys_of_fields(f: dict[str, str]) -> dict[str, str]:
    keys = {}
    for tag, name in KEY_TAGS:
        v = f.get(tag)
        if v is not None and v != "NONE":  # "NONE" is FIX's placeholder for no OrderID
            keys[name] = v
    return keys


def keys_of(v: tuple[str | None, ...], sym: str | None) -> dict[str, str]:
    """Keys from a plan's value tuple, whose first five are the KEY_TAGS values (the symbol
    given apart, shared)."""
    cl, orig, oid, eid = v[1:5]
    keys = {}
    if sym is not None and sym != "NONE":  # "NONE" is FIX's placeholder for no OrderID
        keys["symbol"] = sym
    if cl is not None and cl != "NONE":
        keys["cl_ord_id"] = cl
    if orig is not None and orig != "NONE":
        keys["orig_cl_ord_id"] = orig
    if oid is not None and oid != "NONE":
        keys["order_id"] = oid
    if eid is not None and eid != "NONE":
        keys["exec_id"] = eid
    return keys


# Field plans: for each message shape (its tags in order), C-level getters that pick the values a
# mapping needs from the message's value list in one call (the last of a repeated tag, as a dict
# would keep; index -1 picks the None appended for absent tags).
_KEY_NAMES = tuple(t for t, _ in KEY_TAGS)
_PLAN_TAGS = (
    ("35", "52", "49", "56", "34", "60", "43"),
    (*_KEY_NAMES, "150", "39", "54", "14", "151", "6", "38", "32", "44", "31", "58", "103", "8"),
    (*_KEY_NAMES, "54", "38", "44", "40", "59", "1"),
    ("262", "55"),
)
# What every event of one message shares: (ts_ns, recv_ts_ns, host). The times are typed Any so that,
# compiled, the tuple holds them boxed: the events of a message then share one int object each,
# where a native int would be boxed afresh for every event.
Base = tuple[Any, Any, str]
_PLANS: Final[dict[str, tuple[Any, ...]]] = {}  # Final: a C static when compiled
_MD_ENTRY_TAGS = ("269", "270", "271", "279", "278", "290", "55")

# Events are copied from these templates rather than built from dict literals. Compiled, a literal of
# ten keys is a presized dict with general entries (352 bytes); a copy of a dict that has only ever
# held str keys keeps the compact str-key entries (272 bytes: ~25 MB less per 300,000 events, which
# the parent of a parallel read also faults in) and is one memcpy plus a store per field.
_EVENT_FIELDS = ("seq", "kind", "ts_ns", "recv_ts_ns", "host", "lane", "keys", "parents", "payload")
_EVENT: Final[dict[str, Any]] = dict.fromkeys(_EVENT_FIELDS, "fix")
_EVENT_RAW: Final[dict[str, Any]] = dict.fromkeys((*_EVENT_FIELDS, "raw"), "fix")


def new_event(
    seq: int,
    kind: str,
    base: Base,
    keys: dict[str, str],
    parents: list[dict[str, Any]],
    payload: dict[str, Any],
    raw: str | None,
) -> dict[str, Any]:
    """A capture event of lane "fix" (``raw`` None: an event without raw bytes)."""
    ev = _EVENT.copy() if raw is None else _EVENT_RAW.copy()
    ev["seq"] = seq
    ev["kind"] = kind
    ev["ts_ns"] = base[0]
    ev["recv_ts_ns"] = base[1]
    ev["host"] = base[2]
    ev["keys"] = keys
    ev["parents"] = parents
    ev["payload"] = payload
    if raw is not None:
        ev["raw"] = raw
    return ev


def _md_entries(tags: list[str]) -> tuple[itemgetter[Any], ...]:
    """Getters for the MD entries of a shape: after NoMDEntries(268), each entry starts with the
    group's first tag (269 in W, 279 in X) and runs to the next, up to CheckSum(10); within an
    entry the first of a repeated tag counts. No entries: one empty entry (one tick)."""
    start = tags.index("268") + 1 if "268" in tags else len(tags)
    stop = tags.index("10", start) if "10" in tags[start:] else len(tags)
    first = tags[start] if start < len(tags) else ""
    entries: list[dict[str, int]] = []
    for k in range(start, stop):
        if tags[k] == first:
            entries.append({})
        entries[-1].setdefault(tags[k], k)
    return tuple(itemgetter(*(e.get(t, -1) for t in _MD_ENTRY_TAGS)) for e in entries or [{}])


def plan_for(shape: str) -> tuple[Any, ...]:
    """The field plan of a message shape: getters for the header, an execution report, an order
    and market data, then the MD entries' getters (built once per shape)."""
    plan = _PLANS.get(shape)
    if plan is not None:
        return plan
    tags = shape.split("\x01")
    last = {t: i for i, t in enumerate(tags)}
    plan = (
        *(itemgetter(*(last.get(t, -1) for t in names)) for names in _PLAN_TAGS),
        _md_entries(tags),
    )
    if len(_PLANS) > 10_000:
        _PLANS.clear()
    _PLANS[shape] = plan
    return plan
