"""Bulk framing of tag=value FIX logs: find, frame, verify and split every message of a whole file.

simplefix's FixParser re-slices its buffer for every field, which is fine for a live session and far
too slow for logs. Here each message is located with ``bytes.find``, framed by BodyLength(9), checked
against CheckSum(10) (computed over the SOH form) and split into its values. Anything that is not a
valid message or a recognised engine log prefix (``lines``) is quarantined with its byte offset, its
bytes and a precise reason; framing always resumes at the next message.

Speed: each SOH message is decoded once and split once into its values and its shape (its tags
joined by SOH) by ``split_values``, a small C function (``_splitc.c``) where it is built; the
per-message checks (numeric tags, no raw data fields, required header) are cached per shape, and
QuickFIX-style line heads are read byte by byte. Anything else takes the careful path, with
identical results.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple
from zlib import adler32

from adapters.fix.dictionary import HEADER_NAMES, REQUIRED_HEADER
from adapters.fix.fields import (
    RAW_LEN_TEXT,
    SOH,
    FramingError,
    checksum,
    split_fields,
    split_text,
)
from adapters.fix.lines import BEGIN, HEAD, QUICKFIX, QUICKFIX_HEAD, log_prefix, soh_head

try:  # the C splitter, where it was built (and DELTATRACE_PURE_PYTHON is not set: deltatrace/accel)
    from adapters.fix._splitc import split_values
except ImportError:
    from adapters.fix.fields import split_values

_DIGITS = frozenset(b"0123456789")
_BEGIN_TEXT = {b"FIX.4.2": "FIX.4.2", b"FIX.4.4": "FIX.4.4", b"FIXT.1.1": "FIXT.1.1"}


class Frame(NamedTuple):
    """One framed, checksum-verified message."""

    offset: int  # byte offset of its 8= in the input
    begin_string: str
    msg: bytes  # the message in SOH form
    values: list[str]  # its values in message order
    shape: str  # its tags joined by SOH (canonical tag text): one shape, one field plan
    text: str  # the message decoded once (non-UTF-8 bytes backslash-escaped)
    direction: str | None  # "in" / "out" from the engine's log prefix, if any
    log_ts: bytes | None  # the log prefix's timestamp text, if any

    @property
    def tags(self) -> dict[str, str]:
        """Tag text → value text (a repeated tag keeps its last value)."""
        return dict(zip(self.shape.split("\x01"), self.values, strict=True))

    @property
    def fields(self) -> list[tuple[int, bytes]]:
        """(tag, value) pairs of the original bytes, as simplefix returns them."""
        return split_fields(self.msg)


# Each 3-digit CheckSum text -> (its value, the byte sum of "10=nnn<SOH>").
_TRAILERS: Final = {b"%03d" % v: (v, sum(b"10=%03d\x01" % v)) for v in range(1000)}
_new_tuple = tuple.__new__  # builds a Frame in C (its generated __new__ is Python)


def quarantine(offset: int, raw: bytes, reason: str) -> dict[str, object]:
    return {"offset": offset, "raw": raw.decode("utf-8", "backslashreplace"), "reason": reason}


def _is_start(data: bytes, s: int) -> bool:
    return s == 0 or data[s - 1] not in _DIGITS


# Tag shape → plain tags, no raw data, required header in place. (Final, like _TRAILERS: compiled, a
# module constant is then a C static rather than a lookup in the module's dict per message.)
_SHAPES: Final[dict[str, bool]] = {}


def _shape_ok(shape: str) -> bool:
    tags = shape.split("\x01")
    # Tags with a leading zero (whose canonical text differs) are checked here, once per shape.
    ok = (
        shape.replace("\x01", "").isdigit()
        and shape.isascii()
        and "" not in tags
        and not any(t[0] == "0" for t in tags)
        and RAW_LEN_TEXT.isdisjoint(tags)
        and tags[0] == "8"
        and tags[1] == "9"
        and {"35", "49", "56", "34", "52"}.issubset(tags)
    )
    if len(_SHAPES) > 10_000:
        _SHAPES.clear()
    _SHAPES[shape] = ok
    return ok


class Framer:
    """Frames one whole log. ``frames`` and ``quarantined`` are filled by ``run``."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.frames: list[Frame] = []
        self.quarantined: list[dict[str, object]] = []
        self.begin_strings: set[str] = set()
        self.end = 0  # where framing stopped (see run)

    def run(self, start: int = 0, stop: int | None = None) -> Framer:
        """Frame from ``start`` (a message boundary) until a message ends at or after ``stop``;
        ``end`` is then where the next message would start (``stop`` itself unless the last one
        ran past it)."""
        data, find, n = self.data, self.data.find, len(self.data)
        head_match, quickfix, quickfix_head = HEAD.match, QUICKFIX.fullmatch, QUICKFIX_HEAD.match
        # Typed, so that compiled these are bytes operations rather than generic ones.
        begin: bytes
        delim: bytes
        body_len: bytes
        log_ts: bytes | None
        direction: str | None
        if stop is None:
            stop = n
        pos = start
        while pos < stop:
            # The usual case, read without a regular expression; a line whose BodyLength does not
            # land on its CheckSum goes the general way below.
            s, begin_len, digits, length = soh_head(data, pos)
            if s >= 0:
                end_body = s + begin_len + digits + 6 + length
                cs_end = end_body + 7
                if data.startswith(b"\x0110=", end_body - 1) and data[cs_end - 1 : cs_end] == SOH:
                    # As the matched head below would go: framed, or checked the careful way.
                    msg, log_ts = data[s:cs_end], data[pos + 1 : s - 3]
                    if not self._add_clean(s, msg, None, log_ts):
                        begin = data[s + 2 : s + 2 + begin_len]
                        self._verify(s, msg, msg, begin, None, log_ts)
                    pos = cs_end
                    continue
            # The usual case in one match: a newline, a QuickFIX-style prefix and the next header.
            m = quickfix_head(data, pos)
            if m is not None:
                log_ts, begin, delim, body_len = m.groups()
                s = pos + len(log_ts) + 4  # "\n" + time + " : "
                direction = None
            else:
                s = find(b"8=FIX", pos)
                while s > 0 and data[s - 1] in _DIGITS:
                    s = find(b"8=FIX", s + 1)
                if s < 0:
                    self._gap(pos, n, last=True)
                    pos = n
                    break
                direction = log_ts = None
                if s != pos:
                    qm = quickfix(data, pos + 1, s) if data[pos] == 10 else None
                    if qm is not None:
                        log_ts = qm[1]
                    else:
                        gap = data[pos:s]
                        if gap != b"\n" and gap != b"\r\n":
                            direction, log_ts = self._gap(pos, s, last=False)
                m = head_match(data, s)
                if m is None:
                    pos = self._bad_head(s)
                    continue
                _, begin, delim, body_len = m.groups()
            if delim == SOH:
                # Fast path: one decode and one split per message (see _add_clean). The body
                # starts after "8=<begin><SOH>9=<digits><SOH>" (m.end()), and BodyLength is 1 to 8
                # ASCII digits: both without a call into the interpreter.
                length = 0
                for i in range(len(body_len)):
                    length = length * 10 + body_len[i] - 48
                end_body = s + len(begin) + len(body_len) + 6 + length
                cs_end = end_body + 7
                if (
                    data[end_body - 1 : end_body + 3] == b"\x0110="
                    and data[cs_end - 1 : cs_end] == SOH
                ):
                    msg = data[s:cs_end]
                    if not self._add_clean(s, msg, direction, log_ts):
                        self._verify(s, msg, msg, begin, direction, log_ts)
                    pos = cs_end
                    continue
            if delim == b"^A":
                pos = self._caret_message(s, m, direction, log_ts)
                continue
            end_body = m.end() + int(m[4])
            cs_end = end_body + 7
            # BodyLength lands on "10=", a 3-digit CheckSum, then the delimiter (a '|' log may
            # drop the last one at the end of a line).
            if data[end_body - 1 : end_body + 3] == delim + b"10=":
                term = data[cs_end - 1 : cs_end]
                if term == delim:
                    pos = cs_end
                    msg = data[s:pos]
                    if delim != SOH:
                        msg = msg.replace(delim, SOH)
                    self._verify(
                        s, msg, msg if delim == SOH else data[s:pos], m[2], direction, log_ts
                    )
                    continue
                if delim != SOH and term in (b"", b"\n", b"\r", b" "):
                    pos = cs_end - 1
                    msg = data[s:pos].replace(delim, SOH) + SOH
                    self._verify(s, msg, data[s:pos], m[2], direction, log_ts)
                    continue
            pos = self._misframed(s, m.end(), int(m[4]), delim, data)
        self.end = pos
        return self

    def _add_clean(self, s: int, msg: bytes, direction: str | None, log_ts: bytes | None) -> bool:
        """Frame ``msg`` (SOH form) if its CheckSum holds, it is UTF-8, its fields split plainly
        (``split_values``) and its shape is plain; False sends it the careful way (_verify), which
        frames every message this frames exactly as this does."""
        trailer = _TRAILERS.get(msg[-4:-1])  # (declared CheckSum, trailer byte sum)
        if trailer is None:
            return False
        if len(msg) <= 256:
            # adler32's low half is 1 + the byte sum (exact up to 256 bytes): the whole message's
            # sum less its "10=nnn<SOH>" trailer, with no body copy.
            computed = ((adler32(msg) & 0xFFFF) - 1 - trailer[1]) & 255
        else:
            computed = checksum(msg[:-7])
        if computed != trailer[0]:
            return False
        try:
            text = msg.decode()
        except UnicodeDecodeError:
            return False
        # One decode and one split per message; the shape check (tags, raw data, header) is
        # cached per shape.
        split = split_values(text)
        if split is None:
            return False
        values, shape = split
        ok = _SHAPES.get(shape)
        if ok is None:
            ok = _shape_ok(shape)
        if not ok:
            return False
        self.begin_strings.add(values[0])
        self.frames.append(
            _new_tuple(Frame, (s, values[0], msg, values, shape, text, direction, log_ts))
        )
        return True

    def _verify(
        self,
        s: int,
        msg: bytes,
        raw: bytes,
        begin: bytes,
        direction: str | None,
        log_ts: bytes | None,
    ) -> None:
        cs_at = len(msg) - 7
        declared = msg[cs_at + 3 : cs_at + 6]
        computed = checksum(msg[:cs_at])
        if not declared.isdigit() or computed != int(declared):
            reason = (
                f"bad checksum: CheckSum(10)={declared.decode()} but computed {computed:03d}"
                if declared.isdigit()
                else f"malformed CheckSum(10) {declared!r}: expected 3 digits"
            )
            self.quarantined.append(quarantine(s, raw, reason))
            return
        try:
            tags, flat, text = split_text(msg)
        except FramingError as exc:
            self.quarantined.append(quarantine(s, raw, str(exc)))
            return
        if not (
            "35" in tags
            and "49" in tags
            and "56" in tags
            and "34" in tags
            and "52" in tags
            and flat[0] == "8"
            and flat[2] == "9"
        ):
            missing = [t for t in REQUIRED_HEADER if str(t) not in tags]
            names = ", ".join(f"{t} ({HEADER_NAMES[t]})" for t in missing)
            reason = f"missing required header field(s): {names}"
            self.quarantined.append(quarantine(s, raw, reason))
            return
        bs = _BEGIN_TEXT.get(begin) or begin.decode()
        self.begin_strings.add(bs)
        shape = "\x01".join(flat[0::2])
        self.frames.append(Frame(s, bs, msg, flat[1::2], shape, text, direction, log_ts))

    def _caret_message(
        self, s: int, m: re.Match[bytes], direction: str | None, log_ts: bytes | None
    ) -> int:
        """'^A'-delimited: convert the rest of the line to SOH form, then frame by BodyLength."""
        data = self.data
        eol = data.find(b"\n", s)
        eol = len(data) if eol < 0 else eol
        line = data[s:eol].rstrip(b"\r").replace(b"^A", SOH)
        body_start = len(m.group(2)) + 2 + 1 + 2 + len(m.group(4)) + 1
        end_body = body_start + int(m.group(4))
        if line[end_body - 1 : end_body + 3] == b"\x0110=" and line[
            end_body + 6 : end_body + 7
        ] in (
            SOH,
            b"",
        ):
            msg = line[: end_body + 7]
            if not msg.endswith(SOH):
                msg += SOH
            conv = line[: end_body + 7]
            raw_len = min(len(conv) + conv.count(SOH), eol - s)
            self._verify(s, msg, data[s : s + raw_len], m.group(2), direction, log_ts)
            return s + raw_len
        return self._misframed(s, m.end(), int(m.group(4)), b"^A", data)

    def _misframed(self, s: int, body_start: int, declared: int, delim: bytes, data: bytes) -> int:
        """BodyLength does not land on CheckSum(10): wrong length, or the message is truncated."""
        nxt = data.find(b"8=FIX", body_start)
        while nxt > 0 and not _is_start(data, nxt):
            nxt = data.find(b"8=FIX", nxt + 1)
        eol = data.find(b"\n", s)
        limit = len(data)
        if nxt >= 0:
            limit = nxt
        if 0 <= eol < limit:
            limit = eol
        cs = data.find(delim + b"10=", body_start - len(delim), limit)
        if cs >= 0:
            stop = data.find(delim, cs + len(delim) + 3, limit)
            stop = limit if stop < 0 else stop + len(delim)
            actual = cs + len(delim) - body_start
            if delim == b"^A":
                actual -= data.count(b"^A", body_start, cs + 2)
            reason = f"wrong body length: BodyLength(9)={declared} but the body is {actual} bytes"
            if actual == declared:
                value = data[cs + len(delim) + 3 : stop].rstrip(delim + b"\r\n")
                reason = f"malformed or truncated CheckSum(10) {value!r}: expected 3 digits"
            self.quarantined.append(quarantine(s, data[s:stop].rstrip(b"\r\n"), reason))
            return stop
        where = (
            "the next message"
            if limit == nxt
            else "end of line"
            if limit == eol
            else "end of input"
        )
        reason = f"truncated message: no CheckSum(10) before {where}"
        self.quarantined.append(quarantine(s, data[s:limit].rstrip(b"\r\n"), reason))
        return limit

    def _bad_head(self, s: int) -> int:
        data = self.data
        nxt = data.find(b"8=FIX", s + 1)
        while nxt > 0 and not _is_start(data, nxt):
            nxt = data.find(b"8=FIX", nxt + 1)
        eol = data.find(b"\n", s)
        stop = min(x for x in (nxt, eol, len(data)) if x >= 0)
        b = BEGIN.match(data, s)
        if b is None:
            reason = "malformed BeginString(8): expected FIX.4.x or FIXT.1.1 and a delimiter"
        else:
            reason = "BodyLength(9) missing, not the second field or not a number"
        self.quarantined.append(quarantine(s, data[s:stop].rstrip(b"\r\n"), reason))
        return stop

    def _gap(self, start: int, stop: int, last: bool) -> tuple[str | None, bytes | None]:
        """Bytes between messages: blank, a log prefix for the next message, or garbage."""
        data = self.data
        gap = data[start:stop]
        if gap[:1] == b"\n":  # the usual case: a QuickFIX-style prefix on the next line
            m = QUICKFIX.fullmatch(gap, 1)
            if m is not None:
                return None, m[1]
        lines = gap.split(b"\n")
        prefix = None if last else lines.pop()
        line_start = start
        for i, line in enumerate(lines):
            if line.strip():
                lead = len(line) - len(line.lstrip())
                what = "after a message" if i == 0 and start > 0 else "between messages"
                reason = f"garbage {what}: {len(line.strip())} bytes that are not a FIX message"
                self.quarantined.append(quarantine(line_start + lead, line.strip(), reason))
            line_start += len(line) + 1
        if prefix is None or not prefix.strip():
            return None, None
        at_line_start = bool(lines) or start == 0
        read = log_prefix(prefix) if at_line_start else None
        if read is None:
            lead = len(prefix) - len(prefix.lstrip())
            reason = (
                f"garbage before a message: {len(prefix.strip())} bytes that are not a log prefix"
            )
            self.quarantined.append(quarantine(line_start + lead, prefix.strip(), reason))
            return None, None
        return read


def frame_log(data: bytes) -> Framer:
    """Frame a whole log; see ``Framer.frames``, ``.quarantined`` and ``.begin_strings``."""
    return Framer(data).run()
