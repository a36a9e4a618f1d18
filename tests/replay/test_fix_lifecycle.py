"""A FIX-only incident, through the real FIX log reader and ingest, gets a lifecycle replay."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest
import simplefix
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def msg(seq: int, msg_type: str, **tags: str | int) -> bytes:
    m = simplefix.FixMessage()
    m.append_pair(8, "FIX.4.4", header=True)
    m.append_pair(35, msg_type, header=True)
    m.append_pair(49, "VENUE", header=True)
    m.append_pair(56, "CLIENT", header=True)
    m.append_pair(34, seq, header=True)
    m.append_pair(52, f"20260101-09:00:00.{seq:03d}", header=True)
    for tag, value in tags.items():
        m.append_pair(int(tag.lstrip("t")), value)
    return bytes(m.encode())


def report(seq: int, et: str, st: str, cum: int, leaves: int, last: int = 0) -> bytes:
    extra = {"t32": last, "t31": "10.00"} if last else {}
    return msg(
        seq,
        "8",
        t11="C1",
        t37="O1",
        t17=f"E{seq}",
        t55="ACME",
        t54="1",
        t38=100,
        t150=et,
        t39=st,
        t14=cum,
        t151=leaves,
        t6="10.00",
        **extra,
    )


def run(name: str) -> tuple[int, dict]:
    out = io.StringIO()
    try:
        call_command("replay", name, "--json", stdout=out)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, orjson.loads(out.getvalue())


def ingest(tmp_path: Path, name: str, messages: list[bytes]) -> None:
    from deltatrace.ingest import ingest_paths

    path = tmp_path / f"{name}.fix"
    path.write_bytes(b"".join(messages))
    summary = ingest_paths([str(path)], name, fmt="fix")
    assert summary["accepted"] >= len(messages)


def test_a_clean_fix_order_life_is_identical(tmp_path: Path) -> None:
    ingest(
        tmp_path,
        "fix-clean",
        [
            msg(1, "D", t11="C1", t55="ACME", t54="1", t38=100, t40="2", t44="10.00"),
            report(2, "0", "0", 0, 100),
            report(3, "F", "1", 40, 60, last=40),
            report(4, "F", "2", 100, 0, last=60),
        ],
    )
    code, r = run("fix-clean")
    assert r["mode"] == "lifecycle" and r["status"] == "identical", r["first_divergence"]
    assert code == 0 and r["outputs_compared"] == 3


def test_inconsistent_quantities_in_a_fix_log_are_flagged(tmp_path: Path) -> None:
    ingest(
        tmp_path,
        "fix-bad",
        [
            report(1, "0", "0", 0, 100),
            report(2, "F", "1", 40, 50, last=40),  # 40 + 50 != 100
            report(3, "4", "4", 40, 0),
            report(4, "F", "2", 100, 0, last=60),  # a fill after the cancel
        ],
    )
    code, r = run("fix-bad")
    assert code == 1 and r["status"] == "diverged"
    reasons = [i["reason"] for i in r["issues_found"]]
    assert reasons[0] == "qty_mismatch" and "fill_after_cancel" in reasons
