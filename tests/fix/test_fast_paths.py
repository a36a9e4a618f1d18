"""The bulk fast paths (the splitter, shape plans, cached timestamps) change nothing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.fix import lines, timestamps
from adapters.fix.bench import as_log, corpus, encode_message
from adapters.fix.framing import frame_log
from adapters.fix.log import read_fix_log
from adapters.fix.mapping import FixNormalizer
from tests.fix.conftest import msg


def test_stray_separators_after_the_last_message_change_no_event() -> None:
    messages = corpus(400, seed=11)
    fast = read_fix_log(as_log(messages), "a.log")
    # A stray "=<SOH>" after the last message is quarantined; each message is checked on its own
    # (split_values), so the garbage changes nothing about the messages before it.
    dirty = read_fix_log(as_log(messages) + b"x=\x01\n", "a.log")
    assert fast.quarantined == [] and len(dirty.quarantined) == 1
    assert dirty.events == fast.events and dirty.messages == fast.messages == 400


def test_pipe_delimited_log_maps_like_the_soh_log() -> None:
    messages = corpus(200, seed=5)
    soh = read_fix_log(b"\n".join(messages) + b"\n", "x.log")
    pipe = read_fix_log(b"\n".join(m.replace(b"\x01", b"|") for m in messages) + b"\n", "x.log")
    assert pipe.events == soh.events and len(soh.events) > 200


def test_bulk_and_pairwise_normalisation_agree() -> None:
    log = as_log(corpus(300, seed=2))
    bulk = read_fix_log(log, "b.log")
    norm = FixNormalizer("b", bulk.header["host"])
    pairwise = []
    for frame in frame_log(log).frames:
        recv = timestamps.utc_ts_ns(frame.log_ts) if frame.log_ts else None
        pairwise += norm.normalize(frame.fields, frame.msg, recv)
    assert pairwise == bulk.events


def test_timestamps_parse_the_same_with_a_cold_or_warm_cache() -> None:
    sent = ["20250101-12:00:00", "20250101-12:00:00.5", "20250101-12:00:00.123456789"]
    messages = [msg("0", [(60, s)], seq=str(i + 1), sent=s) for i, s in enumerate(sent)]
    timestamps.TS_CACHE.clear()
    cold = read_fix_log(b"".join(messages), "t.log").events
    warm = read_fix_log(b"".join(messages), "t.log").events
    assert cold == warm
    assert [e["ts_ns"] for e in warm] == [
        1735732800 * 10**9,
        1735732800 * 10**9 + 500_000_000,
        1735732800 * 10**9 + 123_456_789,
    ]


def test_a_non_utf8_value_is_escaped_not_fatal() -> None:
    head = [(35, "D"), (49, "FIRM"), (56, "VENUE"), (34, "1"), (52, "20250101-12:00:00")]
    bad = encode_message("FIX.4.4", [*head, (11, "C1"), (58, b"caf\xe9")])
    log = read_fix_log(bad, "u.log")
    assert log.quarantined == [] and log.messages == 1
    assert log.events[0]["payload"]["msg_type"] == "D"
    assert "caf\\xe9" in log.events[0]["raw"]
    assert log.events[0]["keys"] == {"cl_ord_id": "C1"}


_HEAD_PARTS = st.tuples(
    st.sampled_from([b"\n", b"", b"\r\n", b"x\n"]),
    st.sampled_from(
        [b"20260101-12:00:00", b"20260101-12:00", b"2026010-12:00:00", b"20260101 12:00:00"]
    ),
    st.sampled_from([b"", b".", b".1", b".123", b".123456789", b".1234567890", b".12a"]),
    st.sampled_from([b" : ", b": ", b" :  "]),
    st.sampled_from(
        [b"8=FIX.4.2", b"8=FIX.4.4", b"8=FIXT.1.1", b"8=FIX.4", b"8=FIXX.4.4", b"8=FIX.a.4"]
    ),
    st.sampled_from([b"\x01", b"|", b"^A"]),
    st.sampled_from([b"9=", b"9", b"19="]),
    st.sampled_from([b"0", b"7", b"00123", b"12345678", b"123456789", b""]),
    st.sampled_from([b"\x01", b"|", b"^A", b"5"]),
    st.binary(max_size=40),
)


@given(_HEAD_PARTS)
def test_the_byte_wise_line_head_reads_what_the_regular_expression_matches(parts) -> None:
    # The framer reads the usual line head byte by byte and leaves anything else to
    # QUICKFIX_HEAD: it must accept exactly the SOH-delimited heads the expression matches,
    # with the same positions.
    data = b"".join(parts)
    m = lines.QUICKFIX_HEAD.match(data, 0)
    got = lines.soh_head(data, 0)
    if m is None or m.group(3) != b"\x01":
        assert got == (-1, 0, 0, 0)
    else:
        assert got == (m.start(2) - 2, len(m.group(2)), len(m.group(4)), int(m.group(4)))
