"""Event segments (deltatrace/segments.py): what is packed is what comes back, damage is caught."""

from __future__ import annotations

import array
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deltatrace.capture_format import KEY_FIELDS
from deltatrace.segments import MAGIC, SegmentError, pack, segments_cover, unpack

NAMES = {1: "gw-1", 2: "md-1"}  # capture 3 belongs to no capture the reader knows

text = st.text(max_size=12)
key_cols = st.lists(st.sampled_from(["", "ACME", "C1", "ü€"]), min_size=7, max_size=7)
payloads = st.dictionaries(
    st.text(max_size=5), st.one_of(st.integers(-(2**63), 2**63 - 1), text, st.none()), max_size=3
)


@st.composite
def batches(draw: Any) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    seqs = sorted(draw(st.sets(st.integers(1, 10**12), min_size=1, max_size=30)))
    rows = []
    for seq in seqs:
        row = (
            9,
            1,
            seq,
            draw(st.sampled_from(["MDTick", "Order", "Fill"])),
            draw(st.integers(-(2**62), 2**62)),
            draw(st.one_of(st.none(), st.integers(0, 2**62))),
            draw(st.integers(0, 2**62)),
            draw(st.integers(0, 2**31)),
            draw(text),
            draw(text),
            *draw(key_cols),
            orjson.dumps(draw(payloads), option=orjson.OPT_SORT_KEYS).decode(),
            None,
            "d",
        )
        rows.append(row)
    edges = []
    for seq in seqs:
        for src, sseq, kind in draw(
            st.sets(st.tuples(st.sampled_from([1, 2, 3]), st.integers(0, 99), text), max_size=3)
        ):
            edges.append((9, src, sseq, 1, seq, kind, False))
    return rows, draw(st.permutations(edges))


@settings(max_examples=150, deadline=None)
@given(batches(), st.booleans())
def test_a_segment_gives_back_the_rows_it_was_packed_from(
    batch: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]], full: bool
) -> None:
    rows, edges = batch
    cols = unpack(pack(rows, edges), NAMES, full)

    assert cols.seq == [r[2] for r in rows]
    assert cols.kind == [r[3] for r in rows]
    assert cols.ts_ns == [r[4] for r in rows]
    assert cols.hlc_l == [r[6] for r in rows] and cols.hlc_c == [r[7] for r in rows]
    assert cols.host == [r[8] for r in rows] and cols.lane == [r[9] for r in rows]
    for seq, parents in zip(cols.seq, cols.parents, strict=True):
        # Causes in seq order of the edge index, those in unknown captures left out.
        expected = sorted((e[1], e[2], e[5]) for e in edges if e[4] == seq and e[1] in NAMES)
        assert parents == tuple((NAMES[c], s, k) for c, s, k in expected)
    if full:
        assert cols.recv_ts_ns == [r[5] for r in rows]
        assert cols.keys == [
            {f: v for f, v in zip(KEY_FIELDS, r[10:17], strict=True) if v} for r in rows
        ]
        assert cols.payloads == [orjson.loads(r[17]) for r in rows]
    else:
        assert cols.keys == [] and cols.payloads == []


def row(seq: int) -> tuple[Any, ...]:
    return (9, 1, seq, "MDTick", seq, None, seq, 0, "h", "md", *[""] * 7, "{}", None, "d")


def test_it_refuses_rows_out_of_seq_order_and_edges_to_other_events() -> None:
    with pytest.raises(SegmentError, match="increasing seq"):
        pack([row(2), row(1)], [])
    with pytest.raises(SegmentError, match="effect is not in the segment"):
        pack([row(1)], [(9, 1, 0, 1, 5, "causal", False)])


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[:-3],  # truncated
        lambda b: b"XXSEG1\n" + b[len(MAGIC) :],  # not a segment
        lambda b: b[: len(MAGIC)] + b"\xff\xff\x00\x00" + b[len(MAGIC) + 4 :],  # header length
        lambda b: b[:-10] + b"0123456789",  # compressed payload damaged
    ],
)
def test_a_damaged_segment_raises_a_segment_error(damage: Any) -> None:
    blob = pack([row(1), row(2)], [(9, 1, 1, 1, 2, "causal", False)])
    with pytest.raises(SegmentError):
        unpack(damage(blob), NAMES)


def test_it_reads_a_segment_written_on_a_machine_of_the_other_byte_order() -> None:
    rows = [row(1), row(300)]
    blob = pack(rows, [(9, 2, 7, 1, 300, "send_receive", False)])
    # Rewrite the segment as a big-endian machine would have written it.
    start = len(MAGIC) + 4
    end = start + int.from_bytes(blob[len(MAGIC) : start], "little")
    header = orjson.loads(blob[start:end])
    other = "big" if header["byteorder"] == "little" else "little"
    pos, parts = end, []
    for name, length in header["sections"]:
        part = blob[pos : pos + length]
        if name in (
            "seq",
            "ts",
            "recv",
            "hl",
            "hc",
            "psrc",
            "pseq",
            "kind",
            "host",
            "lane",
            "pn",
            "pkind",
        ):
            a = array.array(
                "q" if name in ("seq", "ts", "recv", "hl", "hc", "psrc", "pseq") else "I"
            )
            a.frombytes(part)
            a.byteswap()
            part = a.tobytes()
        parts.append(part)
        pos += length
    new_header = orjson.dumps({**header, "byteorder": other})
    foreign = MAGIC + len(new_header).to_bytes(4, "little") + new_header + b"".join(parts)

    assert unpack(foreign, NAMES) == unpack(blob, NAMES)
    assert unpack(foreign, NAMES).seq == [1, 300]


@pytest.mark.parametrize(
    ("meta", "events", "edges", "covers"),
    [
        ([(1, 7, 7, 3), (8, 9, 2, 0)], 9, 3, True),
        ([(1, 7, 7, 3), (8, 9, 2, 0)], 10, 3, False),  # a row no segment holds
        ([(1, 7, 7, 3), (8, 9, 2, 0)], 9, 4, False),  # a cause added later
        ([(1, 7, 7, 3), (7, 9, 2, 0)], 9, 3, False),  # overlapping ranges
        ([], 0, 0, False),
    ],
)
def test_segments_count_only_when_they_account_for_every_row_and_edge(
    meta: list[tuple[int, int, int, int]], events: int, edges: int, covers: bool
) -> None:
    assert segments_cover(meta, events, edges) is covers
