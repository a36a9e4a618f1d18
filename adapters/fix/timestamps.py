"""FIX UTCTimestamp text (``YYYYMMDD-HH:MM:SS[.f…]``, up to nanoseconds) to exact epoch nanoseconds.

Written by hand rather than with datetime.strptime: that is microseconds at most and costs several
microseconds a call, while a log's timestamps share few distinct seconds, so the date-time part is
cached (``TS_CACHE``) and the bulk path adds the fraction digit by digit (``frac_ns``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

_TS_BASE = re.compile(r"(\d{4})(\d{2})(\d{2})-(\d{2}):(\d{2}):(\d{2})", re.ASCII)
# Final: compiled, a module constant is a C static rather than a lookup in the module's dict, and a
# tuple[int, ...] (not a fixed-length tuple, which mypyc keeps unboxed) is indexed without boxing
# all ten ints into a new tuple first.
TS_CACHE: Final[dict[str, int]] = {}
POW10: Final[tuple[int, ...]] = (1, 10**8, 10**7, 10**6, 10**5, 10**4, 10**3, 10**2, 10, 1)


class FixMappingError(ValueError):
    """A framed message that cannot become an event (e.g. an unreadable SendingTime)."""


def utc_ts_ns(value: bytes) -> int:
    """``YYYYMMDD-HH:MM:SS[.f…]`` (UTCTimestamp, up to nanoseconds) → exact epoch nanoseconds."""
    # latin-1 maps each byte to one character, so every check below sees the bytes as they are.
    return text_ts_ns(value.decode("latin-1"), value)


def text_ts_ns(value: str, orig: bytes | None = None) -> int:
    """utc_ts_ns on text; ``orig`` is the value's bytes for error messages (else re-encoded)."""
    # The date-time part is cached: a log's timestamps share few distinct seconds.
    base = TS_CACHE.get(value[:17])
    if base is None:
        base = _ts_base(value, orig)
    if len(value) == 17:
        return base
    frac = value[18:]
    if value[17:18] != "." or not 1 <= len(frac) <= 9 or not (frac.isdigit() and frac.isascii()):
        shown = orig if orig is not None else value.encode("utf-8", "backslashreplace")
        raise FixMappingError(f"bad UTC timestamp fraction {shown[:40]!r}")
    return base + int(frac) * POW10[len(frac)]


def frac_ns(text: str) -> int:
    """The fraction of ``YYYYMMDD-HH:MM:SS.f…`` (1 to 9 ASCII digits) in nanoseconds, else -1.

    Digit by digit, which compiled is a few machine instructions per digit, where ``isdigit``,
    ``isascii`` and ``int`` are each a call into the interpreter's generic machinery."""
    n = len(text)
    if n < 19 or n > 27 or text[17] != ".":
        return -1
    frac = 0
    for i in range(18, n):
        c = ord(text[i])
        if c < 48 or c > 57:
            return -1
        frac = frac * 10 + c - 48
    return frac * POW10[n - 18]


# The date-time part of log prefix timestamps, by their bytes (as TS_CACHE by text): the log prefix
# is parsed once per message, and read as bytes it needs no decoding.
_RECV_BASE: Final[dict[bytes, int]] = {}


def recv_ts_ns(value: bytes) -> int | None:
    """A log prefix's ``YYYYMMDD-HH:MM:SS[.f…]`` as epoch ns, or None when it is not one."""
    n = len(value)
    if 19 <= n <= 27 and value[17] == 46:  # "."
        base = _RECV_BASE.get(value[:17])
        if base is not None:
            frac = 0
            for i in range(18, n):
                c = value[i]
                if c < 48 or c > 57:
                    break
                frac = frac * 10 + c - 48
            else:
                return base + frac * POW10[n - 18]
    return _recv_text(value)


def _recv_text(value: bytes) -> int | None:
    text = value.decode("latin-1")
    base = TS_CACHE.get(text[:17])
    n = len(text)
    if (
        base is not None
        and 19 <= n <= 27
        and text[17] == "."
        and (frac := text[18:]).isdigit()
        and frac.isascii()
    ):
        ts = base + int(frac) * POW10[n - 18]
    else:
        try:
            ts = utc_ts_ns(value)
        except FixMappingError:
            return None
        base = TS_CACHE.get(text[:17])
    if base is not None:  # the same value TS_CACHE holds for these 17 characters
        if len(_RECV_BASE) > 100_000:
            _RECV_BASE.clear()
        _RECV_BASE[value[:17]] = base
    return ts


def _ts_base(value: str, orig: bytes | None) -> int:
    shown = orig if orig is not None else value.encode("utf-8", "backslashreplace")
    m = _TS_BASE.fullmatch(value[:17])
    if m is None:
        raise FixMappingError(f"bad UTC timestamp {shown[:40]!r}")
    y, mo, d, h, mi, s = (int(g) for g in m.groups())
    try:
        # Second 60 is a leap second in FIX; it is counted as the next second's start.
        epoch = datetime(y, mo, d, h, mi, min(s, 59)).toordinal() - 719163
    except ValueError as exc:
        raise FixMappingError(f"bad UTC timestamp {shown[:40]!r}: {exc}") from None
    if len(TS_CACHE) > 100_000:
        TS_CACHE.clear()
    base = TS_CACHE[value[:17]] = (((epoch * 24 + h) * 60 + mi) * 60 + s) * 1_000_000_000
    return base
