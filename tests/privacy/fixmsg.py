"""FIX helpers for the privacy tests, independent of the code under test (simplefix builds, we check)."""

from __future__ import annotations

import simplefix

SOH = "\x01"


def fix(*pairs: tuple[int, str], msg_type: str = "D") -> str:
    """A valid FIX 4.4 message (BodyLength and CheckSum by simplefix), as capture `raw` text."""
    msg = simplefix.FixMessage()
    msg.append_pair(8, "FIX.4.4", header=True)
    msg.append_pair(35, msg_type, header=True)
    for tag, value in pairs:
        msg.append_pair(tag, value)
    return msg.encode().decode("latin-1")


def fields(raw: str) -> list[tuple[int, str]]:
    return [(int(t), v) for t, _, v in (f.partition("=") for f in raw.split(SOH) if f)]


def tag(raw: str, number: int) -> list[str]:
    return [v for t, v in fields(raw) if t == number]


def assert_valid_fix(raw: str) -> None:
    """BodyLength(9) counts the bytes after it up to CheckSum(10); CheckSum is their sum mod 256."""
    data = raw.encode("latin-1")
    assert data.startswith(b"8=") and data.endswith(b"\x01")
    body_start = data.index(b"\x01", data.index(b"\x019=") + 1) + 1
    trailer = data.rindex(b"\x0110=") + 1
    declared = int(data[data.index(b"\x019=") + 3 : body_start - 1])
    assert declared == trailer - body_start, "BodyLength(9) is wrong"
    assert data[trailer + 3 : trailer + 6] == b"%03d" % (sum(data[:trailer]) % 256), "bad CheckSum"
