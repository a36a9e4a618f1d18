"""`deltatrace sanitize`: a capture file in, a sanitized capture file out."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from deltatrace.capture_format import normalize_event, parse_header
from deltatrace.privacy import Policy, is_token, load_key
from tests.privacy.fixmsg import assert_valid_fix, fix, tag

HEADER = {"format": "deltatrace.capture", "version": 1, "capture": "gw", "host": "gw-1"}


def _events() -> list[dict[str, Any]]:
    raw = fix((1, "ACC-9"), (11, "C1"), (55, "ACME"), (58, "ring Jo"), (38, "100"))
    return [
        {"seq": 1, "kind": "Order", "ts_ns": 10, "keys": {"cl_ord_id": "C1"},
         "payload": {"account": "ACC-9", "qty": 100, "text": "ring Jo"}, "raw": raw},
        {"seq": 2, "kind": "ExecReport", "ts_ns": 20, "keys": {"cl_ord_id": "C1"},
         "parents": [{"seq": 1, "kind": "order_report"}],
         "payload": {"exec_type": "NEW", "account": "ACC-9"}},
    ]  # fmt: skip


def _write(path: Path, *objs: Any, extra: str = "") -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objs) + extra)
    return path


def _run(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("sanitize", *args, "--json", stdout=out)
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


@pytest.fixture
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    return Path(settings.DATA_DIR)


def test_it_sanitizes_a_capture_file_into_a_valid_capture(tmp_path: Path, data_dir: Path) -> None:
    src = _write(tmp_path / "gw.jsonl", HEADER, *_events())
    dst = tmp_path / "gw.clean.jsonl"
    summary = _run(str(src), "--out", str(dst), "--policy", "default")
    assert summary["events"] == 2 and summary["header"] is True
    assert summary["policy"]["digest"] == Policy.load("default").digest()
    lines = [json.loads(line) for line in dst.read_text().splitlines()]
    header, order, report = lines
    assert parse_header(header, "x").meta["privacy"]["name"] == "default"
    token = order["payload"]["account"]
    assert is_token(token) and report["payload"]["account"] == token == tag(order["raw"], 1)[0]
    assert "text" not in order["payload"] and tag(order["raw"], 58) == []
    assert_valid_fix(order["raw"])
    assert "ACC-9" not in dst.read_text() and "ring Jo" not in dst.read_text()
    assert report["parents"] == [{"seq": 1, "kind": "order_report"}]
    for line in (order, report):  # still what ingest accepts
        normalize_event(line, "gw-1")


def test_the_generated_key_is_private_and_reused(tmp_path: Path, data_dir: Path) -> None:
    src = _write(tmp_path / "in.jsonl", *_events())
    first = _run(str(src), "--out", str(tmp_path / "a.jsonl"))
    key_file = data_dir / "privacy.key"
    assert first["key_file"] == str(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    _run(str(src), "--out", str(tmp_path / "b.jsonl"))
    assert (tmp_path / "a.jsonl").read_text() == (tmp_path / "b.jsonl").read_text()


def test_a_key_file_gives_the_same_tokens_as_the_library(tmp_path: Path, data_dir: Path) -> None:
    key_file = tmp_path / "k.hex"
    key_file.write_text("ab" * 32)
    src = _write(tmp_path / "in.jsonl", *_events())
    dst = tmp_path / "out.jsonl"
    _run(str(src), "--out", str(dst), "--key-file", str(key_file))
    expected = Policy.load("default").apply_event(_events()[0], load_key(key_file))
    # Without a header in the input, the output starts with one recording the policy.
    header, order, _ = (json.loads(line) for line in dst.read_text().splitlines())
    assert header["meta"]["privacy"]["name"] == "default"
    assert order == expected
    assert not (data_dir / "privacy.key").exists()


def test_bad_lines_fail_the_run_and_write_nothing(tmp_path: Path, data_dir: Path) -> None:
    src = _write(tmp_path / "in.jsonl", *_events(), extra='{"seq": 3, "kind"\n[1, 2]\n')
    dst = tmp_path / "out.jsonl"
    with pytest.raises(CommandError, match=r"2 line\(s\) are not JSON objects \(line 3, 4"):
        _run(str(src), "--out", str(dst))
    assert not dst.exists()
    summary = _run(str(src), "--out", str(dst), "--skip-bad")
    assert summary["skipped_lines"] == [3, 4] and summary["events"] == 2
    assert "ACC-9" not in dst.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policy", "nope"], "no policy 'nope'"),
        (["--key-file", "/nonexistent/key"], "does not exist"),
    ],
)
def test_bad_options_give_clear_errors(
    tmp_path: Path, data_dir: Path, args: list[str], message: str
) -> None:
    src = _write(tmp_path / "in.jsonl", *_events())
    with pytest.raises(CommandError, match=message):
        _run(str(src), "--out", str(tmp_path / "o.jsonl"), *args)


def test_a_missing_input_file_is_a_clear_error(tmp_path: Path, data_dir: Path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        _run(str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o.jsonl"))
