"""The message splitter (C where built, its Python reference elsewhere) and what it refuses."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.fix import framing
from adapters.fix.bench import as_log, corpus
from adapters.fix.fields import split_values
from adapters.fix.log import read_fix_log
from adapters.fix.mapping import FixNormalizer
from adapters.fix.timestamps import utc_ts_ns
from tests.fix.conftest import msg

# Text that is mostly FIX-like: separators, digits and letters, with now and then a Latin-1 or a
# wider character, which the splitter must refuse (or not) exactly as its reference does.
_CHARS = st.sampled_from(["=", "\x01", "8", "35", "1", "A", "x", " ", "é", "\xff", "€", "\x00"])
_TEXT = st.lists(_CHARS, max_size=40).map("".join)
_FIELD = st.tuples(
    st.text("0123456789", min_size=1, max_size=4),
    st.text(st.characters(max_codepoint=255, exclude_characters="=\x01"), min_size=1, max_size=8),
)


def _c_split() -> object:
    mod = pytest.importorskip("adapters.fix._splitc", reason="the C splitter is not built here")
    return mod.split_values


@settings(max_examples=600, deadline=None)
@given(_TEXT)
def test_the_c_splitter_agrees_with_its_python_reference(text: str) -> None:
    c_split = _c_split()
    assert c_split(text) == split_values(text)  # type: ignore[operator]


@settings(max_examples=300, deadline=None)
@given(st.lists(_FIELD, min_size=1, max_size=12))
def test_whole_fields_split_into_values_and_shape(fields: list[tuple[str, str]]) -> None:
    text = "".join(f"{t}={v}\x01" for t, v in fields)
    expected = ([v for _, v in fields], "\x01".join(t for t, _ in fields))
    assert split_values(text) == expected
    assert framing.split_values(text) == expected  # the one the framer runs


@pytest.mark.parametrize(
    "text",
    [
        "",
        "35=D",  # no SOH after the last value
        "35=D\x01\x01",  # an empty field
        "=D\x01",  # an empty tag
        "35=\x01",  # an empty value
        "58=a=b\x01",  # a value holding '='
        "35\x01",  # a field without '='
        "58=\u20ac\x01",  # wider than one byte per character
    ],
)
def test_it_refuses_what_is_not_whole_plain_fields(text: str) -> None:
    assert split_values(text) is None
    assert framing.split_values(text) is None


def test_a_message_the_splitter_refuses_is_framed_the_careful_way_unchanged() -> None:
    # Text(58) holding '=' and a value beyond Latin-1: both go field by field, and their events
    # are what normalising simplefix-style pairs gives.
    head = [(37, "O1"), (11, "C1"), (17, "E1"), (150, "0"), (39, "0"), (55, "ACME"), (54, "1")]
    messages = [
        msg("8", [*head, (58, "a=b")]),
        msg("8", [*head, (58, "caf\u00e9 \u20ac")], seq="2"),
        *corpus(50, seed=3),
    ]
    log = read_fix_log(as_log(messages), "s.log")
    assert log.quarantined == [] and log.messages == 52
    norm = FixNormalizer("s", log.header["host"])
    pairwise = []
    for frame in framing.frame_log(as_log(messages)).frames:
        recv = utc_ts_ns(frame.log_ts) if frame.log_ts else None
        pairwise += norm.normalize(frame.fields, frame.msg, recv)
    assert pairwise == log.events
    assert [e["payload"].get("text") for e in log.events[:2]] == ["a=b", "caf\u00e9 \u20ac"]
