"""The asyncio side of a FIX acceptor: sockets, timers and persistence around `FixSession`.

Per batch of received bytes the order is: deliver application messages (the capture is written),
then persist the sequence numbers and our stored outbound messages, then write to the socket. A crash
between steps therefore loses nothing: at worst the peer sees a gap and resends. Store and
application calls that block (database) run through `blocking`, by default a worker thread, so the
event loop never waits on them. No Django here; `adapters.fix.store` supplies the database parts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from adapters.fix.session import (
    RECORDED_TYPES,
    Deliver,
    Disconnect,
    FixSession,
    Ignored,
    ResendNeeded,
    ResetStore,
    Send,
    SessionConfig,
    SessionRecord,
)
from adapters.fix.wire import Frame, frame_from_raw

log = logging.getLogger(__name__)

Body = list[tuple[int, str | bytes | int]]
Blocking = Callable[..., Awaitable[Any]]


class SessionStore(Protocol):
    """Sequence numbers and sent application messages of one session (blocking calls)."""

    def load(self) -> tuple[int, int]:
        """(next sender seq, next target seq)."""
        ...

    def save(
        self, next_sender_seq: int, next_target_seq: int, sent: list[tuple[int, str, bytes]]
    ) -> None: ...

    def outbound(self, begin: int, end: int) -> dict[int, bytes]: ...

    def reset(self) -> None: ...


class Application(Protocol):
    async def on_message(self, message: Frame, recv_ts_ns: int) -> list[tuple[str, Body]]:
        """Handle one in-sequence application message; return replies as (MsgType, body fields)."""
        ...


class SessionRecorder(Protocol):
    """An application that also keeps session-level traffic (optional: order entry does not)."""

    async def on_session_message(self, message: Frame, ts_ns: int, direction: str) -> None: ...


class MemoryStore:
    """A store that lives as long as the process (tests, the exchange sandbox)."""

    def __init__(self) -> None:
        self.next_sender_seq = 1
        self.next_target_seq = 1
        self.sent: dict[int, bytes] = {}

    def load(self) -> tuple[int, int]:
        return self.next_sender_seq, self.next_target_seq

    def save(
        self, next_sender_seq: int, next_target_seq: int, sent: list[tuple[int, str, bytes]]
    ) -> None:
        self.next_sender_seq, self.next_target_seq = next_sender_seq, next_target_seq
        self.sent.update({seq: raw for seq, _, raw in sent})

    def outbound(self, begin: int, end: int) -> dict[int, bytes]:
        return {s: r for s, r in self.sent.items() if begin <= s <= end}

    def reset(self) -> None:
        self.next_sender_seq = self.next_target_seq = 1
        self.sent.clear()


async def _to_thread(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args)


class FixAcceptor:
    """Listens on one port for one configured session; one connection at a time."""

    def __init__(
        self,
        config: SessionConfig,
        store: SessionStore,
        app: Application,
        *,
        clock: Callable[[], int] = time.time_ns,
        blocking: Blocking = _to_thread,
    ) -> None:
        self.config = config
        self.store = store
        self.app = app
        self.clock = clock
        self.blocking = blocking
        self.stats: Counter[str] = Counter()
        self.session: FixSession | None = None
        self.last_disconnect: str | None = None
        self._server: asyncio.Server | None = None
        self._busy = False
        self._closed = asyncio.Event()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._handle, host, port)
        sockname = self._server.sockets[0].getsockname()
        log.info("FIX acceptor listening on %s:%s", sockname[0], sockname[1])
        return sockname[0], sockname[1]

    async def stop(self, text: str = "acceptor shutting down") -> None:
        """Log the session out (waiting briefly for the reply) and stop listening."""
        if self._server is not None:
            self._server.close()
        session = self.session
        if self._busy and session is not None and session.state == "active" and self._writer:
            await self._execute(session, session.logout(text, self.clock()), self._writer)
        if self._busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), self.config.logout_timeout_ns / 1e9)
        if self._busy and self._task is not None:
            self._task.cancel()
            await self._closed.wait()
        if self._server is not None:
            await self._server.wait_closed()

    @property
    def connected(self) -> bool:
        return self._busy

    _writer: asyncio.StreamWriter | None = None
    _task: asyncio.Task[None] | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if self._busy:
            log.warning("refusing a second connection from %s while a session is connected", peer)
            writer.close()
            return
        self._busy = True
        self._closed.clear()
        self._writer = writer
        self._task = asyncio.current_task()
        self.stats["connections"] += 1
        try:
            sender, target = await self.blocking(self.store.load)
            session = self.session = FixSession(self.config, sender, target, self.clock())
            self._saved = (sender, target)
            await self._run(session, reader, writer)
        except (ConnectionError, OSError) as exc:
            self.last_disconnect = f"connection lost: {exc}"
        except asyncio.CancelledError:
            self.last_disconnect = "acceptor stopped"
        except Exception:
            log.exception("FIX session failed")
            self.last_disconnect = "internal error"
        finally:
            log.info("FIX session with %s ended: %s", peer, self.last_disconnect)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._writer = None
            self._busy = False
            self._closed.set()

    async def _run(
        self, session: FixSession, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while session.state != "closed":
            hb = session.heartbeat_ns / 1e9
            tick = min(0.5, max(0.02, hb / 10)) if hb else 0.1
            try:
                data = await asyncio.wait_for(reader.read(65536), tick)
            except TimeoutError:
                data = None
            if data == b"":
                self.last_disconnect = "peer closed the connection"
                # Numbers already advanced in memory are persisted by the last batch.
                return
            actions = session.receive(data, self.clock()) if data else []
            actions += session.timer(self.clock())
            # A GapFill or SequenceReset moves the numbers without any action: persist that too.
            numbers = (session.next_sender_seq, session.next_target_seq)
            if actions or numbers != self._saved:
                await self._execute(session, actions, writer)

    async def _execute(
        self, session: FixSession, actions: list[Any], writer: asyncio.StreamWriter
    ) -> None:
        sends: list[Send] = []
        reason: str | None = None
        record = getattr(self.app, "on_session_message", None)
        for action in actions:
            if isinstance(action, SessionRecord):
                if record is not None:
                    await record(action.message, action.ts_ns, action.direction)
            elif isinstance(action, Send):
                sends.append(action)
            elif isinstance(action, Deliver):
                self.stats["delivered"] += 1
                replies = await self.app.on_message(action.message, action.recv_ts_ns)
                for msg_type, body in replies:
                    if session.state != "active":  # no application messages after Logout
                        log.warning("reply %s dropped: session is %s", msg_type, session.state)
                        continue
                    sends.append(session.send_app(msg_type, body, self.clock()))
            elif isinstance(action, ResendNeeded):
                self.stats["resend_requests"] += 1
                end = action.end or session.next_sender_seq - 1
                stored = await self.blocking(self.store.outbound, action.begin, end)
                sends += [
                    a
                    for a in session.build_resend(action.begin, action.end, stored, self.clock())
                    if isinstance(a, Send)
                ]
            elif isinstance(action, ResetStore):
                await self.blocking(self.store.reset)
                self._saved = (1, 1)
            elif isinstance(action, Ignored):
                self.stats["ignored"] += 1
            elif isinstance(action, Disconnect):
                reason = action.reason
        if record is not None:
            # What we send is recorded before it goes out, like everything else in the capture.
            now = self.clock()
            for s in sends:
                frame = frame_from_raw(s.raw) if s.msg_type in RECORDED_TYPES else None
                if frame is not None:
                    await record(frame, now, "out")
        keep = [(s.seq, s.msg_type, s.raw) for s in sends if s.store]
        numbers = (session.next_sender_seq, session.next_target_seq)
        if keep or numbers != self._saved:
            await self.blocking(self.store.save, *numbers, keep)
            self._saved = numbers
        for s in sends:
            writer.write(s.raw)
        self.stats["sent"] += len(sends)
        if sends:
            await writer.drain()
        if reason is not None:
            self.last_disconnect = reason
            session.state = "closed"

    _saved: tuple[int, int] = (0, 0)
