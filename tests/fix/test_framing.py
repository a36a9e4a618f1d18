"""Framing of whole FIX logs: delimiters, log prefixes, malformed input, conformance with simplefix."""

from __future__ import annotations

import simplefix
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simplefix.data import RAW_DATA_TAGS, RAW_LEN_TAGS

from adapters.fix.bench import corpus
from adapters.fix.fields import checksum, split_fields
from adapters.fix.framing import frame_log
from adapters.fix.log import read_fix_log
from tests.fix.conftest import msg

HB = msg("0", [], seq="1")
ORDER = msg(
    "D", [(11, "C1"), (55, "ACME"), (54, "1"), (38, "100"), (40, "2"), (44, "10.5")], seq="2"
)


def test_it_frames_soh_messages_back_to_back_without_newlines() -> None:
    framer = frame_log(HB + ORDER + HB)
    assert [f.offset for f in framer.frames] == [0, len(HB), len(HB) + len(ORDER)]
    assert framer.quarantined == []


def test_it_detects_pipe_and_caret_a_delimiters_per_message() -> None:
    pipe = ORDER.replace(b"\x01", b"|")
    caret = ORDER.replace(b"\x01", b"^A")
    framer = frame_log(pipe + b"\n" + caret + b"\n" + HB)
    assert [f.msg for f in framer.frames] == [ORDER, ORDER, HB]
    assert framer.quarantined == []


def test_it_accepts_a_pipe_log_that_drops_the_last_delimiter() -> None:
    framer = frame_log(ORDER.replace(b"\x01", b"|")[:-1] + b"\n")
    assert [f.msg for f in framer.frames] == [ORDER]


def test_it_strips_engine_log_prefixes_and_reads_direction_and_time() -> None:
    data = (
        b"20250101-12:00:00.123 : " + HB + b"\n"
        b"2025-01-01 12:00:00.5 < " + ORDER.replace(b"\x01", b"|") + b"\n"
        b"[OUT] " + HB + b"\n"
        b"IN: " + HB + b"\n"
        b"2025-01-01T12:00:01.000000Z -> " + HB + b"\n"
    )
    framer = frame_log(data)
    assert framer.quarantined == []
    assert [f.direction for f in framer.frames] == [None, "in", "out", "in", "out"]
    assert framer.frames[0].log_ts == b"20250101-12:00:00.123"


def test_it_quarantines_bad_checksum_and_keeps_parsing() -> None:
    bad = ORDER[:-4] + b"999\x01"
    framer = frame_log(bad + b"\n" + HB)
    assert len(framer.quarantined) == 1
    q = framer.quarantined[0]
    assert q["offset"] == 0 and q["reason"].startswith("bad checksum: CheckSum(10)=999")
    assert q["raw"] == bad.decode()
    assert [f.msg for f in framer.frames] == [HB]


def test_it_quarantines_wrong_body_length_and_keeps_parsing() -> None:
    declared = ORDER.split(b"\x01")[1]
    wrong = ORDER.replace(declared, b"9=%d" % (int(declared[2:]) + 5), 1)
    framer = frame_log(wrong + b"\n" + HB)
    (q,) = framer.quarantined
    assert q["reason"].startswith("wrong body length: BodyLength(9)=")
    assert [f.msg for f in framer.frames] == [HB]


def test_it_quarantines_non_numeric_tags_with_the_tag() -> None:
    bad = msg("0", [(112, "x")]).replace(b"112=x", b"1a2=x")
    bad = bad[:-4] + b"%03d\x01" % checksum(bad[:-7])  # a valid checksum: the tag is the fault
    framer = frame_log(bad + HB)
    (q,) = framer.quarantined
    assert q["reason"] == "non-numeric tag b'1a2' in field 8"
    assert [f.msg for f in framer.frames] == [HB]


def test_it_quarantines_a_truncated_message_and_keeps_parsing() -> None:
    framer = frame_log(ORDER[:40] + b"\n" + HB + ORDER[:30])
    assert [q["reason"] for q in framer.quarantined] == [
        "truncated message: no CheckSum(10) before end of line",
        "truncated message: no CheckSum(10) before end of input",
    ]
    assert framer.quarantined[1]["offset"] == 41 + len(HB)
    assert [f.msg for f in framer.frames] == [HB]


def test_it_quarantines_garbage_between_messages_with_its_offset() -> None:
    data = HB + b"\nhello world\n" + HB + b"junk" + HB + b" trailing\n"
    framer = frame_log(data)
    reasons = [(q["offset"], q["raw"], q["reason"].split(":")[0]) for q in framer.quarantined]
    assert reasons == [
        (len(HB) + 1, "hello world", "garbage between messages"),
        (2 * len(HB) + 13, "junk", "garbage before a message"),
        (3 * len(HB) + 18, "trailing", "garbage after a message"),
    ]
    assert len(framer.frames) == 3


def test_it_quarantines_missing_required_header_fields_by_name() -> None:
    from adapters.fix.bench import encode_message

    no_sender = encode_message(
        "FIX.4.4", [(35, "0"), (56, "V"), (34, "1"), (52, "20250101-00:00:00")]
    )
    framer = frame_log(no_sender + HB)
    (q,) = framer.quarantined
    assert q["reason"] == "missing required header field(s): 49 (SenderCompID)"
    assert [f.msg for f in framer.frames] == [HB]


def test_it_quarantines_empty_values_and_malformed_headers() -> None:
    empty = msg("0", [(112, "")])
    framer = frame_log(empty + b"8=FIX.4.4\x019=abc\x0135=0\x01\n" + HB)
    assert [q["reason"] for q in framer.quarantined] == [
        "empty value for tag 112",
        "BodyLength(9) missing, not the second field or not a number",
    ]
    assert [f.msg for f in framer.frames] == [HB]


def test_it_keeps_raw_data_fields_that_hold_soh() -> None:
    raw = msg("D", [(11, "C1"), (95, "7"), (96, "a\x01b=c\x01d")])
    framer = frame_log(raw)
    assert framer.quarantined == []
    assert (96, b"a\x01b=c\x01d") in framer.frames[0].fields


def _simplefix_pairs(message: bytes) -> list[tuple[int, bytes]]:
    parser = simplefix.FixParser()
    parser.append_buffer(message)
    parsed = parser.get_message()
    assert parsed is not None
    return [(int(t), v) for t, v in parsed.pairs]


def test_every_corpus_message_splits_exactly_as_simplefix(corpus_files) -> None:
    messages = corpus(600)
    for path in corpus_files:
        messages += [f.msg for f in frame_log(path.read_bytes()).frames]
    framer = frame_log(b"".join(messages))
    assert framer.quarantined == []
    assert len(framer.frames) == len(messages)
    for frame, message in zip(framer.frames, messages, strict=True):
        assert frame.msg == message
        assert frame.fields == _simplefix_pairs(message) == split_fields(message)


_RESERVED = {8, 9, 10, 35, 49, 56, 34, 52, *RAW_LEN_TAGS, *RAW_DATA_TAGS}
_value = st.text(
    st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="="),
    min_size=1,
    max_size=12,
)
_fields = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=9999).filter(lambda t: t not in _RESERVED),
        _value,
    ),
    max_size=15,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_fields, st.sampled_from(["FIX.4.2", "FIX.4.4", "FIXT.1.1"]))
def test_random_valid_messages_round_trip(fields, begin) -> None:
    message = msg("8", fields, begin=begin)
    (frame,) = frame_log(message).frames
    assert frame.fields == _simplefix_pairs(message)
    assert frame.fields[7:-1] == [(t, v.encode()) for t, v in fields]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_random_corruption_never_raises_and_loses_nothing(data) -> None:
    clean = HB + b"\n" + ORDER + b"\n" + HB
    buf = bytearray(clean)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(buf) - 1))
        buf[at] = data.draw(st.integers(0, 255))
    log = read_fix_log(bytes(buf), "fuzz.log")
    # Every message is either parsed or quarantined with a reason; nothing raises.
    assert log.messages + len(log.quarantined) >= 1
    assert all(q["reason"] for q in log.quarantined)
    if bytes(buf) == clean:
        assert log.messages == 3
