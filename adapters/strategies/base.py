"""The strategy interface: deterministic decision components that the testbed runs and replay re-runs.

A strategy is a pipeline of three stages, each separately replayable:

    inputs (MDTick, Fill, ExecReport, RiskCheck)
        -> signal model  (emits Signal)
        -> planner       (turns signals and state into PlanDelta: the delta-stream)
        -> executor      (turns PlanDeltas into Orders: new, cancel, replace)

Every stage sees every event routed to it through ``on_event`` and emits outputs through the context.
Stages must be deterministic functions of (params, the events they receive, ctx.now_ns, ctx.rng):
no wall clock, no network, no filesystem, no iteration over unordered sets. Replay enforces this.
"""

from __future__ import annotations

import hashlib
import inspect
import random
from dataclasses import dataclass, field
from typing import Any, ClassVar

# (capture key, seq): how a recorded or replayed event is referred to.
Ref = tuple[str, int]

STAGES = ("signal", "planner", "executor")


@dataclass(frozen=True)
class StrategyEvent:
    """An event as a stage sees it: an input from the outside or an output of an earlier stage."""

    kind: str
    ts_ns: int
    keys: dict[str, str]
    payload: dict[str, Any]
    ref: Ref


@dataclass
class Emitted:
    """An output of a stage. ``parents`` are refs of the events that caused it."""

    kind: str
    lane: str
    keys: dict[str, str]
    payload: dict[str, Any]
    parents: list[Ref] = field(default_factory=list)


class Context:
    """What a stage may touch: the virtual clock, a seeded RNG and the emit function."""

    def __init__(self, seed: int) -> None:
        self.now_ns = 0
        self.rng = random.Random(seed)
        self.outbox: list[Emitted] = []

    def emit(self, out: Emitted) -> None:
        self.outbox.append(out)


class Stage:
    """One stage of a strategy pipeline. ``consumes`` lists the event kinds routed to it."""

    name: ClassVar[str] = ""
    consumes: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_event(self, ev: StrategyEvent, ctx: Context) -> None:
        raise NotImplementedError


class Strategy:
    """A named, versioned pipeline of stages. Subclasses set the class attributes."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = ""
    default_params: ClassVar[dict[str, Any]] = {}
    stage_classes: ClassVar[tuple[type[Stage], type[Stage], type[Stage]]]

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        self.params = {**self.default_params, **(params or {})}
        self.stages = {cls.name: cls(self.params) for cls in self.stage_classes}

    @classmethod
    def code_digest(cls) -> str:
        """SHA-256 over the source of the module that defines the strategy and its stages."""
        h = hashlib.sha256()
        modules = sorted({inspect.getmodule(c).__name__ for c in (cls, *cls.stage_classes)})  # type: ignore[union-attr]
        for name in modules:
            import sys

            h.update(inspect.getsource(sys.modules[name]).encode())
        return "sha256:" + h.hexdigest()

    def identity(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "params": self.params,
            "code_digest": self.code_digest(),
        }
