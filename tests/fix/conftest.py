"""Helpers for the FIX adapter tests: a small message builder with correct BodyLength/CheckSum."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.fix.bench import encode_message

CORPUS = Path(__file__).parent / "corpus"


def msg(msg_type: str, body: list[tuple[int, str]], begin: str = "FIX.4.4", **hdr: str) -> bytes:
    head = [
        (35, msg_type),
        (49, hdr.get("sender", "FIRM")),
        (56, hdr.get("target", "VENUE")),
        (34, hdr.get("seq", "1")),
        (52, hdr.get("sent", "20250101-12:00:00.000")),
    ]
    return encode_message(begin, head + body)


@pytest.fixture
def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.log"))
