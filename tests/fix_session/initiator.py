"""A minimal FIX initiator for driving the acceptor in tests: explicit about every header field."""

from __future__ import annotations

import asyncio
import contextlib
import time

from adapters.fix.wire import Frame, Garbled, StreamFramer, encode_message, format_utc_timestamp

Body = list[tuple[int, str | bytes | int]]


class Initiator:
    def __init__(self, sender: str = "CLIENT", target: str = "DELTATRACE", begin: str = "FIX.4.4"):
        self.sender, self.target, self.begin = sender, target, begin
        self.seq = 1
        self.received: list[Frame] = []
        self._framer = StreamFramer()
        self._pending: list[Frame] = []
        self.reader: asyncio.StreamReader
        self.writer: asyncio.StreamWriter

    async def connect(self, port: int) -> Initiator:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        return self

    def build(
        self,
        msg_type: str,
        body: Body | None = None,
        *,
        seq: int | None = None,
        possdup: bool = False,
        orig_sending_time: bytes | None = None,
        sending_time_ns: int | None = None,
        sender: str | None = None,
        target: str | None = None,
    ) -> bytes:
        if seq is None:
            seq = self.seq
        # Later messages follow the highest number used so far (explicit numbers included).
        self.seq = max(self.seq, seq + 1)
        header: Body = [
            (49, sender or self.sender),
            (56, target or self.target),
            (34, seq),
            (52, format_utc_timestamp(sending_time_ns or time.time_ns())),
        ]
        if possdup:
            header.append((43, "Y"))
        if orig_sending_time is not None:
            header.append((122, orig_sending_time))
        return encode_message(self.begin, msg_type, header, body or [])

    async def send(self, msg_type: str, body: Body | None = None, **kw: object) -> bytes:
        raw = self.build(msg_type, body, **kw)  # type: ignore[arg-type]
        await self.send_raw(raw)
        return raw

    async def send_raw(self, raw: bytes) -> None:
        self.writer.write(raw)
        await self.writer.drain()

    async def logon(self, heartbeat: int = 30, reset: bool = False, **kw: object) -> Frame:
        body: Body = [(98, 0), (108, heartbeat)]
        if reset:
            body.append((141, "Y"))
        await self.send("A", body, **kw)
        return await self.expect("A")

    async def recv(self, timeout: float = 2.0) -> Frame | None:
        """The next message, or None when the acceptor closed the connection."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not self._pending:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError("no message from the acceptor")
            data = await asyncio.wait_for(self.reader.read(65536), left)
            if not data:
                return None
            for item in self._framer.feed(data):
                assert not isinstance(item, Garbled), item
                self._pending.append(item)
        frame = self._pending.pop(0)
        self.received.append(frame)
        return frame

    async def expect(self, msg_type: str, timeout: float = 2.0) -> Frame:
        frame = await self.recv(timeout)
        assert frame is not None, f"connection closed while waiting for {msg_type}"
        assert frame.msg_type == msg_type, (frame.msg_type, frame.fields)
        return frame

    async def expect_closed(self, timeout: float = 2.0) -> list[Frame]:
        """Messages received until the acceptor disconnects (fails if it does not)."""
        got: list[Frame] = []
        while True:
            frame = await self.recv(timeout)
            if frame is None:
                return got
            got.append(frame)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()
