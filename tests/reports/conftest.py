"""Report fixtures: a private data directory (ledger key, privacy key, bundles) per test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledger.reports import verify as v


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("DELTATRACE_LEDGER_KEY", raising=False)
    settings.DATA_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return tmp_path


@pytest.fixture
def incident(db: Any) -> Any:
    """A small three-host trading incident, its captures registered in the ledger like ingest does."""
    from deltatrace.ingest import register_capture
    from deltatrace.models import Capture
    from tests.api.factories import build_trading_incident

    inc = build_trading_incident("flash-dip", orders=6)
    for cap in Capture.objects.filter(incident=inc):
        register_capture(cap, "tests")
    return inc


@pytest.fixture
def built(incident: Any) -> Any:
    from ledger.reports.bundle import build

    return build(incident, "regulator", "olivia")


def server_key() -> v.TrustedKey:
    from ledger import keys

    return v.parse_key(keys.server_key().vkey)
