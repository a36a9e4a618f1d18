"""`deltatrace bench fix`: bulk log parse + normalise against simplefix's FixParser, same run.

The corpus is a deterministic mix of what a drop-copy log holds: orders, cancels and replaces,
execution reports (with trades), rejects, market-data snapshots and increments, and session traffic,
in FIX 4.2, 4.4 and FIXT.1.1, written as QuickFIX-style log lines.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from statistics import median
from typing import Any

import simplefix

from adapters.fix import parallel
from adapters.fix.log import read_fix_log
from deltatrace.benchmarks import Suite, Target, best_of, rounds_of

BEGIN_STRINGS = ("FIX.4.2", "FIX.4.4", "FIXT.1.1")
SYMBOLS = ("ACME", "GLOBX", "INITECH", "UMBRL", "HOOLI")


def encode_message(begin_string: str, fields: Iterable[tuple[int, str | bytes]]) -> bytes:
    """A wire (SOH) message: BeginString, BodyLength and CheckSum are computed here."""
    body = b"".join(
        b"%d=%s\x01" % (t, v if isinstance(v, bytes) else v.encode()) for t, v in fields
    )
    head = b"8=%s\x019=%d\x01" % (begin_string.encode(), len(body))
    return head + body + b"10=%03d\x01" % ((sum(head) + sum(body)) & 255)


def _sending_time(ns: int, digits: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    t = time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(secs))
    return t if digits == 0 else f"{t}.{frac // 10 ** (9 - digits):0{digits}d}"


class CorpusWriter:
    """Deterministic realistic traffic between a firm (FIRM) and a venue (VENUE)."""

    def __init__(self, seed: int = 7, begin_string: str = "FIX.4.4") -> None:
        self.rng = random.Random(seed)
        self.begin = begin_string
        self.ns = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
        self.seqs = {"FIRM": 0, "VENUE": 0}
        self.orders: list[tuple[str, str, str, int, str]] = []  # cl_ord_id, order_id, sym, qty, px
        self.n = 0
        self.tag = begin_string[-3:].replace(".", "")  # ids unique across the sessions of a log

    def _msg(self, sender: str, msg_type: str, body: list[tuple[int, str]]) -> bytes:
        self.ns += self.rng.randrange(1_000, 2_000_000)
        self.seqs[sender] += 1
        target = "VENUE" if sender == "FIRM" else "FIRM"
        digits = (3, 6, 9, 0)[self.seqs[sender] % 4]
        head = [
            (35, msg_type),
            (49, sender),
            (56, target),
            (34, str(self.seqs[sender])),
            (52, _sending_time(self.ns, digits)),
        ]
        return encode_message(self.begin, head + body)

    def message(self) -> bytes:
        """The next message of the mix."""
        r = self.rng.random()
        self.n += 1
        if r < 0.18 or not self.orders:
            sym = self.rng.choice(SYMBOLS)
            qty = self.rng.randrange(1, 50) * 100
            px = f"{self.rng.randrange(9000, 11000) / 100:.2f}"
            cl = f"C{self.tag}-{self.n}"
            self.orders.append((cl, f"O{self.tag}-{self.n}", sym, qty, px))
            self.orders = self.orders[-50:]
            side = self.rng.choice("12")
            return self._msg(
                "FIRM",
                "D",
                [
                    (11, cl),
                    (1, "ACC-1"),
                    (55, sym),
                    (54, side),
                    (60, _sending_time(self.ns, 6)),
                    (38, str(qty)),
                    (40, "2"),
                    (44, px),
                    (59, "0"),
                ],
            )
        cl, oid, sym, qty, px = self.rng.choice(self.orders)
        if r < 0.55:
            trade = self.rng.random() < 0.5
            last = qty // 2
            exec_type = ("F" if self.begin != "FIX.4.2" else "1") if trade else "0"
            body = [
                (37, oid),
                (11, cl),
                (17, f"E{self.tag}-{self.n}"),
                (150, exec_type),
                (39, "1" if trade else "0"),
                (55, sym),
                (54, "1"),
                (38, str(qty)),
                (44, px),
            ]
            if trade:
                body += [(32, str(last)), (31, px)]
            body += [
                (151, str(qty - last if trade else qty)),
                (14, str(last if trade else 0)),
                (6, px if trade else "0"),
                (60, _sending_time(self.ns, 6)),
            ]
            return self._msg("VENUE", "8", body)
        if r < 0.62:
            new = f"C{self.tag}-{self.n}"
            msg_type = self.rng.choice("FG")
            body = [(41, cl), (37, oid), (11, new), (55, sym), (54, "1"), (38, str(qty))]
            if msg_type == "G":
                body += [(40, "2"), (44, px)]
            return self._msg("FIRM", msg_type, body)
        if r < 0.64:
            return self._msg(
                "VENUE",
                "9",
                [(37, oid), (11, f"X{self.tag}-{self.n}"), (41, cl), (39, "0"), (434, "1")],
            )
        if r < 0.72:
            entries: list[tuple[int, str]] = []
            for level in range(3):
                for side in "01":
                    entries += [
                        (269, side),
                        (270, f"{100 + (level if side == '1' else -level) / 100:.2f}"),
                        (271, str(100 * (level + 1))),
                    ]
            return self._msg("VENUE", "W", [(262, "MD1"), (55, sym), (268, "6"), *entries])
        if r < 0.92:
            side = self.rng.choice("012")
            entry = [(279, "1"), (269, side), (55, sym), (270, px), (271, "300")]
            return self._msg("VENUE", "X", [(262, "MD1"), (268, "1"), *entry])
        return self._msg(self.rng.choice(("FIRM", "VENUE")), "0", [])


def corpus(n: int, seed: int = 7) -> list[bytes]:
    """n valid messages, a third in each of FIX 4.2, 4.4 and FIXT.1.1."""
    writers = [CorpusWriter(seed + i, b) for i, b in enumerate(BEGIN_STRINGS)]
    return [writers[i % 3].message() for i in range(n)]


def as_log(messages: list[bytes]) -> bytes:
    """QuickFIX-style message log lines: ``YYYYMMDD-HH:MM:SS.sss : <message>``."""
    return b"".join(
        b"20260101-00:00:%02d.%03d : %s\n" % (i % 60, i % 1000, m) for i, m in enumerate(messages)
    )


def _simplefix_per_message(messages: list[bytes], out: list[Any]) -> None:
    parser = simplefix.FixParser()
    for m in messages:
        parser.append_buffer(m)
        out.append(parser.get_message())


def _simplefix_whole(blob: bytes) -> int:
    parser = simplefix.FixParser()
    parser.append_buffer(blob)
    count = 0
    while parser.get_message() is not None:
        count += 1
    return count


def run(quick: bool) -> Suite:
    n = 20_000 if quick else 200_000
    messages = corpus(n)
    log = as_log(messages)
    result = read_fix_log(log, "bench.log")
    assert result.messages == n and not result.quarantined, "bench corpus must be all valid"
    # Taken in turns (`rounds_of`) so that both sides of the ratio see the same machine.
    rounds = 3 if quick else 5
    # The real path: worker processes on the cores idle right now (none on a busy machine).
    workers = parallel.default_workers(len(log))
    # simplefix is measured on a slice of the same corpus (the rate does not depend on n when fed
    # message by message); fed the whole file at once it is quadratic, shown on two sizes.
    sample = messages[: min(n, 20_000)]
    # Every side keeps what it parsed, freed untimed before the next run (`setup`): a user's parse
    # hands its result on, it does not start by freeing a previous one.
    kept: list[Any] = []
    seconds = rounds_of(
        rounds,
        {
            # The ratio's two sides back to back: each round's quotient compares like with like.
            "ours": lambda: kept.append(read_fix_log(log, "bench.log")),
            "theirs": lambda: _simplefix_per_message(sample, kept),
            # One process, no worker: what the second core adds (or what a busy machine gets).
            "alone": lambda: kept.append(read_fix_log(log, "bench.log", workers=0)),
        },
        kept.clear,
    )
    ours, alone, theirs = (min(seconds[k]) for k in ("ours", "alone", "theirs"))
    per_round = sorted(
        (n / a) / (len(sample) / b) for a, b in zip(seconds["ours"], seconds["theirs"], strict=True)
    )
    kept.clear()
    small, large = b"".join(messages[:2000]), b"".join(messages[:8000])
    whole_small = best_of(1, lambda: _simplefix_whole(small))
    whole_large = best_of(1, lambda: _simplefix_whole(large))
    ours_rate = n / ours
    theirs_rate = len(sample) / theirs
    suite = Suite("fix")
    suite.figures.update(
        messages=n,
        events=len(result.events),
        log_bytes=len(log),
        workers=workers,
        deltatrace_msgs_per_s=round(ours_rate),
        one_process_msgs_per_s=round(n / alone),
        simplefix_msgs_per_s=round(theirs_rate),
        ratio_vs_simplefix=round(ours_rate / theirs_rate, 2),
        ratio_per_round=f"{per_round[0]:.2f}-{per_round[-1]:.2f} (median {median(per_round):.2f})",
        simplefix_whole_file_2k_msgs_per_s=round(2000 / whole_small),
        simplefix_whole_file_8k_msgs_per_s=round(8000 / whole_large),
    )
    suite.targets += [
        Target("parse+normalise messages/s", round(ours_rate), 150_000),
        Target("ratio vs simplefix FixParser", round(ours_rate / theirs_rate, 2), 9.0),
    ]
    return suite
