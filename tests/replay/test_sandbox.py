"""The sandbox: every escape attempt fails the replay; a changed strategy is refused unless forced."""

from __future__ import annotations

import contextlib
import datetime
import io
import os
import pathlib
import random
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from adapters.strategies import registry
from adapters.strategies.base import Context, Emitted, Stage, Strategy, StrategyEvent
from replay.bench import synth_incident
from replay.engine import CaptureInfo, IncidentData, Options, replay
from replay.merge import Ev
from replay.sandbox import ReplayRefused, SandboxViolation, sandbox

ESCAPES: dict[str, Callable[[], Any]] = {
    "time.time": lambda: time.time(),
    "time.time_ns": lambda: time.time_ns(),
    "time.monotonic": lambda: time.monotonic(),
    "time.perf_counter": lambda: time.perf_counter(),
    "time.sleep": lambda: time.sleep(0),
    "time.localtime": lambda: time.localtime(),
    "datetime.now": lambda: datetime.datetime.now(),
    "datetime.utcnow": lambda: datetime.datetime.utcnow(),
    "date.today": lambda: datetime.date.today(),
    "socket.socket": lambda: socket.socket(),
    "socket.create_connection": lambda: socket.create_connection(("127.0.0.1", 9)),
    "socket.getaddrinfo": lambda: socket.getaddrinfo("localhost", 80),
    "open": lambda: open("/etc/hostname"),  # noqa: SIM115
    "io.open": lambda: io.open("/etc/hostname"),  # noqa: SIM115, UP020
    "os.open": lambda: os.open("/etc/hostname", os.O_RDONLY),
    "os.listdir": lambda: os.listdir("/"),
    "os.stat": lambda: os.stat("/"),
    "pathlib": lambda: pathlib.Path("/etc/hostname").read_text(),
    "os.urandom": lambda: os.urandom(8),
    "random.random": lambda: random.random(),
    "subprocess": lambda: subprocess.run(["true"], check=False),
    "os.system": lambda: os.system("true"),
}


class EscapingSignal(Stage):
    name = "signal"
    consumes: ClassVar[frozenset[str]] = frozenset({"MDTick"})

    def on_event(self, ev: StrategyEvent, ctx: Context) -> None:
        attempt = ESCAPES[self.params["attempt"]]
        if self.params.get("swallow"):
            with contextlib.suppress(Exception):
                attempt()
        else:
            attempt()
        ctx.emit(Emitted("Signal", "signal", {"symbol": "ACME"}, {"v": 1}, [ev.ref]))


class Quiet(Stage):
    consumes: ClassVar[frozenset[str]] = frozenset()

    def on_event(self, ev: StrategyEvent, ctx: Context) -> None:
        pass


class QuietPlanner(Quiet):
    name = "planner"


class QuietExecutor(Quiet):
    name = "executor"


class Escaper(Strategy):
    name = "escaper"
    version = "1"
    default_params: ClassVar[dict[str, Any]] = {"attempt": "time.time", "swallow": False}
    stage_classes = (EscapingSignal, QuietPlanner, QuietExecutor)


@pytest.fixture
def escaper(monkeypatch: pytest.MonkeyPatch) -> type[Strategy]:
    monkeypatch.setitem(registry.STRATEGIES, ("escaper", "1"), Escaper)
    return Escaper


def incident(params: dict[str, Any], digest: str | None = None) -> IncidentData:
    header = {
        "name": "escaper",
        "version": "1",
        "params": params,
        "code_digest": digest or Escaper.code_digest(),
    }
    tick = Ev("s", 1, "MDTick", 10, 10, 0, "h", "md", {"symbol": "ACME"}, {"bid": "1", "ask": "2"})
    out = Ev(
        "s",
        2,
        "Signal",
        10,
        10,
        1,
        "h",
        "signal",
        {"symbol": "ACME"},
        {"v": 1},
        (("s", 1, "tick_signal"),),
    )
    return IncidentData("evil", [CaptureInfo("s", "h", strategy=header)], [tick, out])


@pytest.mark.parametrize("attempt", sorted(ESCAPES))
def test_each_escape_attempt_fails_the_replay(escaper: type[Strategy], attempt: str) -> None:
    with pytest.raises(SandboxViolation, match="replay sandbox: strategy code tried to use"):
        replay(incident({"attempt": attempt}))


@pytest.mark.parametrize("attempt", ["time.time", "open", "socket.socket", "datetime.now"])
def test_a_swallowed_violation_still_fails_the_replay(
    escaper: type[Strategy], attempt: str
) -> None:
    with pytest.raises(SandboxViolation):
        replay(incident({"attempt": attempt, "swallow": True}))


def test_outside_the_sandbox_everything_works_again(escaper: type[Strategy]) -> None:
    with pytest.raises(SandboxViolation):
        replay(incident({"attempt": "time.time"}))
    assert time.time() > 0
    assert isinstance(datetime.datetime.now(), datetime.datetime)
    with open("/etc/hostname") as fh:
        fh.read()


def test_other_threads_keep_their_clock_during_a_replay() -> None:
    seen: list[float] = []

    def other() -> None:
        seen.append(time.time())

    with pytest.raises(SandboxViolation), sandbox():
        t = threading.Thread(target=other)
        t.start()
        t.join()
        time.time()
    assert seen and seen[0] > 0


def test_a_changed_strategy_is_refused_with_a_clear_message(escaper: type[Strategy]) -> None:
    data = incident({"attempt": "time.time"}, digest="sha256:" + "0" * 64)
    with pytest.raises(ReplayRefused, match=r"code digest .* differs from the recorded sha256:000"):
        replay(data)


def test_force_replays_despite_a_digest_mismatch_and_says_so() -> None:
    data = synth_incident(300)
    data.captures[1].strategy["code_digest"] = "sha256:" + "1" * 64
    result = replay(data, Options(force=True))
    assert result["status"] == "identical"
    assert "forced" in result["strategies"][0]


def test_an_unknown_strategy_is_refused() -> None:
    data = synth_incident(50)
    data.captures[1].strategy["version"] = "9.9.9"
    with pytest.raises(ReplayRefused, match=r"unknown strategy momentum 9\.9\.9"):
        replay(data)
