"""`deltatrace serve` refuses an unmigrated database or a bad address instead of serving errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def serve(home: Path, addr: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DELTATRACE_HOME=str(home), PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "deltatrace.cli", "serve", "--addr", addr],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_it_refuses_to_serve_an_unmigrated_database(tmp_path):
    out = serve(tmp_path, "127.0.0.1:0")
    assert out.returncode != 0
    assert "unapplied migration(s): run `deltatrace migrate` first" in out.stderr


def test_a_bad_address_is_a_clear_error(tmp_path):
    out = serve(tmp_path, "localhost")
    assert out.returncode != 0
    assert "--addr must be HOST:PORT" in out.stderr
