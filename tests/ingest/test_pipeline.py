"""Big files are parsed in a second process: the outcome is exactly that of the one-process path."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from deltatrace.ingest import pipeline, writer
from deltatrace.models import Capture, Edge, Event, EventSegment, Incident, QuarantinedLine
from deltatrace.segments import unpack
from tests.ingest.conftest import T0, header, tick

pytestmark = pytest.mark.django_db


def order(seq: int, cl: str, **extra: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "kind": "Order",
        "ts_ns": T0 + seq * 1000,
        "keys": {"symbol": "ACME", "cl_ord_id": cl},
        "payload": {"side": "BUY", "qty": 100, "price": "100.01"},
        **extra,
    }


def report(seq: int, cl: str, exec_id: str) -> dict[str, Any]:
    return {
        "seq": seq,
        "kind": "ExecReport",
        "ts_ns": T0 + seq * 1000,
        "keys": {"cl_ord_id": cl, "order_id": "O1", "exec_id": exec_id},
        "payload": {"exec_type": "TRADE"},
    }


def fill(seq: int, exec_id: str) -> dict[str, Any]:
    return {
        "seq": seq,
        "kind": "Fill",
        "ts_ns": T0 + seq * 1000,
        "keys": {"exec_id": exec_id},
        "payload": {"last_qty": 100, "last_px": "100.01"},
    }


def messy_capture(path: Path) -> Path:
    """Every kind of line the writer treats differently, spread over several small batches."""
    lines: list[bytes] = [b"", json.dumps(header("gw-1")).encode(), b"   "]
    for i in range(1, 40):
        lines.append(json.dumps(tick(i)).encode())
    lines += [
        b"{broken",
        json.dumps({"seq": 41, "kind": "Nope", "ts_ns": T0}).encode(),
        json.dumps(order(42, "C1")).encode(),
        json.dumps(order(43, "C2", keys={"cl_ord_id": "C2", "orig_cl_ord_id": "C1"})).encode(),
        json.dumps(report(44, "C2", "E1")).encode(),
        json.dumps(fill(45, "E1")).encode(),
        # A parent on another host's capture, which does not exist yet.
        json.dumps(
            tick(46, parents=[{"capture": "md-1", "seq": 7, "kind": "send_receive"}])
        ).encode(),
        json.dumps(tick(10)).encode(),  # a true duplicate
        json.dumps(tick(11, payload={"bid": "1"})).encode(),  # same seq, other content
        json.dumps(tick(47, ts_ns="soon")).encode(),
    ]
    lines += [json.dumps(tick(i)).encode() for i in range(48, 70)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def ingest(path: Path, incident: str, *extra: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("ingest", str(path), "--incident", incident, "--json", *extra, stdout=out)
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def contents(incident: str) -> dict[str, Any]:
    inc = Incident.objects.get(name=incident)
    keys = dict(Capture.objects.filter(incident=inc).values_list("pk", "key"))
    event_fields = [f.attname for f in Event._meta.concrete_fields if f.attname != "id"]
    events = [
        {**e, "capture_id": keys[e["capture_id"]], "incident_id": None}
        for e in Event.objects.filter(incident=inc)
        .order_by("capture_id", "seq")
        .values(*event_fields)
    ]
    edges = sorted(
        (keys[s], ss, keys[d], ds, k, inf)
        for s, ss, d, ds, k, inf in Edge.objects.filter(incident=inc).values_list(
            "src_capture_id", "src_seq", "dst_capture_id", "dst_seq", "kind", "inferred"
        )
    )
    quarantine = list(
        QuarantinedLine.objects.filter(incident=inc)
        .order_by("line_no")
        .values_list("line_no", "raw", "reason")
    )
    captures = sorted(
        Capture.objects.filter(incident=inc).values_list(
            "key", "event_count", "quarantined_count", "seq_gaps", "digest"
        )
    )
    window = (inc.start_ns, inc.end_ns, inc.event_count, inc.quarantined_count)
    return {
        "events": events,
        "edges": edges,
        "quarantine": quarantine,
        "captures": captures,
        "window": window,
    }


def strip_ids(summary: dict[str, Any]) -> dict[str, Any]:
    summary = {k: v for k, v in summary.items() if k not in ("incident", "incident_id")}
    summary["captures"] = [{k: v for k, v in c.items() if k != "id"} for c in summary["captures"]]
    return summary


def test_the_second_process_stores_exactly_what_one_process_stores(tmp_path, settings, monkeypatch):
    monkeypatch.setattr(writer, "BATCH", 7)  # many batches, inherited by the forked parser
    path = messy_capture(tmp_path / "gw-1.jsonl")
    settings.INGEST_PIPELINE_MIN_BYTES = -1
    one = ingest(path, "one-process")
    settings.INGEST_PIPELINE_MIN_BYTES = 0
    two = ingest(path, "two-processes")

    assert strip_ids(two) == strip_ids(one)
    assert (one["accepted"], one["duplicates"], one["quarantined"]) == (66, 1, 4)
    assert contents("two-processes") == contents("one-process")
    reasons = one["captures"][0]["quarantine_reasons"]
    assert reasons == two["captures"][0]["quarantine_reasons"] and len(reasons) == 4
    assert [c[0] for c in contents("two-processes")["captures"]] == ["gw-1", "md-1"]


def test_running_it_again_adds_nothing(tmp_path, settings):
    settings.INGEST_PIPELINE_MIN_BYTES = 0
    path = messy_capture(tmp_path / "gw-1.jsonl")
    first = ingest(path, "inc")
    before = contents("inc")
    again = ingest(path, "inc")
    assert (again["accepted"], again["duplicates"]) == (0, first["accepted"] + 1)
    assert contents("inc") == before


def strict_errors(settings, path: Path, *args: str) -> list[str]:
    """What a strict ingest of ``path`` stops with, in one process and then in two."""
    messages = []
    for threshold, incident in ((-1, "one-process"), (0, "two-processes")):
        settings.INGEST_PIPELINE_MIN_BYTES = threshold
        with pytest.raises(CommandError) as err:
            ingest(path, incident, *args, "--strict")
        messages.append(str(err.value))
    return messages


def test_strict_stops_at_the_same_line_with_the_same_message(tmp_path, settings):
    messages = strict_errors(settings, messy_capture(tmp_path / "gw-1.jsonl"))
    assert messages[0] == messages[1]
    assert "line 43" in messages[1] and "invalid JSON" in messages[1]


def test_a_file_without_a_header_is_parsed_from_its_first_line(tmp_path, settings):
    settings.INGEST_PIPELINE_MIN_BYTES = 0
    path = tmp_path / "md-1.jsonl"
    path.write_bytes(b"\n".join(json.dumps(tick(i)).encode() for i in range(1, 6)) + b"\n")
    summary = ingest(path, "inc")
    assert summary["accepted"] == 5
    assert list(Event.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2, 3, 4, 5]
    assert Capture.objects.get().key == "md-1"


def fix_log(path: Path) -> Path:
    """A FIX log with order chains, reports, fills, rejects and bad input near anywhere."""
    from tests.fix.conftest import linked_log

    path.write_bytes(linked_log(300, seed=11))
    return path


def segments(incident: str) -> list[tuple[Any, ...]]:
    """The incident's event segments read back, causes named by capture key (ids differ)."""
    names = dict(Capture.objects.filter(incident__name=incident).values_list("pk", "key"))
    return [
        (first, last, events, edges, unpack(bytes(data), names))
        for first, last, events, edges, data in EventSegment.objects.filter(
            capture__incident__name=incident
        )
        .order_by("first_seq")
        .values_list("first_seq", "last_seq", "events", "edges", "data")
    ]


def test_a_fix_log_checked_in_a_second_process_stores_exactly_what_one_process_stores(
    tmp_path, settings, monkeypatch
):
    monkeypatch.setattr(writer, "BATCH", 7)  # many batches, inherited by the forked checker
    children = []
    monkeypatch.setattr(
        pipeline,
        "_run_in_child",
        lambda *args, run=pipeline._run_in_child, **kw: children.append(run(*args, **kw)),
    )
    path = fix_log(tmp_path / "dropcopy.log")
    settings.INGEST_PIPELINE_MIN_BYTES = -1
    one = ingest(path, "one-process", "--format", "fix")
    assert not children
    settings.INGEST_PIPELINE_MIN_BYTES = 0
    two = ingest(path, "two-processes", "--format", "fix")
    assert len(children) == 1  # the events were checked in the child

    assert strip_ids(two) == strip_ids(one)
    assert one["accepted"] > 250 and one["quarantined"] >= 3
    assert contents("two-processes") == contents("one-process")
    assert segments("two-processes") == segments("one-process") != []


def test_strict_fix_ingest_stops_at_the_same_offset_with_the_same_message(tmp_path, settings):
    messages = strict_errors(settings, fix_log(tmp_path / "dropcopy.log"), "--format", "fix")
    assert messages[0] == messages[1]
    assert "dropcopy.log: offset " in messages[1]


def test_a_fix_log_whose_events_would_not_fit_twice_is_checked_in_this_process(
    tmp_path, settings, monkeypatch
):
    from deltatrace.ingest import sources

    settings.INGEST_PIPELINE_MIN_BYTES = 0
    monkeypatch.setattr(sources, "room_for_a_copy", lambda: False)
    monkeypatch.setattr(pipeline, "_run_in_child", lambda *a, **k: pytest.fail("forked"))
    summary = ingest(fix_log(tmp_path / "dropcopy.log"), "inc", "--format", "fix")
    assert summary["accepted"] > 250


@pytest.mark.parametrize(
    ("rss_kb", "available_kb", "room"),
    [(400_000, 600_000, True), (400_000, 480_000, False), (400_000, 300_000, False)],
)
def test_room_for_a_copy_compares_this_process_with_the_memory_available(
    monkeypatch, rss_kb: int, available_kb: int, room: bool
):
    files = {
        "/proc/self/status": f"Name:\tpython\nRssAnon:\t{rss_kb} kB\n".encode(),
        "/proc/meminfo": f"MemTotal: 9 kB\nMemAvailable: {available_kb} kB\n".encode(),
    }
    monkeypatch.setattr(pipeline, "open", lambda path, mode: io.BytesIO(files[path]), raising=False)
    assert pipeline.room_for_a_copy() is room


def test_without_proc_no_child_is_risked(monkeypatch):
    def no_proc(path: str, mode: str) -> io.BytesIO:
        raise FileNotFoundError(path)

    monkeypatch.setattr(pipeline, "open", no_proc, raising=False)
    assert pipeline.room_for_a_copy() is False


def test_the_child_ships_batches_in_order_without_waiting_for_each_to_be_read():
    import multiprocessing

    recv, send = multiprocessing.Pipe(duplex=False)
    ship = pipeline._Shipper(send, depth=2)
    big = [bytes([i]) * (1 << 20) for i in range(3)]  # each more than a pipe holds
    for msg in big[:2]:
        ship.send(msg)  # returns although nobody has read anything yet
    ship.send(big[2])  # the third waits for room in the queue, not for the reader
    assert [recv.recv_bytes() for _ in big] == big
    ship.close()


def test_a_shipper_whose_reader_is_gone_raises_instead_of_waiting_forever():
    import multiprocessing

    recv, send = multiprocessing.Pipe(duplex=False)
    recv.close()
    ship = pipeline._Shipper(send, depth=1)
    with pytest.raises(OSError):
        for _ in range(100):
            ship.send(b"x" * 1000)
    ship.close()


def test_text_of_any_kind_crosses_to_the_writer_unchanged(tmp_path, settings):
    # (NUL aside: no database stores it in text; see test_ingest.py)
    path = tmp_path / "gw-1.jsonl"
    odd = 'café ☃ 𝄞 \u0007 \\ " \u2028 end'
    events = [
        tick(1, payload={"note": odd, "bid": "1"}, raw=f"8=FIX.4.4\x0158={odd}\x01"),
        tick(2, keys={"symbol": "ÄCME"}),
    ]
    path.write_text("\n".join(json.dumps(e) for e in events) + "\n", encoding="utf-8")
    settings.INGEST_PIPELINE_MIN_BYTES = -1
    ingest(path, "one-process", "--policy", "none")
    settings.INGEST_PIPELINE_MIN_BYTES = 0
    ingest(path, "two-processes", "--policy", "none")
    assert contents("two-processes") == contents("one-process")
    stored = Event.objects.filter(incident__name="two-processes").order_by("seq")
    assert json.loads(stored[0].payload)["note"] == odd and stored[0].raw.endswith(f"{odd}\x01")
    assert stored[1].symbol == "ÄCME"
