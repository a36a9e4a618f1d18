"""Secret files (Django's secret key, the pseudonymisation key, the ledger key) created once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from deltatrace.secretfile import read_or_create, write_new

REPO = Path(__file__).resolve().parents[1]


def test_it_creates_the_file_private(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "secret_key"
    assert read_or_create(path, lambda: "abc\n") == "abc\n"
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_or_create(path, lambda: "other\n") == "abc\n"  # never regenerated
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no temporary left behind


def test_it_uses_the_winners_file_when_another_process_creates_it_first(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"

    def racing_make() -> str:
        # Another process creates the file between our existence check and our write.
        write_new(path, "theirs\n")
        return "ours\n"

    assert read_or_create(path, racing_make) == "theirs\n"
    assert path.read_text() == "theirs\n"


def test_write_new_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "key"
    write_new(path, "first")
    try:
        write_new(path, "second")
    except FileExistsError:
        pass
    else:
        raise AssertionError("write_new overwrote an existing file")
    assert path.read_text() == "first"


def test_processes_starting_together_share_one_django_secret(tmp_path: Path) -> None:
    env = {**os.environ, "DELTATRACE_HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
    env.pop("DELTATRACE_SECRET_KEY", None)
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    env["DJANGO_SETTINGS_MODULE"] = "deltatrace.settings"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, cwd=REPO)
        for _ in range(6)
    ]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(keys) == 1 and len(next(iter(keys))) > 40
