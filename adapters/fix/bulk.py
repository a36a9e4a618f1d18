"""The log reader's per-message loop, compiled: framed messages in file order onto events.

It lives apart from ``log.py`` (which forks workers and is patched by tests) so that mypyc compiles
it with the framer and the normaliser it calls: a call between compiled modules is a direct C call,
where the interpreter's loop paid for argument parsing, tuple unpacking and bytecode per message.
"""

from __future__ import annotations

from typing import Any, Final

from adapters.fix.framing import Frame, quarantine
from adapters.fix.mapping import FixNormalizer
from adapters.fix.timestamps import FixMappingError, recv_ts_ns, utc_ts_ns


def log_ts_ns(text: bytes | None) -> int | None:
    """An engine log prefix timestamp, when it carries a date, as epoch ns (else None)."""
    if text is None:
        return None
    if text[8:9] == b"-":  # YYYYMMDD-HH:MM:SS[.f]: already a FIX UTCTimestamp
        return recv_ts_ns(text)
    t = text.rstrip(b"Z").replace(b",", b".")
    if len(t) >= 19 and t[4:5] == b"-":  # 2025-01-01[T ]12:00:00[.fff]
        t = t[0:4] + t[5:7] + t[8:10] + b"-" + t[11:]
    elif len(t) < 17:
        return None  # time of day only: no date to anchor it
    try:
        return utc_ts_ns(t)
    except FixMappingError:
        return None


def normalize_frames(
    frames: list[Frame],
    norm: FixNormalizer,
    events: list[dict[str, Any]],
    quarantined: list[dict[str, Any]],
) -> int:
    """Map frames in order onto ``events``; unmappable ones go to ``quarantined``. Returns how
    many messages became events."""
    messages = 0
    for offset, _, msg, values, shape, text, direction, log_ts in frames:
        recv: int | None = None
        if log_ts is not None and direction != "out":
            recv = recv_ts_ns(log_ts) if log_ts[8:9] == b"-" else log_ts_ns(log_ts)
        try:
            events.extend(norm.normalize_values(values, shape, text, recv, direction, msg))
        except FixMappingError as exc:
            quarantined.append(quarantine(offset, msg, str(exc)))
            continue
        messages += 1
    return messages


# Shape -> where its SenderCompID(49) and TargetCompID(56) values are (a repeated tag's last; -1:
# absent). Final: a C static when compiled.
_COMP_ID_AT: Final[dict[str, tuple[int, int]]] = {}


def _comp_id_at(shape: str) -> tuple[int, int]:
    at = _COMP_ID_AT.get(shape)
    if at is None:
        last = {t: i for i, t in enumerate(shape.split("\x01"))}
        at = (last.get("49", -1), last.get("56", -1))
        if len(_COMP_ID_AT) > 10_000:
            _COMP_ID_AT.clear()
        _COMP_ID_AT[shape] = at
    return at


def comp_id_votes(frames: list[Frame]) -> dict[str, int]:
    """Votes for the recording engine's CompID: the sender of outgoing and the target of incoming
    messages (a log without direction markers has none)."""
    votes: dict[str, int] = {}
    for fr in frames:
        direction = fr.direction
        if direction is None:
            continue
        sender_at, target_at = _comp_id_at(fr.shape)
        at = sender_at if direction == "out" else target_at
        if at >= 0:
            comp_id = fr.values[at]
            votes[comp_id] = votes.get(comp_id, 0) + 1
    return votes
