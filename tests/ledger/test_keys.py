"""The server signing key: generated 0600, from the environment, rotated through the log."""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command

from ledger import keys, log, note
from ledger.models import Checkpoint, LedgerEntry, SigningKey
from ledger.verify import verify

from .helpers import fill

pytestmark = pytest.mark.django_db


def test_the_key_is_generated_once_with_mode_0600(ledger_key_dir: Path) -> None:
    key = keys.server_key()
    path = ledger_key_dir / "ledger_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.server_key().key_id == key.key_id
    assert key.vkey.startswith(f"{keys.origin()}+{key.key_id}+")


def test_the_key_can_come_from_the_environment(
    ledger_key_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = bytes(range(32))
    monkeypatch.setenv("DELTATRACE_LEDGER_KEY", base64.b64encode(seed).decode())
    key = keys.server_key()
    expected = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    assert key.public_key == note.public_bytes(expected) and key.source == "env"
    assert not (ledger_key_dir / "ledger_key").exists()
    with pytest.raises(keys.LedgerKeyError, match="DELTATRACE_LEDGER_KEY"):
        keys.rotate_key("admin")
    monkeypatch.setenv("DELTATRACE_LEDGER_KEY", "not-a-key")
    with pytest.raises(keys.LedgerKeyError, match="base64"):
        keys.server_key()


def test_rotation_is_a_logged_endorsed_entry_and_old_checkpoints_still_verify(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        fill(3)
    first = Checkpoint.objects.latest()
    with django_capture_on_commit_callbacks(execute=True):
        old, new = keys.rotate_key("admin")
    entry = LedgerEntry.objects.get(index=3).as_dict()
    assert entry["type"] == "key.rotated" and entry["payload"]["new_key_id"] == new.key_id
    endorsement = base64.b64decode(entry["payload"]["endorsement"])
    old.private_key.public_key().verify(endorsement, f"key.rotated\n{new.vkey}\n".encode())
    assert keys.server_key().key_id == new.key_id
    latest = Checkpoint.objects.latest()
    assert latest.tree_size == 4 and latest.key_id == new.key_id
    assert first.key_id == old.key_id
    assert SigningKey.objects.get(key_id=old.key_id).retired is not None
    report = verify()
    assert report.ok, report.problems
    assert report.checkpoints_checked >= 3


def test_the_rotate_command_reports_both_key_ids(
    capsys: Any, django_capture_on_commit_callbacks: Any
) -> None:
    old = keys.server_key()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("ledger", "rotate-key", "--json", "--actor", "ops")
    out = capsys.readouterr().out
    assert old.key_id in out and keys.server_key().key_id != old.key_id
    assert log.tree_size() == 1


def test_rotating_an_environment_key_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELTATRACE_LEDGER_KEY", base64.b64encode(bytes(32)).decode())
    with pytest.raises(CommandError, match="DELTATRACE_LEDGER_KEY"):
        call_command("ledger", "rotate-key")
