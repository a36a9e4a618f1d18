"""``/ws/incidents/<id>/``: tells an open incident page that the incident has grown.

Protocol (JSON text frames)
---------------------------
client -> server  ``{"type": "hello", "event_count": N, "quarantined_count": Q}``   what the page shows
server -> client  ``{"type": "incident", "event_count", "quarantined_count", "start_ns", "end_ns"}``
                  whenever the stored counts differ from what this client last heard (the first
                  time after hello only if they already differ)

A live drop-copy session or a live adapter appends events while an officer watches: the page then
offers to show them. Wake-ups come through the channel group after each committed batch; the counts
are also polled, since the writer may be another process (see deltatrace.live).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from deltatrace.live import incident_group
from deltatrace.models import Incident
from deltatrace.roles import can

POLL_S = 1.0


@database_sync_to_async
def may_view(user: Any) -> bool:
    """Whether a WebSocket's session user may watch incidents (and their replays)."""
    return bool(user is not None and user.is_authenticated and can(user, "view"))


@database_sync_to_async
def counts(incident_id: int) -> dict[str, Any] | None:
    row = (
        Incident.objects.filter(pk=incident_id)
        .values("event_count", "quarantined_count", "start_ns", "end_ns")
        .first()
    )
    return None if row is None else {"type": "incident", **row}


class IncidentConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.incident_id = int(self.scope["url_route"]["kwargs"]["incident_id"])
        # Refused before the handshake completes: the browser sees HTTP 403 / 404.
        if not await may_view(self.scope.get("user")):
            await self.close(code=4403)
            return
        if await counts(self.incident_id) is None:
            await self.close(code=4404)
            return
        self.known: tuple[Any, Any] | None = None
        self.wake = asyncio.Event()
        self.watch_task: asyncio.Task[None] | None = None
        if self.channel_layer is not None:
            await self.channel_layer.group_add(incident_group(self.incident_id), self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        task = getattr(self, "watch_task", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.channel_layer is not None and hasattr(self, "wake"):
            await self.channel_layer.group_discard(
                incident_group(self.incident_id), self.channel_name
            )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            msg = orjson.loads(text_data or b"")
        except orjson.JSONDecodeError:
            msg = None
        if not isinstance(msg, dict) or msg.get("type") != "hello":
            await self.send(
                text_data=orjson.dumps({"type": "error", "message": "expected hello"}).decode()
            )
            return
        self.known = (msg.get("event_count"), msg.get("quarantined_count"))
        if self.watch_task is None:
            self.watch_task = asyncio.create_task(self._watch())
        self.wake.set()

    async def incident_changed(self, event: dict[str, Any]) -> None:
        self.wake.set()

    async def _watch(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), POLL_S)
            self.wake.clear()
            now = await counts(self.incident_id)
            if now is None:
                await self.close(code=4404)
                return
            seen = (now["event_count"], now["quarantined_count"])
            if seen != self.known:
                self.known = seen
                await self.send(text_data=orjson.dumps(now).decode())
