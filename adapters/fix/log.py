"""Read a whole FIX message log into one capture: header, events and quarantined input."""

from __future__ import annotations

import gc
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from adapters.fix.framing import Frame, frame_log, quarantine
from adapters.fix.mapping import FixMappingError, FixNormalizer, recv_ts_ns, utc_ts_ns


@dataclass
class FixLog:
    header: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    messages: int = 0  # valid messages turned into events


def capture_key(source: str) -> str:
    """The capture key of a file: its name without extension (`-` is stdin)."""
    if source in ("-", ""):
        return "stdin"
    name = PurePath(source).name
    return name.split(".", 1)[0] or name


def _log_ts_ns(text: bytes | None) -> int | None:
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


def _local_comp_id(frames: list[Frame]) -> str | None:
    """The recording engine's CompID: the sender of outgoing and the target of incoming messages."""
    votes: Counter[str] = Counter()
    for fr in frames:
        if fr.direction is None:
            continue
        tags = fr.flat[-2::-2]  # reversed, so index() finds a repeated tag's last value
        tag = "49" if fr.direction == "out" else "56"
        if tag in tags:
            votes[fr.flat[-1 - 2 * tags.index(tag)]] += 1
    if not votes:
        return None
    # Ties go to the first in code-point order (= the UTF-8 byte order).
    return min(votes.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def read_fix_log(data: bytes, source: str) -> FixLog:
    """Frame, verify and map every message of a FIX log; bad input is quarantined, never fatal."""
    # Millions of small acyclic dicts: the cyclic GC would rescan them over and over (~1.5x here).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _read(data, source)
    finally:
        if was_enabled:
            gc.enable()


def _read(data: bytes, source: str) -> FixLog:
    framer = frame_log(data)
    key = capture_key(source)
    host = _local_comp_id(framer.frames) or key
    header: dict[str, Any] = {
        "format": "deltatrace.capture",
        "version": 1,
        "capture": key,
        "host": host,
        "adapter": "fix-log",
        "meta": {"source": source, "begin_strings": sorted(framer.begin_strings)},
    }
    log = FixLog(header=header, quarantined=framer.quarantined)
    norm = FixNormalizer(key, host)
    extend = log.events.extend
    normalize = norm.normalize_text
    messages = 0
    for offset, _, msg, flat, shape, text, direction, log_ts in framer.frames:
        recv = None
        if log_ts is not None and direction != "out":
            recv = recv_ts_ns(log_ts) if log_ts[8:9] == b"-" else _log_ts_ns(log_ts)
        try:
            extend(normalize(flat, shape, text, recv, direction, msg))
        except FixMappingError as exc:
            log.quarantined.append(quarantine(offset, msg, str(exc)))
            continue
        messages += 1
    log.messages = messages
    log.quarantined.sort(key=lambda q: q["offset"])
    return log
