"""Where a message starts on a FIX engine's log line: the line prefix and the message head.

Engines write each message after a prefix: a timestamp, a direction marker, a session id, in the
usual orders (QuickFIX: ``20250101-12:00:00.000 : 8=FIX...``). The usual QuickFIX line head is read
byte by byte (``soh_head``); everything else by the regular expressions here. The framer
(``framing``) decides what is a message; this module only reads heads and prefixes.
"""

from __future__ import annotations

import re

# 8=BeginString <d> 9=BodyLength <d>; the delimiter is detected per message from what follows 8=.
HEAD = re.compile(rb"()8=(FIXT?\.\d\.\d)(\x01|\||\^A)9=(\d{1,8})\3")
BEGIN = re.compile(rb"8=(FIXT?\.\d\.\d)(\x01|\||\^A)")

_TS = (
    rb"\d{8}-\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?"
    rb"|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?Z?"
    rb"|\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?"
)
_DIR_IN = (b"<", b"<<", b"<-", b"IN", b"RECV", b"RCV", b"RECEIVED", b"INBOUND", b"INCOMING")
_DIR_OUT = (b">", b">>", b"->", b"OUT", b"SENT", b"SEND", b"SND", b"OUTBOUND", b"OUTGOING")
_DIR = b"|".join(re.escape(d) for d in sorted(_DIR_IN + _DIR_OUT, key=len, reverse=True))
_SESSION = rb"FIXT?\.\d\.\d:[\w.\-]+->[\w.\-]+"
# An engine log prefix: optional timestamp, direction marker and session id in the usual orders,
# with brackets and ':' '-' '|' separators (QuickFIX: "20250101-12:00:00.000 : 8=FIX...").
_PREFIX = re.compile(
    rb"\s*(?:(?P<d1>" + _DIR + rb")\s*[:\-|]?\s*)?"
    rb"(?:\[?(?P<ts>" + _TS + rb")\]?\s*[:\-|,]?\s*)?"
    rb"(?:(?:\[?(?P<d2>" + _DIR + rb")\]?|\[?" + _SESSION + rb"\]?)\s*[:\-|]?\s*)*",
    re.IGNORECASE,
)


QUICKFIX = re.compile(rb"(\d{8}-\d\d:\d\d:\d\d(?:\.\d{1,9})?) : ")
# Groups as in HEAD (begin string 2, delimiter 3, BodyLength 4), plus the log time as group 1.
QUICKFIX_HEAD = re.compile(
    rb"\n(\d{8}-\d\d:\d\d:\d\d(?:\.\d{1,9})?) : 8=(FIXT?\.\d\.\d)(\x01|\||\^A)9=(\d{1,8})\3"
)


def log_prefix(prefix: bytes) -> tuple[str | None, bytes | None] | None:
    """A recognised log prefix's direction ("in" / "out" / None) and timestamp text (or None),
    or None when ``prefix`` is not a log prefix."""
    m = _PREFIX.fullmatch(prefix)
    if m is None:
        return None
    d = (m.group("d1") or m.group("d2") or b"").upper()
    direction = "in" if d in _DIR_IN else "out" if d in _DIR_OUT else None
    return direction, m.group("ts")


def soh_head(data: bytes, pos: int) -> tuple[int, int, int, int]:
    """The usual line start, ``\\n<YYYYMMDD-HH:MM:SS[.f]> : 8=FIX[T].d.d<SOH>9=<BodyLength><SOH>``
    (what QUICKFIX_HEAD matches with an SOH delimiter), read byte by byte: compiled, a few
    comparisons a byte, where a regular-expression match and its groups cost several times more
    per message. Returns (where 8= starts, the BeginString's length, BodyLength's digit count,
    BodyLength), or (-1, 0, 0, 0) for anything else, which the regular expressions then read."""
    no = (-1, 0, 0, 0)
    n = len(data)
    if pos + 35 > n or data[pos] != 10:  # 35: the shortest such head
        return no
    i = pos + 1
    for k in range(17):  # YYYYMMDD-HH:MM:SS
        c = data[i + k]
        if k == 8:
            if c != 45:  # '-'
                return no
        elif k == 11 or k == 14:
            if c != 58:  # ':'
                return no
        elif c < 48 or c > 57:
            return no
    i += 17
    if data[i] == 46:  # '.' and 1 to 9 digits
        j = i + 1
        while j < n and 48 <= data[j] <= 57:
            j += 1
        if j - i - 1 < 1 or j - i - 1 > 9:
            return no
        i = j
    if not data.startswith(b" : 8=FIX", i):
        return no
    s = i + 3
    i += 8
    if i < n and data[i] == 84:  # FIXT
        i += 1
    if i + 7 > n:
        return no
    c1, c2 = data[i + 1], data[i + 3]
    if data[i] != 46 or data[i + 2] != 46 or c1 < 48 or c1 > 57 or c2 < 48 or c2 > 57:
        return no
    i += 4
    begin_len = i - s - 2
    if data[i] != 1 or data[i + 1] != 57 or data[i + 2] != 61:  # SOH 9=
        return no
    i += 3
    digits_at, length = i, 0
    while i < n and 48 <= data[i] <= 57:
        length = length * 10 + data[i] - 48
        i += 1
    digits = i - digits_at
    if digits < 1 or digits > 8 or i >= n or data[i] != 1:
        return no
    return (s, begin_len, digits, length)
