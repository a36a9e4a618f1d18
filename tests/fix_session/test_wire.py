"""Live-stream framing: any split of the byte stream gives the same messages; damage is isolated."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.fix.wire import (
    Frame,
    Garbled,
    StreamFramer,
    encode_message,
    format_utc_timestamp,
    parse_utc_timestamp,
)


def msg(seq: int, text: str = "hello") -> bytes:
    header = [(49, "A"), (56, "B"), (34, seq), (52, "20260101-00:00:00.000")]
    return encode_message("FIX.4.4", "D", header, [(11, f"C{seq}"), (58, text)])


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(st.text("abc =|xyz0123", min_size=1, max_size=12), min_size=1, max_size=5),
    cuts=st.lists(st.integers(0, 400), max_size=8),
)
def test_any_split_of_the_stream_gives_the_same_frames(texts: list[str], cuts: list[int]) -> None:
    stream = b"".join(msg(i + 1, t) for i, t in enumerate(texts))
    framer = StreamFramer()
    out: list[Frame | Garbled] = []
    bounds = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    for a, b in itertools.pairwise(bounds):
        out += framer.feed(stream[a:b])
    assert [type(x) for x in out] == [Frame] * len(texts)
    assert [x.get(58) for x in out if isinstance(x, Frame)] == [t.encode() for t in texts]


def test_damaged_messages_are_garbled_and_their_neighbours_survive() -> None:
    good1, bad, good2 = msg(1), msg(2), msg(3)
    bad_checksum = bad[:-4] + b"000\x01" if not bad.endswith(b"=000\x01") else bad[:-4] + b"001\x01"
    truncated = bad[: bad.index(b"\x0110=") + 1]  # lost its CheckSum field
    for damaged in (bad_checksum, truncated, b"garbage\x01", b"8=FIX.4.4\x01x=1\x01"):
        out = StreamFramer().feed(good1 + damaged + good2)
        frames = [x for x in out if isinstance(x, Frame)]
        assert [f.get(34) for f in frames] == [b"1", b"3"], damaged
        assert any(isinstance(x, Garbled) for x in out)


def test_utc_timestamps_keep_every_precision_exactly() -> None:
    assert parse_utc_timestamp(b"20260101-00:00:01") == 1767225601 * 10**9
    assert parse_utc_timestamp(b"20260101-00:00:01.5") == 1767225601 * 10**9 + 500_000_000
    assert parse_utc_timestamp(b"20260101-00:00:01.123456789") == 1767225601_123456789
    assert parse_utc_timestamp(b"20261301-00:00:01") is None
    assert format_utc_timestamp(1767225601_123456789) == b"20260101-00:00:01.123"
