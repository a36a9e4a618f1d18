"""Event segments: each ingest batch of a capture, packed by column, for loading a replay fast.

Why: reading a million events back row by row costs 1-2 µs a row in the sqlite3 module (a Python
object for every column of every row, before any parsing), which was most of a big replay's time.
A segment holds the same batch as a few packed columns: integers as `array` bytes, kind/host/lane
as codes into one string table, correlation keys and payloads as one JSON document each. Loading it
is a handful of C calls. The `array` module and orjson do the work; the layout is ours because no
columnar library turns columns into Python objects any faster, and none is worth a dependency here.

The event and edge tables stay the record. The writer stores a segment in the same transaction as
its rows, and only when every row and edge of the batch was new (see `CaptureWriter`); a reader uses
a capture's segments only if they account for exactly its stored events and edges
(`segments_cover`), and otherwise reads the rows. Events are never updated in place, so equal
counts over non-overlapping seq ranges mean the segments hold what the rows hold.

Layout: MAGIC, a 4-byte little-endian header length, the header (JSON: event count, byte order,
string table, section lengths), then the sections in header order. Keys and payloads are
zlib-compressed (JSON text shrinks ~10x); the integer columns are stored as they are.
"""

from __future__ import annotations

import array
import itertools
import sys
import zlib
from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any, NamedTuple

import orjson

from deltatrace.capture_format import KEY_FIELDS

MAGIC = b"DTSEG1\n"
# One segment row (model deltatrace.EventSegment), %s placeholders: as ingest and replay's bench
# store them.
INSERT_SQL = (
    "INSERT INTO deltatrace_eventsegment (capture_id, first_seq, last_seq, events, edges, data) "
    "VALUES (%s, %s, %s, %s, %s, %s)"
)
# recv_ts_ns is optional; no real timestamp is this far before 1970.
NO_RECV = -(2**63)
_INT_SECTIONS = ("seq", "ts", "recv", "hl", "hc", "psrc", "pseq")
_CODE_SECTIONS = ("kind", "host", "lane", "pn", "pkind")
_TEXT_SECTIONS = ("keys", "payload")
SECTIONS = _INT_SECTIONS + _CODE_SECTIONS + _TEXT_SECTIONS
# What a "light" read (merge and clock checks only) needs.
# An event's causes: (capture key, seq, edge kind).
Parents = tuple[tuple[str, int, str], ...]
LIGHT = frozenset({"seq", "ts", "hl", "hc", "kind", "host", "lane", "pn", "psrc", "pseq", "pkind"})


class SegmentError(ValueError):
    """A segment that cannot be read (corrupt, or written by an incompatible version)."""


# The rows a segment is packed from are those of the event and edge tables, in the column order the
# writer inserts them (deltatrace/ingest/writer.py: _EVENT_COLS, _EDGE_COLS):
#   event: incident, capture, seq, kind, ts_ns, recv_ts_ns, hlc_l, hlc_c, host, lane,
#          *KEY_FIELDS, payload (canonical JSON text), raw, digest
#   edge:  incident, src_capture, src_seq, dst_capture, dst_seq, kind, inferred
_SEQ, _KIND, _TS, _RECV, _HL, _HC, _HOST, _LANE = (itemgetter(i) for i in range(2, 10))
_KEYS = slice(10, 10 + len(KEY_FIELDS))
_PAYLOAD = itemgetter(10 + len(KEY_FIELDS))


class Columns(NamedTuple):
    """A segment read back: one list per column, events in seq order. Parents are per event:
    (src capture key, src seq, edge kind), sorted by capture id, seq and kind. Keys and payloads are empty lists when light."""

    seq: list[int]
    kind: list[str]
    ts_ns: list[int]
    recv_ts_ns: list[int | None]
    hlc_l: list[int]
    hlc_c: list[int]
    host: list[str]
    lane: list[str]
    parents: list[Parents]
    keys: list[dict[str, str]]
    payloads: list[dict[str, Any]]


def pack(rows: Sequence[Sequence[Any]], edges: Sequence[Sequence[Any]]) -> bytes:
    """A segment of event-table ``rows`` (one capture, strictly increasing seq) and the edge-table
    rows whose effects they are."""
    seqs: list[int] = list(map(_SEQ, rows))
    if any(b <= a for a, b in itertools.pairwise(seqs)):
        raise SegmentError("segment rows must have strictly increasing seq")
    strings: dict[str, int] = {}
    code = strings.setdefault

    def codes(values: Iterable[str]) -> bytes:
        return array.array("I", [code(v, len(strings)) for v in values]).tobytes()

    by_dst: dict[int, list[tuple[int, int, str]]] = {}
    for _inc, src_cap, src_seq, _dst_cap, dst_seq, kind, *_ in edges:
        by_dst.setdefault(dst_seq, []).append((src_cap, src_seq, kind))
    if not by_dst.keys() <= set(seqs):
        raise SegmentError("an edge's effect is not in the segment")
    # Per event in seq order, its causes sorted as the edge_unique index orders them.
    counts: list[int] = []
    psrc: list[int] = []
    pseq: list[int] = []
    pkind: list[str] = []
    causes_of = by_dst.get
    for seq in seqs:
        causes = causes_of(seq)
        if causes is None:
            counts.append(0)
            continue
        if len(causes) > 1:
            causes.sort()
        counts.append(len(causes))
        for src_cap, src_seq, kind in causes:
            psrc.append(src_cap)
            pseq.append(src_seq)
            pkind.append(kind)
    recv = [NO_RECV if r is None else r for r in map(_RECV, rows)]
    body: dict[str, bytes] = {
        "seq": array.array("q", seqs).tobytes(),
        "ts": array.array("q", map(_TS, rows)).tobytes(),
        "recv": array.array("q", recv).tobytes(),
        "hl": array.array("q", map(_HL, rows)).tobytes(),
        "hc": array.array("q", map(_HC, rows)).tobytes(),
        "psrc": array.array("q", psrc).tobytes(),
        "pseq": array.array("q", pseq).tobytes(),
        "kind": codes(map(_KIND, rows)),
        "host": codes(map(_HOST, rows)),
        "lane": codes(map(_LANE, rows)),
        "pn": array.array("I", counts).tobytes(),
        "pkind": codes(pkind),
    }
    keys = [{f: v for f, v in zip(KEY_FIELDS, r[_KEYS], strict=True) if v} for r in rows]
    body["keys"] = zlib.compress(orjson.dumps(keys), 1)
    body["payload"] = zlib.compress(("[" + ",".join(map(_PAYLOAD, rows)) + "]").encode(), 1)
    header = orjson.dumps(
        {
            "n": len(rows),
            "byteorder": sys.byteorder,
            "strings": list(strings),
            "sections": [[name, len(body[name])] for name in SECTIONS],
        }
    )
    parts = [MAGIC, len(header).to_bytes(4, "little"), header, *map(body.__getitem__, SECTIONS)]
    return b"".join(parts)


def segments_cover(meta: Sequence[Sequence[int]], events: int, edges: int) -> bool:
    """Whether a capture's segments, as (first_seq, last_seq, events, edges) in first_seq order,
    account for exactly its ``events`` stored events and ``edges`` stored causes."""
    last = None
    for first, end, _n, _e in meta:
        if end < first or (last is not None and first <= last):
            return False
        last = end
    return bool(meta) and (sum(m[2] for m in meta), sum(m[3] for m in meta)) == (events, edges)


def unpack(blob: bytes | memoryview, names: Mapping[int, str], full: bool = True) -> Columns:
    """The columns of a segment; ``full=False`` skips keys and payloads (left empty). Parents name
    their capture by ``names`` (capture id -> key); causes in other captures are left out."""
    data = memoryview(blob)
    try:
        if bytes(data[: len(MAGIC)]) != MAGIC:
            raise SegmentError("not a DeltaTrace event segment (or an incompatible version)")
        start = len(MAGIC) + 4
        end = start + int.from_bytes(data[len(MAGIC) : start], "little")
        header = orjson.loads(data[start:end])
        n: int = header["n"]
        swap = header["byteorder"] != sys.byteorder
        strings: list[str] = header["strings"]
        sections: dict[str, memoryview] = {}
        pos = end
        for name, length in header["sections"]:
            sections[name] = data[pos : pos + length]
            pos += length
        if pos != len(data) or set(sections) != set(SECTIONS):
            raise SegmentError("segment sections do not add up")
        wanted = SECTIONS if full else LIGHT

        def ints(name: str, typecode: str) -> list[int]:
            a = array.array(typecode)
            a.frombytes(sections[name])
            if swap:
                a.byteswap()
            return a.tolist()

        col: dict[str, list[Any]] = {}
        for name in _INT_SECTIONS:
            if name in wanted:
                col[name] = ints(name, "q")
        for name in _CODE_SECTIONS:
            if name in wanted:
                values = ints(name, "I")
                col[name] = values if name == "pn" else list(map(strings.__getitem__, values))
        keys: list[dict[str, str]] = []
        payloads: list[dict[str, Any]] = []
        if full:
            keys = orjson.loads(zlib.decompress(sections["keys"]))
            payloads = orjson.loads(zlib.decompress(sections["payload"]))
    except SegmentError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, zlib.error) as exc:
        raise SegmentError(f"corrupt event segment: {exc}") from None
    lengths = {len(v) for k, v in col.items() if k not in ("psrc", "pseq", "pkind")}
    if lengths != {n} or (full and (len(keys), len(payloads)) != (n, n)):
        raise SegmentError("segment columns disagree on the event count")
    recv: list[int | None] = (
        [None if r == NO_RECV else r for r in col["recv"]] if full else [None] * n
    )
    return Columns(
        col["seq"],
        col["kind"],
        col["ts"],
        recv,
        col["hl"],
        col["hc"],
        col["host"],
        col["lane"],
        _parents(col["pn"], [names.get(c) for c in col["psrc"]], col["pseq"], col["pkind"]),
        keys,
        payloads,
    )


def _parents(
    counts: list[int], src: list[str | None], seqs: list[int], kinds: list[str]
) -> list[Parents]:
    if len(src) != sum(counts) or len(seqs) != len(src) or len(kinds) != len(src):
        raise SegmentError("segment parent columns disagree")
    out: list[Parents] = []
    append = out.append
    none: Parents = ()
    i = 0
    for c in counts:
        if c == 0:
            append(none)
            continue
        causes: list[tuple[str, int, str]] = []
        for j in range(i, i + c):
            name = src[j]
            if name is not None:
                causes.append((name, seqs[j], kinds[j]))
        append(tuple(causes))
        i += c
    return out
