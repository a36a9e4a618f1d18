"""Helpers for the FIX adapter tests: a small message builder with correct BodyLength/CheckSum."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from adapters.fix.bench import as_log, encode_message

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


def linked_log(n: int, seed: int) -> bytes:
    """Orders, amendments, reports and rejects that name messages anywhere earlier in the log, so
    that every kind of order link crosses chunk cuts; MsgSeqNums repeat (session resets)."""
    rng = random.Random(seed)
    ids: list[tuple[str, str]] = []  # (ClOrdID, OrderID)
    seqs = {"FIRM": 0, "VENUE": 0}
    out = []
    for i in range(n):
        r = rng.random()
        sender = "FIRM" if r < 0.35 else "VENUE"
        seqs[sender] = seqs[sender] % 40 + 1
        hdr = {"sender": sender, "target": "VENUE" if sender == "FIRM" else "FIRM"}
        hdr["seq"] = str(seqs[sender])
        hdr["sent"] = f"20250101-12:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}"
        cl, oid = rng.choice(ids) if ids else ("C0", "O0")
        if r < 0.2 or not ids:
            new = (f"C{i}", rng.choice([f"O{i}", oid]))  # an OrderID may be reused
            ids.append(new)
            m = msg("D", [(11, new[0]), (37, new[1]), (55, "ACME"), (54, "1"), (38, "10")], **hdr)
        elif r < 0.35:
            m = msg(rng.choice("FG"), [(41, cl), (11, f"C{i}"), (37, oid), (55, "ACME")], **hdr)
            ids.append((f"C{i}", oid))
        elif r < 0.6:
            known = rng.random() < 0.7
            m = msg(
                "8",
                [
                    *[(37, oid), (11, cl if known else f"U{i}"), (17, f"E{i}"), (150, "F")],
                    *[(39, "1"), (55, "ACME"), (54, "1"), (32, "5"), (31, "9.5"), (151, "5")],
                ],
                **hdr,
            )
        elif r < 0.68:
            m = msg("9", [(37, oid), (11, rng.choice([cl, f"U{i}"])), (41, cl), (39, "0")], **hdr)
        elif r < 0.76:
            body = [(45, str(rng.randint(1, 40))), (372, "D"), (380, "0")]
            m = msg("j", [*body, (379, rng.choice([cl, f"U{i}"]))], **hdr)
        elif r < 0.84:
            m = msg("3", [(45, str(rng.randint(1, 40))), (371, "55"), (373, "1")], **hdr)
        else:
            m = msg("0", [], **hdr)
        out.append(m)
    log = as_log(out)
    # Some bad input near anywhere: a bad checksum, garbage, a bad SendingTime.
    lines = log.split(b"\n")
    for k in rng.sample(range(len(lines) - 1), 6):
        lines[k] = lines[k][:-3] + b"9\x01" if k % 3 == 0 else lines[k]
        if k % 3 == 1:
            lines[k] = b"junk " + lines[k]
    lines.insert(len(lines) // 2, msg("0", [], sent="2025-01-01 12:00"))
    return b"\n".join(lines)


@pytest.fixture
def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.log"))
