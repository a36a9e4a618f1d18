"""The `deltatrace report` command, the shipped single-file verifier, and approvals from the database."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.apps import apps
from django.core.management import CommandError, call_command

from deltatrace.canonical import strict_jcs
from ledger import keys, log, note
from ledger.reports import verify as v
from ledger.reports.bundle import build
from tests.reports.tamper import write


def test_build_and_verify_commands_round_trip(incident: Any, tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "report.zip"
    call_command("report", "build", "flash-dip", "--out", str(out), "--json", "--actor", "olga")
    summary = json.loads(capsys.readouterr().out)
    assert summary["incident"] == "flash-dip" and summary["events"] == 42
    assert hashlib.sha256(out.read_bytes()).hexdigest() == summary["sha256"]
    call_command("report", "verify", str(out), "--key", keys.server_key().vkey, "--json")
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] and result["key_source"].startswith("pinned")


def test_verify_command_fails_loudly_naming_file_and_check(built: Any, tmp_path: Path) -> None:
    files = dict(built.files)
    files[v.EVENTS] = files[v.EVENTS] + b'{"kind":"Fill"}\n'
    bad = write(files, tmp_path / "bad.zip")
    with pytest.raises(CommandError, match=r"events\.jsonl: digest"):
        call_command("report", "verify", str(bad))


def test_build_of_an_unknown_incident_is_a_clear_error(db: Any, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="unknown incident 'nope'"):
        call_command("report", "build", "nope", "--out", str(tmp_path / "x.zip"))


def test_the_shipped_verifier_runs_alone_without_deltatrace(built: Any, tmp_path: Path) -> None:
    """Unzip, then run verify_bundle.py with -I (isolated: no project on the path)."""
    with zipfile.ZipFile(built.path) as zf:
        zf.extract("verify_bundle.py", tmp_path)
    key_file = tmp_path / "server.pub"
    key_file.write_text(keys.server_key().vkey + "\n")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-I", "verify_bundle.py", str(built.path), "--key", str(key_file)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "VERIFIED" in proc.stdout and time.perf_counter() - t0 < 30
    other = base64.b64encode(note.public_bytes(Ed25519PrivateKey.generate().public_key()))
    proc = subprocess.run(
        [sys.executable, "-I", "verify_bundle.py", str(built.path), "--key", other.decode()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "FAIL envelope.dsse.json: dsse" in proc.stderr
    assert "FAIL ledger/checkpoint.txt: checkpoint" in proc.stderr


@pytest.mark.skipif(
    not apps.is_installed("ledger.approvals"), reason="the approvals app is not installed"
)
def test_triggers_and_signed_approvals_from_the_database_are_bundled_and_verified(
    incident: Any, make_user: Any, tmp_path: Path
) -> None:
    from ledger.approvals.models import Approval, ApproverKey, Trigger

    proposer = make_user("carol", "compliance")
    approver = make_user("anna", "approver")
    signer = Ed25519PrivateKey.generate()
    pub = note.public_bytes(signer.public_key())
    kid = hashlib.sha256(pub).hexdigest()[:16]
    key = ApproverKey.objects.create(user=approver, key_id=kid, public_key=pub)
    content = {"kind": "kill_switch", "incident": "flash-dip", "params": {"scope": "venue"}}
    digest = hashlib.sha256(strict_jcs(content)).hexdigest()
    trig = Trigger.objects.create(
        kind="kill_switch",
        content=content,
        digest=digest,
        incident=incident,
        proposer=proposer,
        expires_ms=2**50,
    )
    stmt = {
        "trigger_digest": digest,
        "decision": "approve",
        "key_id": kid,
        "tree_size": 1,
        "root_hash": "00" * 32,
        "time": 5,
    }
    signed = strict_jcs(stmt)
    sig = base64.b64encode(signer.sign(signed)).decode()
    entry = log.append(
        "approval.recorded", "anna", digest, {"incident": "flash-dip", "signature": sig}
    )
    Approval.objects.create(
        trigger=trig,
        key=key,
        user=approver,
        decision="approve",
        statement=signed.decode(),
        statement_digest=hashlib.sha256(signed).hexdigest(),
        signature=sig,
        tree_size=1,
        root_hash="00" * 32,
        time_ms=5,
        ledger_index=entry.index,
    )
    b = build(incident, "regulator", "olga")
    doc = json.loads(b.files[v.APPROVALS])
    assert doc["status"] == "present" and doc["approvals"][0]["approver"] == "anna"
    assert sig in b.files["report.html"].decode()
    res = v.verify_bundle(b.path, v.parse_key(keys.server_key().vkey))
    assert res.ok, res.failures
    assert any(c["check"] == "approval" and "1 approval" in c["detail"] for c in res.checks)
