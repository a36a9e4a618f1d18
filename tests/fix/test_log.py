"""read_fix_log over the corpus: header, counts, directions, and the ingest path."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from adapters.fix.log import capture_key, read_fix_log
from tests.gcwatch import collections_during


def _damaged(
    corpus_files: list[Path], tmp_path: Path, before: bytes = b"", after: bytes = b"garbage line\n"
) -> Path:
    """The QuickFIX 4.2 corpus log (21 valid messages) with garbage before or after it."""
    path = next(p for p in corpus_files if p.name == "quickfix-fix42.log")
    bad = tmp_path / "bad.log"
    bad.write_bytes(before + path.read_bytes() + after)
    return bad


def test_each_corpus_log_reads_completely(corpus_files) -> None:
    assert {p.name for p in corpus_files} == {
        "quickfix-fix42.log",
        "pipe-fix44.log",
        "caret-fixt11.log",
    }
    versions = set()
    for path in corpus_files:
        log = read_fix_log(path.read_bytes(), str(path))
        assert log.quarantined == [] and log.messages == 18
        assert log.header["adapter"] == "fix-log"
        assert log.header["capture"] == path.stem
        versions |= set(log.header["meta"]["begin_strings"])
        kinds = [e["kind"] for e in log.events]
        assert kinds.count("Order") == 3 and kinds.count("Fill") == 1 and kinds.count("MDTick") == 4
        assert [e["seq"] for e in log.events] == list(range(1, len(log.events) + 1))
    assert versions == {"FIX.4.2", "FIX.4.4", "FIXT.1.1"}


def test_direction_markers_name_the_recording_host_and_receive_time(corpus_files) -> None:
    path = next(p for p in corpus_files if p.name == "pipe-fix44.log")
    log = read_fix_log(path.read_bytes(), str(path))
    assert log.header["host"] == "FIRM"
    incoming = [e for e in log.events if e["payload"].get("direction") == "in"]
    assert incoming and all(e["recv_ts_ns"] is not None for e in incoming)
    assert all(e["host"] == "VENUE" for e in incoming)


def test_capture_key_comes_from_the_file_name() -> None:
    assert capture_key("/var/log/fix/drop-copy.2025-01-01.log") == "drop-copy"
    assert capture_key("-") == "stdin"


@pytest.mark.django_db
def test_ingest_format_fix_loads_events_and_quarantine(corpus_files, tmp_path) -> None:
    from deltatrace.ingest import ingest_paths

    bad = _damaged(corpus_files, tmp_path)
    summary = ingest_paths([str(bad)], incident="fix-test", fmt="fix")
    assert summary["accepted"] == 21 and summary["quarantined"] == 1


@pytest.mark.django_db
def test_a_nul_byte_in_a_fix_log_is_quarantined_and_the_rest_ingested(
    corpus_files, tmp_path
) -> None:
    from deltatrace.ingest import ingest_paths
    from deltatrace.models import Event, QuarantinedLine

    bad = _damaged(corpus_files, tmp_path, before=b"noise\x00from the line\n", after=b"")
    summary = ingest_paths([str(bad)], incident="fix-nul", fmt="fix")
    assert (summary["accepted"], summary["quarantined"]) == (21, 1)
    assert Event.objects.count() == 21
    assert QuarantinedLine.objects.get().raw.startswith("noise\\x00from the line")


@pytest.mark.django_db
def test_the_ingest_summary_of_a_fix_log_speaks_of_events_and_byte_offsets(
    corpus_files, tmp_path
) -> None:
    from io import StringIO

    from django.core.management import call_command

    bad = _damaged(corpus_files, tmp_path)
    out = StringIO()
    call_command("ingest", str(bad), "--format", "fix", "--incident", "fix-words", stdout=out)
    text = out.getvalue()
    assert "21 accepted, 0 duplicates, 1 quarantined" in text
    assert " events/s)" in text and "lines" not in text  # a FIX log has no lines to count
    assert "quarantined input is kept with its byte offset, raw bytes and reason" in text


def test_a_read_hands_its_events_on_without_a_collection_walking_them() -> None:
    from adapters.fix.bench import as_log, corpus

    data = as_log(corpus(12000))
    with collections_during() as collections:
        log = read_fix_log(data, "drop-copy.log")
        more = [[i] for i in range(5000)]  # what a caller allocates next starts young collections
    assert collections and max(collections) < len(log.events)
    assert gc.isenabled() and len(more) == 5000


@pytest.mark.django_db
def test_ingest_format_fix_never_traverses_its_events_and_leaves_the_collector_on(
    tmp_path,
) -> None:
    from adapters.fix.bench import as_log, corpus
    from deltatrace.ingest import ingest_paths

    # Large enough that the first allocation after the read would start a collection over
    # every event (thousands of tracked dicts and lists) if the collector were back on by then.
    path = tmp_path / "drop-copy.log"
    path.write_bytes(as_log(corpus(12000)))
    assert gc.isenabled()
    with collections_during() as collections:
        summary = ingest_paths([str(path)], incident="fix-gc", fmt="fix")
    assert summary["accepted"] > 12000 and summary["quarantined"] == 0
    # Collections still run (Django's own work), but none over the log's events: each would start
    # with every event's tracked dict and list pending, twice as many objects as events.
    assert max(collections, default=0) < summary["accepted"]
    assert gc.isenabled()


@pytest.mark.django_db
def test_a_failed_fix_ingest_leaves_the_collector_on(corpus_files, tmp_path) -> None:
    from deltatrace.ingest import IngestError, ingest_paths

    bad = _damaged(corpus_files, tmp_path)
    with pytest.raises(IngestError):
        ingest_paths([str(bad)], incident="fix-strict", fmt="fix", strict=True)
    assert gc.isenabled()
