"""FIX wire framing for a live session: split a byte stream into messages and validate each one.

simplefix's `FixParser` splits the stream into tag=value pairs (ending a message at CheckSum(10));
on top of it this module checks what the session rules need before a message may touch the
sequence numbers: the first three fields are 8, 9, 35, BodyLength(9) matches and CheckSum(10) is
right. Anything that fails is *garbled*: the session ignores it without consuming a sequence number.
(Bulk log files use `adapters.fix.framing`, which is much faster on whole files.) Pure: no I/O.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

import simplefix
from simplefix import errors as fix_errors

SOH = b"\x01"
# A stuck raw-data length or a peer that never sends CheckSum must not grow the buffer forever.
MAX_BUFFER = 1 << 20

Fields = list[tuple[int, bytes]]


@dataclass(frozen=True)
class Frame:
    """A well-framed message: checksum and body length verified."""

    fields: Fields
    raw: bytes

    def get(self, tag: int) -> bytes | None:
        for t, v in self.fields:
            if t == tag:
                return v
        return None

    def count(self, tag: int) -> int:
        return sum(1 for t, _ in self.fields if t == tag)

    @property
    def msg_type(self) -> str:
        return (self.get(35) or b"").decode("ascii", "replace")


@dataclass(frozen=True)
class Garbled:
    """Bytes that could not be a valid message, with the reason."""

    raw: bytes
    reason: str


def _join(pairs: Fields) -> bytes:
    return b"".join(b"%d=%s\x01" % (t, v) for t, v in pairs)


def check_frame(pairs: Fields) -> Frame | Garbled:
    """Validate one message's pairs (as split by the parser) and return a Frame or why not."""
    raw = _join(pairs)
    if len(pairs) < 4 or [t for t, _ in pairs[:3]] != [8, 9, 35] or pairs[-1][0] != 10:
        return Garbled(raw, "first three fields must be 8, 9, 35 and the last 10")
    head = len(b"8=%s\x019=%s\x01" % (pairs[0][1], pairs[1][1]))
    trailer = len(b"10=%s\x01" % pairs[-1][1])
    try:
        declared = int(pairs[1][1])
    except ValueError:
        return Garbled(raw, "BodyLength(9) is not a number")
    actual = len(raw) - head - trailer
    if declared != actual:
        return Garbled(raw, f"BodyLength(9) is {declared}, body has {actual} bytes")
    checksum = pairs[-1][1]
    expected = sum(raw[: len(raw) - trailer]) % 256
    if not re.fullmatch(rb"\d{3}", checksum) or int(checksum) != expected:
        return Garbled(raw, f"CheckSum(10) is {checksum!r}, computed {expected:03d}")
    return Frame(pairs, raw)


def frame_from_raw(raw: bytes) -> Frame | None:
    """Stored wire bytes back into a Frame (None if they are not one valid message)."""
    pairs: Fields = []
    for part in raw.split(SOH)[:-1]:
        tag, _, value = part.partition(b"=")
        if not tag.isdigit():
            return None
        pairs.append((int(tag), value))
    frame = check_frame(pairs)
    return frame if isinstance(frame, Frame) else None


class StreamFramer:
    """Incremental: feed bytes as they arrive, get frames and garbled chunks in stream order."""

    def __init__(self) -> None:
        self._parser = simplefix.FixParser(allow_empty_values=True)

    def feed(self, data: bytes) -> list[Frame | Garbled]:
        self._parser.append_buffer(data)
        out: list[Frame | Garbled] = []
        while True:
            try:
                msg = self._parser.get_message()
            except fix_errors.ParsingError as exc:
                out.append(self._recover(f"unparseable field: {type(exc).__name__} {exc}"))
                continue
            if msg is None:
                if len(self._parser.buf) > MAX_BUFFER:
                    out.append(self._recover("message exceeds the maximum size"))
                    continue
                return out
            pairs = [(int(t), v) for t, v in msg.pairs]
            # A message that lost its CheckSum runs into the next one: the last BeginString wins.
            starts = [i for i, (t, _) in enumerate(pairs) if t == 8]
            if starts and starts[-1] > 0:
                out.append(Garbled(_join(pairs[: starts[-1]]), "message truncated before CheckSum"))
                pairs = pairs[starts[-1] :]
            out.append(check_frame(pairs))

    def _recover(self, reason: str) -> Garbled:
        """Drop the broken message: skip to the next BeginString in the buffer."""
        p = self._parser
        buf = p.buf
        cut = buf.find(SOH + b"8=", 1)
        dropped = _join([(int(t), v) for t, v in p.pairs]) + (buf if cut < 0 else buf[: cut + 1])
        p.buf = b"" if cut < 0 else buf[cut + 1 :]
        p.pairs = []
        p.raw_len = 0
        return Garbled(dropped, reason)


_TS = re.compile(rb"(\d{4})(\d{2})(\d{2})-(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?")


def parse_utc_timestamp(value: bytes) -> int | None:
    """A FIX UTCTimestamp (seconds to nanoseconds precision) as integer epoch ns, None if invalid."""
    m = _TS.fullmatch(value)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and s <= 60):
        return None
    frac = (m.group(7) or b"").ljust(9, b"0")
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) * 10**9 + int(frac)


def format_utc_timestamp(ts_ns: int) -> bytes:
    """Epoch ns as a FIX UTCTimestamp with millisecond precision (accepted by FIX 4.2 and later)."""
    secs, rem = divmod(ts_ns, 10**9)
    stamp = time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(secs)).encode()
    return stamp + b".%03d" % (rem // 10**6)


def encode_message(
    begin_string: str,
    msg_type: str,
    header: Iterable[tuple[int, str | bytes | int]],
    body: Iterable[tuple[int, str | bytes | int]],
) -> bytes:
    """Wire bytes with BodyLength and CheckSum computed by simplefix."""
    msg = simplefix.FixMessage()
    msg.append_pair(8, begin_string, header=True)
    msg.append_pair(35, msg_type, header=True)
    for tag, value in header:
        msg.append_pair(tag, value, header=True)
    for tag, value in body:
        msg.append_pair(tag, value)
    encoded: bytes = msg.encode()
    return encoded
