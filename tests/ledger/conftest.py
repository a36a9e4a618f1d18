"""Ledger fixtures: a private key directory per test."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

IS_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


@pytest.fixture(autouse=True)
def ledger_key_dir(tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test signs with a fresh key generated under its own data directory."""
    monkeypatch.delenv("DELTATRACE_LEDGER_KEY", raising=False)
    settings.DATA_DIR = tmp_path
    return tmp_path
