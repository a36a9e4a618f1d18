"""Writes tests/fix/corpus/*.log: `PYTHONPATH=. .venv/bin/python tests/fix/make_corpus.py`."""

from pathlib import Path

from adapters.fix.bench import encode_message as enc


def session(begin, appl=None):
    s = {"FIRM": 0, "VENUE": 0}

    def m(sender, mt, body, t):
        s[sender] += 1
        tgt = "VENUE" if sender == "FIRM" else "FIRM"
        return enc(begin, [(35, mt), (49, sender), (56, tgt), (34, str(s[sender])), (52, t), *body])

    logon = [(98, "0"), (108, "30")] + ([(1137, appl)] if appl else [])
    out = [
        ("out", m("FIRM", "A", logon, "20250101-12:00:00")),
        ("in", m("VENUE", "A", logon, "20250101-12:00:00.001")),
        (
            "out",
            m(
                "FIRM",
                "D",
                [
                    (11, "ORD-1"),
                    (1, "ACC-7"),
                    (55, "ACME"),
                    (54, "1"),
                    (60, "20250101-12:00:01.000100"),
                    (38, "300"),
                    (40, "2"),
                    (44, "101.25"),
                    (59, "0"),
                ],
                "20250101-12:00:01.000123",
            ),
        ),
        (
            "in",
            m(
                "VENUE",
                "8",
                [
                    (37, "V-1"),
                    (11, "ORD-1"),
                    (17, "X-1"),
                    (150, "0"),
                    (39, "0"),
                    (55, "ACME"),
                    (54, "1"),
                    (38, "300"),
                    (44, "101.25"),
                    (151, "300"),
                    (14, "0"),
                    (6, "0"),
                    (60, "20250101-12:00:01.000200"),
                ],
                "20250101-12:00:01.000201",
            ),
        ),
        (
            "in",
            m(
                "VENUE",
                "8",
                [
                    (37, "V-1"),
                    (11, "ORD-1"),
                    (17, "X-2"),
                    (150, "1" if begin == "FIX.4.2" else "F"),
                    (39, "1"),
                    (55, "ACME"),
                    (54, "1"),
                    (38, "300"),
                    (44, "101.25"),
                    (32, "100"),
                    (31, "101.25"),
                    (151, "200"),
                    (14, "100"),
                    (6, "101.25"),
                    (60, "20250101-12:00:02.000000001"),
                ],
                "20250101-12:00:02.000000002",
            ),
        ),
        (
            "out",
            m(
                "FIRM",
                "G",
                [
                    (37, "V-1"),
                    (41, "ORD-1"),
                    (11, "ORD-2"),
                    (55, "ACME"),
                    (54, "1"),
                    (38, "200"),
                    (40, "2"),
                    (44, "101.20"),
                    (59, "0"),
                    (60, "20250101-12:00:03.000"),
                ],
                "20250101-12:00:03.000",
            ),
        ),
        (
            "in",
            m(
                "VENUE",
                "8",
                [
                    (37, "V-1"),
                    (11, "ORD-2"),
                    (41, "ORD-1"),
                    (17, "X-3"),
                    (150, "5"),
                    (39, "5"),
                    (55, "ACME"),
                    (54, "1"),
                    (38, "200"),
                    (44, "101.20"),
                    (151, "100"),
                    (14, "100"),
                    (6, "101.25"),
                ],
                "20250101-12:00:03.001",
            ),
        ),
        (
            "out",
            m(
                "FIRM",
                "F",
                [
                    (37, "V-1"),
                    (41, "ORD-2"),
                    (11, "ORD-3"),
                    (55, "ACME"),
                    (54, "1"),
                    (38, "200"),
                    (60, "20250101-12:00:04.000"),
                ],
                "20250101-12:00:04.000",
            ),
        ),
        (
            "in",
            m(
                "VENUE",
                "9",
                [
                    (37, "V-1"),
                    (11, "ORD-3"),
                    (41, "ORD-2"),
                    (39, "1"),
                    (434, "1"),
                    (102, "1"),
                    (58, "Too late to cancel"),
                ],
                "20250101-12:00:04.001",
            ),
        ),
        (
            "in",
            m(
                "VENUE",
                "W",
                [
                    (262, "MD-1"),
                    (55, "ACME"),
                    (268, "2"),
                    (269, "0"),
                    (270, "101.20"),
                    (271, "500"),
                    (269, "1"),
                    (270, "101.30"),
                    (271, "400"),
                ],
                "20250101-12:00:05.000",
            ),
        ),
        (
            "in",
            m(
                "VENUE",
                "X",
                [
                    (262, "MD-1"),
                    (268, "2"),
                    (279, "1"),
                    (269, "0"),
                    (55, "ACME"),
                    (270, "101.21"),
                    (271, "300"),
                    (279, "0"),
                    (269, "2"),
                    (55, "ACME"),
                    (270, "101.25"),
                    (271, "100"),
                ],
                "20250101-12:00:05.500",
            ),
        ),
        (
            "out",
            m(
                "FIRM",
                "3",
                [(45, "7"), (371, "44"), (372, "X"), (373, "5"), (58, "Value is incorrect")],
                "20250101-12:00:06.000",
            ),
        ),
        (
            "in",
            m(
                "VENUE",
                "j",
                [(45, "3"), (372, "D"), (379, "ORD-1"), (380, "0"), (58, "Unknown")],
                "20250101-12:00:06.500",
            ),
        ),
        ("out", m("FIRM", "1", [(112, "TEST-1")], "20250101-12:00:07.000")),
        ("in", m("VENUE", "0", [(112, "TEST-1")], "20250101-12:00:07.001")),
        ("out", m("FIRM", "2", [(7, "1"), (16, "0")], "20250101-12:00:08.000")),
        ("in", m("VENUE", "4", [(43, "Y"), (123, "Y"), (36, "12")], "20250101-12:00:08.001")),
        ("out", m("FIRM", "5", [(58, "bye")], "20250101-12:00:09.000")),
    ]
    return out


# FIX 4.2: QuickFIX message-log style (timestamp prefix, SOH)
lines = [
    b"20250101-12:00:%02d.%03d : %s" % (i // 10, i % 1000, msg)
    for i, (d, msg) in enumerate(session("FIX.4.2"))
]
Path("tests/fix/corpus/quickfix-fix42.log").write_bytes(b"\n".join(lines) + b"\n")
# FIX 4.4: '|'-delimited with direction markers and ISO timestamps
lines = [
    b"2025-01-01 12:00:%02d.%06d %s %s"
    % (i // 10, i, b"<" if d == "in" else b">", msg.replace(b"\x01", b"|"))
    for i, (d, msg) in enumerate(session("FIX.4.4"))
]
Path("tests/fix/corpus/pipe-fix44.log").write_bytes(b"\r\n".join(lines) + b"\r\n")
# FIXT.1.1 / FIX 5.0SP2: '^A' as two characters, IN/OUT markers, two messages on some lines
msgs = [(d, msg.replace(b"\x01", b"^A")) for d, msg in session("FIXT.1.1", appl="9")]
lines = []
for i in range(0, len(msgs), 2):
    pair = msgs[i : i + 2]
    lines.append(
        b"[%s] " % (b"IN" if pair[0][0] == "in" else b"OUT") + b" ".join(m for _, m in pair)
    )
Path("tests/fix/corpus/caret-fixt11.log").write_bytes(b"\n".join(lines) + b"\n")
