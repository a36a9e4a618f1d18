"""The replay sandbox: re-run a recorded decision component with no wall clock, network or filesystem.

Guarantees while a sandbox is active on a thread:
- ``time.time/time_ns/monotonic/perf_counter/process_time/sleep`` (and their ``_ns`` forms), no-argument
  ``time.localtime/gmtime/ctime``, ``datetime.now/utcnow/today`` and ``date.today`` (as seen from the
  strategy's modules), ``socket.socket``/``create_connection``/``getaddrinfo``/``socketpair``,
  ``open``/``io.open``/``os.open`` and the ``os`` file-system calls, ``os.urandom``, ``subprocess``
  and the module-level ``random`` functions all raise ``SandboxViolation``.
- A violation fails the replay even if the strategy catches the exception: every attempt is recorded
  and re-raised when the sandbox closes.
- The only clock is ``ctx.now_ns`` (set from recorded timestamps); the only randomness ``ctx.rng``
  (seeded with the recorded seed).
Patches are installed process-wide but only bite on the thread that is inside a sandbox, so a server
or worker thread running beside a replay is unaffected.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as _dt
import io
import os
import random
import socket
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

from adapters.strategies.base import Strategy


class ReplayError(Exception):
    """A replay could not run (bad input, unknown strategy, ...); the message says why."""


class ReplayRefused(ReplayError):
    """The recorded decision component cannot be reproduced faithfully (e.g. code digest differs)."""


class SandboxViolation(ReplayError):
    """Strategy code tried to reach the wall clock, network or filesystem during a replay."""


_state = threading.local()
_lock = threading.Lock()
_installed = 0
_saved: list[tuple[Any, str, Any]] = []


def _active() -> bool:
    return bool(getattr(_state, "depth", 0))


def _violate(what: str) -> None:
    msg = (
        f"replay sandbox: strategy code tried to use {what}; a replay may not touch the wall clock, "
        "network, filesystem or unseeded randomness (use ctx.now_ns and ctx.rng)"
    )
    _state.violations.append(msg)
    raise SandboxViolation(msg)


def _guard(what: str, orig: Callable[..., Any], *, only_without_args: bool = False) -> Any:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if _active() and not (only_without_args and (args or kwargs)):
            _violate(what)
        return orig(*args, **kwargs)

    guarded.__wrapped__ = orig  # type: ignore[attr-defined]
    return guarded


def _guard_method(what: str, orig: Callable[..., Any]) -> Any:
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _active():
            _violate(what)
        return orig(self, *args, **kwargs)

    return guarded


_TIME_FUNCS = (
    "time",
    "time_ns",
    "monotonic",
    "monotonic_ns",
    "perf_counter",
    "perf_counter_ns",
    "process_time",
    "process_time_ns",
    "thread_time",
    "thread_time_ns",
    "sleep",
)
_OS_FUNCS = (
    "open",
    "listdir",
    "scandir",
    "stat",
    "lstat",
    "remove",
    "unlink",
    "rename",
    "replace",
    "mkdir",
    "makedirs",
    "rmdir",
    "system",
    "popen",
    "urandom",
    "getrandom",
    "fork",
    "getcwd",
)
_RANDOM_FUNCS = (
    "random",
    "randint",
    "randrange",
    "choice",
    "choices",
    "shuffle",
    "sample",
    "uniform",
    "gauss",
    "normalvariate",
    "getrandbits",
    "randbytes",
    "seed",
)


def _patch_list() -> list[tuple[Any, str, Any]]:
    out: list[tuple[Any, str, Any]] = []

    def add(obj: Any, name: str, what: str, **kw: Any) -> None:
        if hasattr(obj, name):
            out.append((obj, name, _guard(what, getattr(obj, name), **kw)))

    for n in _TIME_FUNCS:
        add(time, n, f"the wall clock (time.{n})")
    for n in ("localtime", "gmtime", "ctime"):
        add(time, n, f"the wall clock (time.{n}())", only_without_args=True)
    for n in ("create_connection", "getaddrinfo", "gethostbyname", "socketpair", "fromfd"):
        add(socket, n, f"the network (socket.{n})")
    out.append(
        (
            socket.socket,
            "__init__",
            _guard_method("the network (socket.socket)", socket.socket.__init__),
        )
    )
    out.append(
        (
            subprocess.Popen,
            "__init__",
            _guard_method("a subprocess (subprocess.Popen)", subprocess.Popen.__init__),
        )
    )
    opener = _guard("the filesystem (open)", builtins.open)
    out.append((builtins, "open", opener))
    out.append((io, "open", opener))
    for n in _OS_FUNCS:
        add(os, n, f"the operating system (os.{n})")
    for n in _RANDOM_FUNCS:
        add(random, n, f"unseeded randomness (random.{n}; use ctx.rng)")
    return out


def _install() -> None:
    global _installed
    with _lock:
        if _installed == 0:
            for obj, name, new in _patch_list():
                _saved.append((obj, name, getattr(obj, name)))
                setattr(obj, name, new)
        _installed += 1


def _uninstall() -> None:
    global _installed
    with _lock:
        _installed -= 1
        if _installed == 0:
            while _saved:
                obj, name, orig = _saved.pop()
                setattr(obj, name, orig)


class _GuardedDatetime(_dt.datetime):
    @classmethod
    def now(cls, tz: Any = None) -> Any:
        if _active():
            _violate("the wall clock (datetime.now)")
        return _dt.datetime.now(tz)

    @classmethod
    def utcnow(cls) -> Any:
        if _active():
            _violate("the wall clock (datetime.utcnow)")
        return _dt.datetime.now(_dt.UTC).replace(tzinfo=None)

    @classmethod
    def today(cls) -> Any:
        if _active():
            _violate("the wall clock (datetime.today)")
        return _dt.datetime.today()


class _GuardedDate(_dt.date):
    @classmethod
    def today(cls) -> Any:
        if _active():
            _violate("the wall clock (date.today)")
        return _dt.date.today()


def _datetime_proxy() -> types.ModuleType:
    mod = types.ModuleType("datetime")
    mod.__dict__.update(_dt.__dict__)
    mod.datetime = _GuardedDatetime  # type: ignore[attr-defined]
    mod.date = _GuardedDate  # type: ignore[attr-defined]
    return mod


def _strategy_modules(cls: type[Strategy]) -> list[types.ModuleType]:
    names = {c.__module__ for c in (cls, *cls.stage_classes)}
    for c in (cls, *cls.stage_classes):
        names.update(b.__module__ for b in c.__mro__ if b.__module__ not in ("builtins",))
    return [sys.modules[n] for n in sorted(names) if n in sys.modules]


@contextlib.contextmanager
def _patched_module_globals(cls: type[Strategy] | None) -> Iterator[None]:
    """datetime's classes are C types: swap the names the strategy's own modules see."""
    if cls is None:
        yield
        return
    swaps: list[tuple[dict[str, Any], str, Any]] = []
    proxy = _datetime_proxy()
    for mod in _strategy_modules(cls):
        g = mod.__dict__
        for name, value in list(g.items()):
            new: Any = None
            if value is _dt:
                new = proxy
            elif value is _dt.datetime:
                new = _GuardedDatetime
            elif value is _dt.date:
                new = _GuardedDate
            if new is not None:
                swaps.append((g, name, value))
                g[name] = new
    try:
        yield
    finally:
        for g, name, value in reversed(swaps):
            g[name] = value


@contextlib.contextmanager
def sandbox(strategy_cls: type[Strategy] | None = None) -> Iterator[None]:
    """Run the body sandboxed on this thread; raise SandboxViolation at exit if anything escaped."""
    _install()
    outer = getattr(_state, "depth", 0)
    if not outer:
        _state.violations = []
    try:
        with _patched_module_globals(strategy_cls):
            _state.depth = outer + 1
            try:
                yield
            finally:
                _state.depth = outer
    finally:
        _uninstall()
    violations = _state.violations
    if not outer and violations:
        # The strategy swallowed the exception; the replay still fails.
        raise SandboxViolation(violations[0])


@contextlib.contextmanager
def suspended() -> Iterator[None]:
    """Let harness code (progress callbacks, DB writes) run normally inside a sandbox."""
    depth = getattr(_state, "depth", 0)
    _state.depth = 0
    try:
        yield
    finally:
        _state.depth = depth


def resolve_strategy(header: dict[str, Any], *, force: bool = False) -> tuple[type[Strategy], str]:
    """The strategy class a capture header names, checked against its recorded code digest.

    Returns (class, note) where note describes a forced mismatch ("" when the digests agree).
    """
    from adapters.strategies.registry import get_strategy

    name, version = header.get("name"), header.get("version")
    if not name or not version:
        raise ReplayError("capture header names no strategy (need strategy.name and .version)")
    try:
        cls = get_strategy(str(name), str(version))
    except KeyError as exc:
        raise ReplayRefused(str(exc.args[0])) from None
    recorded = header.get("code_digest")
    current = cls.code_digest()
    if recorded and recorded != current:
        msg = (
            f"strategy {name} {version}: code digest {current} differs from the recorded "
            f"{recorded}; the code that made this capture is not the code installed here"
        )
        if not force:
            raise ReplayRefused(msg + " (use --force to replay anyway)")
        return cls, "forced: " + msg
    return cls, ""
