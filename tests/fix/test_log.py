"""read_fix_log over the corpus: header, counts, directions, and the ingest path."""

from __future__ import annotations

import pytest

from adapters.fix.log import capture_key, read_fix_log


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

    path = next(p for p in corpus_files if p.name == "quickfix-fix42.log")
    bad = tmp_path / "bad.log"
    bad.write_bytes(path.read_bytes() + b"garbage line\n")
    summary = ingest_paths([str(bad)], incident="fix-test", fmt="fix")
    assert summary["accepted"] == 21 and summary["quarantined"] == 1
