"""The ingest hot path: lines as read, the capture digest built while writing, digests on the fly."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from deltatrace.capture_format import KEY_FIELDS, BadLine, Parent, normalize_event, row_digest
from deltatrace.ingest import capture_digest
from deltatrace.models import Capture, Event, QuarantinedLine
from tests.ingest.conftest import T0, header, tick


def ingest(*paths: Path) -> dict:
    out = io.StringIO()
    call_command("ingest", *[str(p) for p in paths], "--incident", "inc-1", "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_blank_crlf_and_bad_lines_keep_their_numbers_and_text(tmp_path):
    path = tmp_path / "gw.jsonl"
    path.write_bytes(
        json.dumps(header()).encode()
        + b"\r\n\r\n"
        + json.dumps(tick(1)).encode()
        + b"\r\n   \t\n{broken\r\n"
        + json.dumps({"seq": 2, "kind": ["MDTick"], "ts_ns": T0}).encode()
        + b"\r\n"
        + json.dumps(tick(3)).encode()  # no line end at the end of the file
    )
    summary = ingest(path)
    assert (summary["accepted"], summary["quarantined"]) == (2, 2)
    bad = {q.line_no: (q.raw, q.reason) for q in QuarantinedLine.objects.all()}
    assert bad[5][0] == "{broken" and bad[5][1].startswith("invalid JSON")
    # A kind that is not a string is quarantined with its reason, not a crash.
    assert bad[6] == (
        json.dumps({"seq": 2, "kind": ["MDTick"], "ts_ns": T0}),
        "unknown kind ['MDTick']",
    )
    assert sorted(Event.objects.values_list("seq", flat=True)) == [1, 3]


@pytest.mark.django_db
def test_the_capture_digest_is_that_of_the_stored_rows_however_they_arrived(write_jsonl):
    first = ingest(write_jsonl("a.jsonl", [header(), *[tick(i) for i in range(1, 30)]]))
    cap = Capture.objects.get()
    assert first["captures"][0]["digest"] == capture_digest(cap.pk)
    # More events for the same capture, out of seq order and overlapping what is stored.
    more = [header(), tick(40), *[tick(i) for i in range(20, 35)], tick(31)]
    second = ingest(write_jsonl("b.jsonl", more))
    assert second["accepted"] == 6
    assert (
        second["captures"][0]["digest"] == capture_digest(cap.pk) != first["captures"][0]["digest"]
    )
    cap.refresh_from_db()
    assert cap.digest == capture_digest(cap.pk) and cap.event_count == 35


_text = st.text(max_size=8)
# Text stored in its own column: valid Unicode but NUL, which no database keeps in text
# (test_ingest.py); lone surrogates are refused too (below).
_no_nul = st.characters(codec="utf-8", blacklist_characters="\x00")
_column_text = st.text(_no_nul, max_size=8)
_event = st.fixed_dictionaries(
    {"seq": st.integers(10, 2**40), "kind": st.sampled_from(["MDTick", "Order", "Fill"])},
    optional={
        "ts_ns": st.integers(-(2**63), 2**63 - 1),
        "recv_ts_ns": st.integers(0, 2**62),
        "hlc": st.tuples(st.integers(0, 2**62), st.integers(0, 2**31 - 1)).map(list),
        "host": _column_text,
        "lane": _column_text,
        # Non-empty: a row stores an absent key as "" (an empty key value is a known gap).
        "keys": st.dictionaries(
            st.sampled_from(KEY_FIELDS), st.text(_no_nul, min_size=1), max_size=3
        ),
        "parents": st.lists(
            st.fixed_dictionaries(
                {"seq": st.integers(1, 9)},
                optional={
                    "kind": st.sampled_from(["causal", "order_chain"]),
                    "capture": st.sampled_from(["gw-1", "other"]),
                },
            ),
            max_size=3,
        ),
        "payload": st.dictionaries(
            _text,
            st.one_of(
                st.integers(-(2**63), 2**63 - 1),
                st.floats(allow_nan=False, allow_infinity=False),
                _text,
                st.none(),
            ),
            max_size=4,
        ),
        "raw": st.none() | _column_text,
    },
)


@settings(max_examples=300, deadline=None)
@given(_event)
def test_an_events_digest_can_be_recomputed_from_its_stored_row(event):
    event.setdefault("ts_ns", T0)
    ev = normalize_event(event, "gw-1", None, "gw-1")
    row = {
        "seq": ev.seq,
        "kind": ev.kind,
        "ts_ns": ev.ts_ns,
        "recv_ts_ns": ev.recv_ts_ns,
        "hlc_l": ev.hlc_l,
        "hlc_c": ev.hlc_c,
        "host": ev.host,
        "lane": ev.lane,
        "payload": ev.payload_json,
        "raw": ev.raw,
        **{k: ev.keys.get(k, "") for k in KEY_FIELDS},
    }
    parents = [Parent(p.capture, p.seq, p.kind) for p in reversed(ev.parents)]
    assert row_digest(row, parents) == ev.digest


@pytest.mark.parametrize("field", ["host", "lane", "raw", "keys"])
def test_a_lone_surrogate_outside_the_payload_is_a_bad_line_not_a_crash(field):
    # Python's json module (behind the API) decodes "\\ud800" to a lone surrogate; orjson cannot
    # write it, so the event is refused with the reason rather than failing the request.
    event = {"seq": 1, "kind": "MDTick", "ts_ns": T0}
    event[field] = {"symbol": "\ud800"} if field == "keys" else "\ud800"
    with pytest.raises(BadLine, match="cannot be canonicalised"):
        normalize_event(event, "gw-1", None, "gw-1")
