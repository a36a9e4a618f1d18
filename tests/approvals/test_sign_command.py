"""`deltatrace sign`: an approver with a key file signs offline; the server accepts it."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from ledger.approvals.models import ApproverKey, Trigger


def _run(*args: str) -> dict:
    out = io.StringIO()
    call_command("sign", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_an_offline_approver_signs_to_a_file_and_the_server_accepts_it(
    tmp_path: Path, make_user, approver, propose
):
    make_user("otto", "approver")
    make_user("ann0", "approver")  # two approvers, so a quorum of 2 stays possible
    key = tmp_path / "otto.pem"
    made = _run("keygen", "--out", str(key))
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    reg = _run("register", "--key-file", str(key), "--user", "otto")
    assert reg["key_id"] == made["key_id"] == ApproverKey.objects.get(user__username="otto").key_id

    trigger = propose()
    signed = tmp_path / "approval.json"
    _run(
        "--key-file",
        str(key),
        "--trigger",
        trigger["digest"],
        "--decision",
        "approve",
        "--out",
        str(signed),
    )
    got = _run("submit", str(signed), "--user", "otto")
    assert got["status"] == "pending" and got["ledger_index"] is not None

    # The same file submitted again is a replay.
    with pytest.raises(CommandError, match="replayed"):
        _run("submit", str(signed), "--user", "otto")
    # A second approver signing in the browser-equivalent way completes the quorum.
    assert approver("ann").approve(trigger).json()["trigger"]["status"] == "executed"


@pytest.mark.django_db
def test_sign_refuses_bad_input_clearly(tmp_path: Path, propose):
    with pytest.raises(CommandError, match="not overwriting"):
        key = tmp_path / "k.pem"
        _run("keygen", "--out", str(key))
        _run("keygen", "--out", str(key))
    trigger = propose()
    with pytest.raises(CommandError, match=r"--server URL --token T .* or --out FILE"):
        _run("--key-file", str(key), "--trigger", str(trigger["id"]), "--decision", "approve")
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    with pytest.raises(CommandError, match="cannot read key file"):
        _run("--key-file", str(bad), "--trigger", "1", "--decision", "approve", "--out", "x")
    # A key nobody registered: the server says so.
    signed = tmp_path / "a.json"
    _run(
        "--key-file",
        str(key),
        "--trigger",
        str(trigger["id"]),
        "--decision",
        "approve",
        "--out",
        str(signed),
    )
    with pytest.raises(CommandError, match="no user"):
        _run("submit", str(signed), "--user", "nobody")


def test_sign_talks_to_a_running_server(flushable, live_server, tmp_path: Path, make_user, propose):
    otto = make_user("otto", "approver")
    make_user("ann", "approver")
    make_user("dan", "approver")
    token = Token.objects.create(user=otto).key
    key = tmp_path / "otto.pem"
    _run("keygen", "--out", str(key))
    server = ["--server", live_server.url, "--token", token]
    _run("register", "--key-file", str(key), *server)
    trigger = propose()
    got = _run(
        "--key-file", str(key), "--trigger", str(trigger["id"]), "--decision", "reject", *server
    )
    assert got["status"] == "pending"  # 1 reject of 3 approvers leaves 2 of 3 possible
    assert Trigger.objects.get(pk=trigger["id"]).approvals.get().decision == "reject"
    with pytest.raises(CommandError, match=r"HTTP 400 .*already signed"):
        _run(
            "--key-file",
            str(key),
            "--trigger",
            str(trigger["id"]),
            "--decision",
            "approve",
            *server,
        )
