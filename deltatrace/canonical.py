"""Canonical JSON (RFC 8785 / JCS) and digests.

Ledger entries use strict RFC 8785 via the ``rfc8785`` library. Events carry nanosecond timestamps,
which exceed the 2^53 integer range JCS allows, so event canonicalisation extends JCS in one
documented way: integers are written exactly, in full. The fast path uses orjson with sorted keys,
which produces the same bytes as JCS for objects without floats and with ASCII keys; anything else
goes through the slow path below (the rfc8785 library for floats and strings, sorted by UTF-16 code
units as JCS requires).
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import rfc8785

_OPTS = orjson.OPT_SORT_KEYS


def _needs_slow_path(value: Any) -> bool:
    """True when orjson's sorted output would differ from JCS: floats, or non-ASCII object keys."""
    t = type(value)
    if t is dict:
        # One C-level pass over the keys; a non-string key raises, as orjson itself would.
        if not "".join(value).isascii():
            return True
        for v in value.values():
            tv = type(v)
            if (
                tv is not str
                and tv is not int
                and v is not None
                and tv is not bool
                and _needs_slow_path(v)
            ):
                return True
        return False
    if t is list:
        for v in value:
            tv = type(v)
            if tv is not str and tv is not int and _needs_slow_path(v):
                return True
        return False
    return t is float


def _slow(value: Any) -> bytes:
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: kv[0].encode("utf-16-be"))
        return b"{" + b",".join(_slow(k) + b":" + _slow(v) for k, v in items) + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(_slow(v) for v in value) + b"]"
    if isinstance(value, bool) or value is None:
        return orjson.dumps(value)
    if isinstance(value, int):
        return str(value).encode()
    return rfc8785.dumps(value)


def canonical_fragment(value: Any) -> orjson.Fragment:
    """Canonical bytes wrapped for embedding in a larger object without re-walking it."""
    return orjson.Fragment(canonical_json(value))


def canonical_json(value: Any) -> bytes:
    """Canonical bytes of a JSON value (JCS, with exact big integers)."""
    if _needs_slow_path(value):
        return _slow(value)
    return orjson.dumps(value, option=_OPTS)


def strict_jcs(value: Any) -> bytes:
    """Strict RFC 8785, for ledger entries and signed statements (integers must fit in 2^53)."""
    return rfc8785.dumps(value)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest(value: Any) -> str:
    return sha256_hex(canonical_json(value))
