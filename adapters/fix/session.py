"""The FIX session layer as a pure state machine (acceptor side): bytes and clock ticks in, actions out.

No sockets, no clock reads, no database: the asyncio layer (`adapters.fix.acceptor`) feeds it received
bytes with the receive time, calls `timer()` periodically, carries out the returned actions in order
(persist, deliver, send, disconnect) and answers `ResendNeeded` with the stored outbound messages.
Behaviour follows the FIX session-level test cases (FIX Session Layer, "Test Cases and Expected
Behaviors"): logon, heartbeats and TestRequest, sequence gaps and ResendRequest, PossDup, garbled
messages, SendingTime accuracy, SequenceReset (GapFill and Reset), session Reject and Logout.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import simplefix.constants

from adapters.fix.wire import (
    Frame,
    Garbled,
    StreamFramer,
    encode_message,
    format_utc_timestamp,
    frame_from_raw,
    parse_utc_timestamp,
)

log = logging.getLogger(__name__)

SEC = 10**9
ADMIN_TYPES = frozenset({"0", "1", "2", "3", "4", "5", "A"})
KNOWN_TYPES = frozenset(
    v.decode() for k, v in vars(simplefix.constants).items() if k.startswith("MSGTYPE_")
)
# FIX 5.0 adds two-letter types beyond simplefix's table; U* are user-defined.
_EXTRA_TYPE = re.compile(r"[A-Z]{2}|U[0-9A-Za-z]*")
HEADER_TAGS = (34, 35, 49, 52, 56)
# Header tags rebuilt when a stored application message is resent.
_RESEND_DROP = frozenset({8, 9, 10, 34, 35, 43, 49, 52, 56, 122})

# SessionRejectReason(373)
REQUIRED_TAG_MISSING = 1
TAG_WITHOUT_VALUE = 4
VALUE_INCORRECT = 5
INCORRECT_FORMAT = 6
COMPID_PROBLEM = 9
SENDING_TIME_ACCURACY = 10
INVALID_MSG_TYPE = 11
TAG_REPEATED = 13


@dataclass(frozen=True)
class SessionConfig:
    sender_comp_id: str = "DELTATRACE"
    target_comp_id: str = "CLIENT"
    begin_string: str = "FIX.4.4"
    reset_on_logon: bool = False
    # Silence tolerated beyond HeartBtInt before a TestRequest; None = 20% of HeartBtInt.
    heartbeat_grace_ns: int | None = None
    max_clock_skew_ns: int = 120 * SEC
    logon_timeout_ns: int = 10 * SEC
    logout_timeout_ns: int = 2 * SEC


@dataclass(frozen=True)
class Send:
    seq: int
    msg_type: str
    raw: bytes
    store: bool  # an application message: keep it for answering ResendRequests


@dataclass(frozen=True)
class Deliver:
    """An in-sequence application message for the application (capture, order entry)."""

    message: Frame
    recv_ts_ns: int


@dataclass(frozen=True)
class ResendNeeded:
    """The peer asked for [begin, end]: call `build_resend` with the stored messages in that range."""

    begin: int
    end: int


@dataclass(frozen=True)
class ResetStore:
    """Sequence numbers went back to 1: forget the stored outbound messages."""


@dataclass(frozen=True)
class SessionRecord:
    """A session-level message that was framed correctly, received ("in") or sent ("out").

    Kept in the capture as a Session record, as the log reader keeps them: logons, heartbeats,
    resend requests and gap fills are what shows an investigator where a session broke.
    """

    message: Frame
    ts_ns: int
    direction: str


# Session-level MsgTypes recorded as they cross the wire (Reject 3 included: the peer refusing one
# of our messages matters as much as us refusing one of theirs).
RECORDED_TYPES = frozenset({"A", "0", "1", "2", "3", "4", "5"})


@dataclass(frozen=True)
class Disconnect:
    reason: str


@dataclass(frozen=True)
class Ignored:
    raw: bytes
    reason: str


Action = Send | Deliver | ResendNeeded | ResetStore | Disconnect | Ignored | SessionRecord


def _int(value: bytes | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


class FixSession:
    """One acceptor-side session with its sequence numbers (restored from the store by the caller)."""

    def __init__(
        self, config: SessionConfig, next_sender_seq: int, next_target_seq: int, now_ns: int
    ) -> None:
        self.config = config
        self.next_sender_seq = next_sender_seq
        self.next_target_seq = next_target_seq
        self.state = "awaiting_logon"  # -> active -> logout_sent -> closed
        self.heartbeat_ns = 0
        self.connected_ns = now_ns
        self.last_recv_ns = now_ns
        self.last_sent_ns = now_ns
        self.logout_sent_ns = 0
        self.test_request: tuple[str, int] | None = None  # (TestReqID, sent at)
        self.test_request_count = 0
        self.resend_until: int | None = None  # highest seq seen when our ResendRequest went out
        self.queue: dict[int, tuple[Frame, bool]] = {}  # too-high messages waiting for the gap
        self._framer = StreamFramer()

    # ---- inputs -------------------------------------------------------------------------------
    def receive(self, data: bytes, now_ns: int) -> list[Action]:
        out: list[Action] = []
        for item in self._framer.feed(data):
            if self.state == "closed":
                break
            if isinstance(item, Garbled):
                log.warning("garbled FIX message ignored: %s", item.reason)
                out.append(Ignored(item.raw, item.reason))
                continue
            if item.msg_type in RECORDED_TYPES:
                out.append(SessionRecord(item, now_ns, "in"))
            out += self._on_frame(item, now_ns)
            out += self._drain_queue(now_ns)
        return out

    def timer(self, now_ns: int) -> list[Action]:
        c = self.config
        if self.state == "awaiting_logon" and now_ns - self.connected_ns >= c.logon_timeout_ns:
            return self._close("no Logon received")
        if self.state == "logout_sent" and now_ns - self.logout_sent_ns >= c.logout_timeout_ns:
            return self._close("no Logout reply")
        if self.state != "active" or self.heartbeat_ns <= 0:
            return []
        limit = self.heartbeat_ns + self.grace_ns
        if self.test_request is not None:
            if now_ns - self.test_request[1] >= limit:
                return self._close("TestRequest unanswered")
            return []
        out: list[Action] = []
        if now_ns - self.last_recv_ns >= limit:
            self.test_request_count += 1
            req_id = f"TEST-{self.test_request_count}"
            self.test_request = (req_id, now_ns)
            out.append(self._send("1", [(112, req_id)], now_ns))
        elif now_ns - self.last_sent_ns >= self.heartbeat_ns:
            out.append(self._send("0", [], now_ns))
        return out

    def send_app(
        self, msg_type: str, body: list[tuple[int, str | bytes | int]], now_ns: int
    ) -> Send:
        """An outbound application message (e.g. an ExecutionReport), stored for resends."""
        if self.state != "active":
            raise RuntimeError(f"cannot send {msg_type} in state {self.state}")
        return self._send(msg_type, body, now_ns, store=True)

    def logout(self, text: str, now_ns: int) -> list[Action]:
        """Start the Logout handshake (the peer's Logout reply or the timeout ends it)."""
        if self.state != "active":
            return self._close(text)
        self.state = "logout_sent"
        self.logout_sent_ns = now_ns
        return [self._send("5", [(58, text)], now_ns)]

    def build_resend(
        self, begin: int, end: int, stored: dict[int, bytes], now_ns: int
    ) -> list[Action]:
        """Answer a ResendRequest: stored application messages again with PossDup, gaps filled."""
        last = self.next_sender_seq - 1
        end = last if end == 0 or end > last else end
        out: list[Action] = []
        gap_start: int | None = None
        for seq in range(begin, end + 1):
            frame = frame_from_raw(stored[seq]) if seq in stored else None
            if frame is None:
                gap_start = seq if gap_start is None else gap_start
                continue
            if gap_start is not None:
                out.append(self._gap_fill(gap_start, seq, now_ns))
                gap_start = None
            body = [(t, v) for t, v in frame.fields if t not in _RESEND_DROP]
            orig = frame.get(52) or format_utc_timestamp(now_ns)
            header = [*self._header(seq, now_ns), (43, "Y"), (122, orig)]
            raw = encode_message(self.config.begin_string, frame.msg_type, header, body)
            out.append(Send(seq, frame.msg_type, raw, store=False))
        if gap_start is not None:
            out.append(self._gap_fill(gap_start, end + 1, now_ns))
        self.last_sent_ns = now_ns
        return out

    @property
    def grace_ns(self) -> int:
        g = self.config.heartbeat_grace_ns
        return self.heartbeat_ns // 5 if g is None else g

    # ---- message handling ---------------------------------------------------------------------
    def _on_frame(self, f: Frame, now: int, answered: bool = False) -> list[Action]:
        c = self.config
        self.last_recv_ns = now
        self.test_request = None  # any valid message shows the peer is alive
        if f.get(8) != c.begin_string.encode():
            return self._logout_close(f"BeginString must be {c.begin_string}", now)
        mt = f.msg_type
        if self.state == "awaiting_logon":
            if mt != "A":
                return self._close(f"first message is {mt!r}, not Logon")
            return self._on_logon(f, now)
        if f.get(49) != c.target_comp_id.encode() or f.get(56) != c.sender_comp_id.encode():
            tag = 49 if f.get(49) != c.target_comp_id.encode() else 56
            out = [self._reject(f, COMPID_PROBLEM, "CompID problem", now, tag)]
            return out + self._logout_close("CompID problem", now)
        seq = _int(f.get(34))
        if seq is None:
            return self._logout_close("MsgSeqNum(34) missing or not a number", now)
        problem = self._check_sending_time(f, now)
        if problem is not None and problem[0] == SENDING_TIME_ACCURACY:
            out = [self._reject(f, *problem, now, 52)]
            if seq == self.next_target_seq:
                self.next_target_seq += 1
            return out + self._logout_close("SendingTime accuracy problem", now)
        if mt == "4" and f.get(123) != b"Y":
            return self._on_sequence_reset(f, now)
        if mt == "5" and seq >= self.next_target_seq:
            # Logout is honoured even past a gap (which stays open for the next Logon).
            if seq == self.next_target_seq:
                self.next_target_seq += 1
            if self.state == "logout_sent":
                return self._close("Logout handshake complete")
            return self._logout_close("Logout acknowledged", now)
        if seq > self.next_target_seq:
            return self._too_high(f, seq, mt, now)
        possdup = f.get(43) == b"Y"
        if seq < self.next_target_seq:
            if not possdup:
                text = f"MsgSeqNum too low, expecting {self.next_target_seq} but received {seq}"
                return self._logout_close(text, now)
            return [Ignored(f.raw, f"duplicate of MsgSeqNum {seq}")]
        # In sequence: this message consumes its number whatever happens next.
        self.next_target_seq += 1
        if answered:
            return []
        if problem is not None:
            return [self._reject(f, *problem, now, 52)]
        if possdup and mt != "4":
            orig = f.get(122)
            if orig is None:
                return [self._reject(f, REQUIRED_TAG_MISSING, "OrigSendingTime missing", now, 122)]
            orig_ns, sent_ns = parse_utc_timestamp(orig), parse_utc_timestamp(f.get(52) or b"")
            if orig_ns is None or sent_ns is None or orig_ns > sent_ns:
                reason = "OrigSendingTime after SendingTime"
                return [self._reject(f, SENDING_TIME_ACCURACY, reason, now, 122)]
        for tag in HEADER_TAGS:
            if f.count(tag) > 1:
                return [self._reject(f, TAG_REPEATED, f"tag {tag} repeated", now, tag)]
        for tag, value in f.fields:
            if value == b"":
                return [self._reject(f, TAG_WITHOUT_VALUE, f"tag {tag} has no value", now, tag)]
        return self._dispatch(f, mt, seq, now)

    def _dispatch(self, f: Frame, mt: str, seq: int, now: int) -> list[Action]:
        if mt == "0":
            return []
        if mt == "1":
            req = f.get(112)
            if req is None:
                return [self._reject(f, REQUIRED_TAG_MISSING, "TestReqID missing", now, 112)]
            return [self._send("0", [(112, req)], now)]
        if mt == "2":
            return self._on_resend_request(f, now)
        if mt == "3":
            log.warning("peer rejected our MsgSeqNum %s: %s", f.get(45), f.get(58))
            return []
        if mt == "4":  # GapFill mode, in sequence
            new = _int(f.get(36))
            if new is None:
                return [self._reject(f, REQUIRED_TAG_MISSING, "NewSeqNo missing", now, 36)]
            if new <= seq:
                text = f"NewSeqNo {new} not after MsgSeqNum {seq}"
                return [self._reject(f, VALUE_INCORRECT, text, now, 36)]
            self.next_target_seq = new
            return []
        if mt == "A":
            return self._logout_close("Logon received on an active session", now)
        if mt not in KNOWN_TYPES and not _EXTRA_TYPE.fullmatch(mt):
            return [self._reject(f, INVALID_MSG_TYPE, f"invalid MsgType {mt!r}", now, 35)]
        return [Deliver(f, now)]

    def _on_logon(self, f: Frame, now: int) -> list[Action]:
        c = self.config
        their = (f.get(49) or b"").decode("ascii", "replace")
        ours = (f.get(56) or b"").decode("ascii", "replace")
        if (their, ours) != (c.target_comp_id, c.sender_comp_id):
            # Not our session: answer on the peer's own CompIDs without touching our numbers.
            text = f"Logon refused: unknown CompID pair {their}->{ours}"
            header: list[tuple[int, str | bytes | int]] = [
                (49, ours),
                (56, their),
                (34, 1),
                (52, format_utc_timestamp(now)),
            ]
            raw = encode_message(c.begin_string, "5", header, [(58, text)])
            return [Send(1, "5", raw, store=False), *self._close(text)]
        seq, hb = _int(f.get(34)), _int(f.get(108))
        if seq is None:
            return self._close("Logon without MsgSeqNum")
        if hb is None:
            return self._logout_close("Logon refused: HeartBtInt(108) missing or invalid", now)
        problem = self._check_sending_time(f, now)
        if problem is not None:
            return self._logout_close(f"Logon refused: {problem[1]}", now)
        out: list[Action] = []
        reset = f.get(141) == b"Y" or c.reset_on_logon
        if reset:
            self.next_sender_seq = self.next_target_seq = 1
            out.append(ResetStore())
        if seq < self.next_target_seq:
            text = f"MsgSeqNum too low, expecting {self.next_target_seq} but received {seq}"
            return out + self._logout_close(text, now)
        self.heartbeat_ns = hb * SEC
        self.state = "active"
        body: list[tuple[int, str | bytes | int]] = [(98, 0), (108, hb)]
        if reset:
            body.append((141, "Y"))
        if c.begin_string == "FIXT.1.1":
            body.append((1137, f.get(1137) or b"9"))  # DefaultApplVerID: FIX 5.0 SP2 unless told
        out.append(self._send("A", body, now))
        if seq > self.next_target_seq:
            out += self._request_resend(seq, now)
        else:
            self.next_target_seq += 1
        return out

    def _on_sequence_reset(self, f: Frame, now: int) -> list[Action]:
        """Reset mode: MsgSeqNum is ignored; NewSeqNo may only move forwards."""
        new = _int(f.get(36))
        if new is None:
            return [self._reject(f, REQUIRED_TAG_MISSING, "NewSeqNo missing", now, 36)]
        if new < self.next_target_seq:
            text = f"NewSeqNo {new} below expected {self.next_target_seq}"
            return [self._reject(f, VALUE_INCORRECT, text, now, 36)]
        self.next_target_seq = new
        self.queue = {s: q for s, q in self.queue.items() if s >= new}
        return []

    def _on_resend_request(self, f: Frame, now: int) -> list[Action]:
        begin, end = _int(f.get(7)), _int(f.get(16))
        if begin is None or end is None:
            tag = 7 if begin is None else 16
            return [self._reject(f, REQUIRED_TAG_MISSING, "BeginSeqNo/EndSeqNo", now, tag)]
        if begin < 1 or (end != 0 and end < begin):
            return [self._reject(f, VALUE_INCORRECT, f"bad range {begin}-{end}", now, 16)]
        return [ResendNeeded(begin, end)]

    def _too_high(self, f: Frame, seq: int, mt: str, now: int) -> list[Action]:
        out: list[Action] = []
        answered = False
        if mt == "2":  # answer at once: waiting for our own gap could deadlock both sides
            out += self._on_resend_request(f, now)
            answered = True
        self.queue[seq] = (f, answered)
        # We always ask through infinity (EndSeqNo 0): one outstanding request covers later gaps.
        if self.resend_until is None:
            out += self._request_resend(seq, now)
        else:
            self.resend_until = max(self.resend_until, seq)
        return out

    def _request_resend(self, seen: int, now: int) -> list[Action]:
        self.resend_until = seen
        return [self._send("2", [(7, self.next_target_seq), (16, 0)], now)]

    def _drain_queue(self, now: int) -> list[Action]:
        out: list[Action] = []
        while self.state == "active" and self.next_target_seq in self.queue:
            f, answered = self.queue.pop(self.next_target_seq)
            out += self._on_frame(f, now, answered)
        for s in [s for s in self.queue if s < self.next_target_seq]:
            del self.queue[s]
        if self.resend_until is not None and self.next_target_seq > self.resend_until:
            self.resend_until = None
        return out

    def _check_sending_time(self, f: Frame, now: int) -> tuple[int, str] | None:
        st = f.get(52)
        if st is None:
            return REQUIRED_TAG_MISSING, "SendingTime(52) missing"
        ts = parse_utc_timestamp(st)
        if ts is None:
            return INCORRECT_FORMAT, "SendingTime(52) not a UTCTimestamp"
        # A resent message legitimately carries a new SendingTime; the check applies to it too.
        if abs(now - ts) > self.config.max_clock_skew_ns:
            return SENDING_TIME_ACCURACY, "SendingTime accuracy problem"
        return None

    # ---- outbound ----------------------------------------------------------------------------
    def _header(self, seq: int, now: int) -> list[tuple[int, str | bytes | int]]:
        c = self.config
        return [
            (49, c.sender_comp_id),
            (56, c.target_comp_id),
            (34, seq),
            (52, format_utc_timestamp(now)),
        ]

    def _send(
        self, mt: str, body: list[tuple[int, str | bytes | int]], now: int, store: bool = False
    ) -> Send:
        seq = self.next_sender_seq
        self.next_sender_seq += 1
        self.last_sent_ns = now
        raw = encode_message(self.config.begin_string, mt, self._header(seq, now), body)
        return Send(seq, mt, raw, store)

    def _gap_fill(self, seq: int, new_seq: int, now: int) -> Send:
        header = [*self._header(seq, now), (43, "Y"), (122, format_utc_timestamp(now))]
        body: list[tuple[int, str | bytes | int]] = [(123, "Y"), (36, new_seq)]
        return Send(seq, "4", encode_message(self.config.begin_string, "4", header, body), False)

    def _reject(self, f: Frame, reason: int, text: str, now: int, ref_tag: int | None) -> Send:
        body: list[tuple[int, str | bytes | int]] = [(45, f.get(34) or b"0")]
        if ref_tag is not None:
            body.append((371, ref_tag))
        body += [(372, f.msg_type or "?"), (373, reason), (58, text)]
        return self._send("3", body, now)

    def _logout_close(self, text: str, now: int) -> list[Action]:
        return [self._send("5", [(58, text)], now), *self._close(text)]

    def _close(self, reason: str) -> list[Action]:
        self.state = "closed"
        return [Disconnect(reason)]
