"""Fixtures: an acceptor on an ephemeral loopback port with an in-memory store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from adapters.fix.acceptor import FixAcceptor, MemoryStore
from adapters.fix.session import SessionConfig
from adapters.fix.wire import Frame
from tests.fix_session.initiator import Initiator


class Recorder:
    """An application that keeps what it is given and can answer with replies."""

    def __init__(self) -> None:
        self.messages: list[Frame] = []
        self.replies: Callable[[Frame], list[tuple[str, Any]]] = lambda f: []

    async def on_message(self, message: Frame, recv_ts_ns: int) -> list[tuple[str, Any]]:
        self.messages.append(message)
        return self.replies(message)

    def cl_ord_ids(self) -> list[str]:
        return [(m.get(11) or b"").decode() for m in self.messages]


async def inline(fn: Callable[..., Any], *args: Any) -> Any:
    return fn(*args)


class Harness:
    def __init__(self, **config: Any) -> None:
        self.config = SessionConfig(**config)
        self.store = MemoryStore()
        self.app = Recorder()
        self.acceptor: FixAcceptor | None = None
        self.port = 0
        self.initiators: list[Initiator] = []

    async def start(self) -> Harness:
        # The in-memory store never blocks: call it inline rather than through a worker thread.
        self.acceptor = FixAcceptor(self.config, self.store, self.app, blocking=inline)
        _, self.port = await self.acceptor.start("127.0.0.1", 0)
        return self

    async def connect(self, **kw: Any) -> Initiator:
        ini = await Initiator(**kw).connect(self.port)
        self.initiators.append(ini)
        return ini

    async def stop(self) -> None:
        """Hang up first so the acceptor need not wait for a Logout reply nobody will send."""
        for ini in self.initiators:
            await ini.close()
        if self.acceptor is not None:
            for _ in range(100):
                if not self.acceptor.connected:
                    break
                await asyncio.sleep(0.01)
            await self.acceptor.stop()


@pytest.fixture
async def harness() -> AsyncIterator[Callable[..., Any]]:
    made: list[Harness] = []

    async def make(**config: Any) -> Harness:
        h = await Harness(**config).start()
        made.append(h)
        return h

    yield make
    for h in made:
        await h.stop()


@pytest.fixture(autouse=True)
def _close_thread_connections(close_thread_connections: None) -> None:
    """Every test here: see tests/conftest.py."""
