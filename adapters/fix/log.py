"""Read a whole FIX message log into one capture: header, events and quarantined input."""

from __future__ import annotations

import gc
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from adapters.fix.framing import Frame, frame_log, quarantine
from adapters.fix.mapping import FixMappingError, FixNormalizer, utc_ts_ns


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
    votes: Counter[bytes] = Counter()
    for fr in frames:
        if fr.direction is None:
            continue
        comp = fr.tags.get(b"49" if fr.direction == "out" else b"56")
        if comp is not None:
            votes[comp] += 1
    if not votes:
        return None
    return min(votes.items(), key=lambda kv: (-kv[1], kv[0]))[0].decode()


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
    normalize = norm.normalize_tags
    for fr in framer.frames:
        recv = _log_ts_ns(fr.log_ts) if fr.log_ts is not None and fr.direction != "out" else None
        try:
            extend(normalize(fr.tags, fr.flat, fr.msg, recv, fr.direction))
        except FixMappingError as exc:
            log.quarantined.append(quarantine(fr.offset, fr.msg, str(exc)))
            continue
        log.messages += 1
    log.quarantined.sort(key=lambda q: q["offset"])
    return log
