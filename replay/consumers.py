"""``/ws/replays/<run id>/``: every viewer gets the run's numbered steps from its own cursor.

Protocol (JSON text frames)
---------------------------
client -> server
  ``{"type": "hello", "last_step": N}``   (re)connect: deliver steps N+1, N+2, ... (optional
                                          ``"playing": bool``, ``"speed": x``; default playing, max)
  ``{"type": "play"}`` / ``{"type": "pause"}``
  ``{"type": "step", "by": 1}`` / ``{"type": "step", "by": -1}``   one step forward / back
  ``{"type": "seek", "n": N}``            move the cursor to step N (N is shown, N+1 comes next)
  ``{"type": "speed", "value": 0.1..100 | "max"}``
server -> client
  ``{"type": "steps", "frame": k, "from": a, "to": b, "steps": [...]}``   a = previous cursor + 1
  ``{"type": "seek", "cursor": N, "step": {...} | null}``   the cursor jumped (back or seek)
  ``{"type": "state", "playing", "speed", "cursor"}``       after each control
  ``{"type": "status", "status", "progress", "steps_written", "total_steps", "verdict"}``
  ``{"type": "error", "message"}``

Delivery is per connection: controls move only this viewer's cursor. When playing at a finite speed
the server paces steps by their recorded timestamps / speed (gaps capped at ``MAX_GAP_NS``) and
batches all steps that are due into one frame; at "max" it sends blocks as fast as the socket takes
them. The database is the source of truth: the channel group only wakes the connection early (the
worker may live in another process with an in-memory layer that cannot reach us), so the connection
also polls for new steps while the run is unfinished.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from typing import Any

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import timezone

from deltatrace.consumers import may_view
from replay.models import STALE_AFTER, ReplayRun, group_name, step_dicts

BLOCK = 1000  # steps per cached block and per frame at max speed
POLL_S = 0.25  # how often an unfinished run is polled when no notification arrives
IDLE_POLL_S = 5.0
MAX_GAP_NS = 1_000_000_000  # a long recorded pause plays as at most 1 s x speed
MIN_SPEED, MAX_SPEED = 0.1, 100.0
CACHE_BLOCKS = 256

# Complete blocks never change (steps are immutable once written), so viewers of a run share them.
_blocks: OrderedDict[tuple[int, int], list[dict[str, Any]]] = OrderedDict()


def _read_block(run_id: int, block: int) -> list[dict[str, Any]]:
    key = (run_id, block)
    hit = _blocks.get(key)
    if hit is not None:
        _blocks.move_to_end(key)
        return hit
    steps = step_dicts(run_id, block * BLOCK, BLOCK)
    if len(steps) == BLOCK:
        _blocks[key] = steps
        if len(_blocks) > CACHE_BLOCKS:
            _blocks.popitem(last=False)
    return steps


@database_sync_to_async
def steps_after(run_id: int, after: int) -> list[dict[str, Any]]:
    """The steps after ``after`` up to the end of its block (from the shared cache when complete)."""
    block = after // BLOCK
    return [s for s in _read_block(run_id, block) if s["n"] > after]


@database_sync_to_async
def one_step(run_id: int, n: int) -> dict[str, Any] | None:
    found = step_dicts(run_id, n - 1, 1) if n > 0 else []
    return found[0] if found else None


@database_sync_to_async
def run_state(run_id: int) -> dict[str, Any] | None:
    run = ReplayRun.objects.filter(pk=run_id).first()
    if run is None:
        return None
    if (
        run.status == ReplayRun.RUNNING
        and run.heartbeat
        and run.heartbeat < timezone.now() - STALE_AFTER
    ):
        from replay.tasks import requeue_stale

        requeue_stale()
        run.refresh_from_db()
    return {
        "type": "status",
        "status": run.status,
        "progress": round(run.progress, 4),
        "phase": run.phase,
        "steps_written": run.steps_written,
        "total_steps": run.total_steps,
        "verdict": run.verdict if run.status in ReplayRun.FINISHED else None,
        "error": run.error,
    }


def parse_speed(value: Any) -> float | None:
    """None means "max"; ValueError for anything outside 0.1x-100x."""
    if value == "max":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError('speed must be a number from 0.1 to 100, or "max"')
    if not MIN_SPEED <= float(value) <= MAX_SPEED:
        raise ValueError('speed must be from 0.1 to 100, or "max"')
    return float(value)


class ReplayConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.run_id = int(self.scope["url_route"]["kwargs"]["run_id"])
        # Refuse before accepting: the browser sees a failed handshake (HTTP 403).
        if not await may_view(self.scope.get("user")):
            await self.close(code=4403)
            return
        state = await run_state(self.run_id)
        if state is None:
            await self.close(code=4404)
            return
        self.cursor = 0
        self.playing = True
        self.speed: float | None = None
        self.credit = 0  # single steps asked for while paused
        self.epoch = 0  # bumped when the cursor jumps, so an in-flight fetch is discarded
        self.frame = 0
        self.buffer: list[dict[str, Any]] = []
        self.clock: tuple[int, float] | None = None  # (recorded ts of last step, loop time sent)
        self.wake = asyncio.Event()
        self.status_dirty = False
        self.last_status = state
        self.pump_task: asyncio.Task[None] | None = None
        if self.channel_layer is not None:
            await self.channel_layer.group_add(group_name(self.run_id), self.channel_name)
        await self.accept()
        await self.send_json(state)

    async def disconnect(self, code: int) -> None:
        task = getattr(self, "pump_task", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.channel_layer is not None and hasattr(self, "wake"):
            await self.channel_layer.group_discard(group_name(self.run_id), self.channel_name)

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=orjson.dumps(content).decode())

    # --- group notifications (wake-ups only; the database has the data) ---------------------------
    async def steps_available(self, event: dict[str, Any]) -> None:
        self.wake.set()

    async def run_status(self, event: dict[str, Any]) -> None:
        self.status_dirty = True
        self.wake.set()

    # --- controls --------------------------------------------------------------------------------
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            msg = orjson.loads(text_data or bytes_data or b"")
            if not isinstance(msg, dict):
                raise ValueError("a message is a JSON object")
            await self.control(msg)
        except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
            await self.send_json({"type": "error", "message": str(exc)})

    async def control(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "hello":
            last = msg.get("last_step", 0)
            if not isinstance(last, int) or isinstance(last, bool) or last < 0:
                raise ValueError("last_step must be a non-negative integer")
            self.playing = bool(msg.get("playing", True))
            if "speed" in msg:
                self.speed = parse_speed(msg["speed"])
            self._jump(last)
            if self.pump_task is None:
                self.pump_task = asyncio.ensure_future(self.pump())
        elif self.pump_task is None:
            raise ValueError('send {"type": "hello", "last_step": N} first')
        elif kind == "play":
            self.playing = True
            self.clock = None
        elif kind == "pause":
            self.playing = False
            self.credit = 0
        elif kind == "speed":
            self.speed = parse_speed(msg.get("value"))
            self.clock = None
        elif kind == "step":
            by = msg.get("by", 1)
            if by not in (1, -1):
                raise ValueError("step by must be 1 or -1")
            self.playing = False
            if by == 1:
                self.credit += 1
            else:
                await self._seek(max(0, self.cursor - 1))
        elif kind == "seek":
            n = msg.get("n")
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise ValueError("seek n must be a non-negative integer")
            await self._seek(n)
        else:
            raise ValueError(f"unknown message type {kind!r}")
        await self.send_json(
            {
                "type": "state",
                "playing": self.playing,
                "speed": self.speed or "max",
                "cursor": self.cursor,
            }
        )
        self.wake.set()

    def _jump(self, n: int) -> None:
        self.cursor = n
        self.epoch += 1
        self.buffer = []
        self.clock = None
        self.credit = 0

    async def _seek(self, n: int) -> None:
        self._jump(n)
        epoch = self.epoch
        step = await one_step(self.run_id, n)
        if epoch == self.epoch:
            await self.send_json({"type": "seek", "cursor": n, "step": step})

    # --- delivery --------------------------------------------------------------------------------
    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.wake.wait(), timeout=seconds)
        self.wake.clear()

    async def _refresh_status(self) -> None:
        state = await run_state(self.run_id)
        self.status_dirty = False
        if state is not None and state != self.last_status:
            self.last_status = state
            await self.send_json(state)

    async def pump(self) -> None:
        while True:
            if self.status_dirty:
                await self._refresh_status()
            if not self.playing and self.credit == 0:
                # Paused: still follow an unfinished run's progress (no notification may come).
                if self.last_status["status"] in ReplayRun.FINISHED:
                    await self._sleep(IDLE_POLL_S)
                else:
                    await self._sleep(POLL_S)
                    await self._refresh_status()
                continue
            if not self.buffer:
                epoch = self.epoch
                fetched = await steps_after(self.run_id, self.cursor)
                if epoch != self.epoch:
                    continue
                if not fetched:
                    await self._refresh_status()
                    done = self.last_status["status"] in ReplayRun.FINISHED
                    await self._sleep(IDLE_POLL_S if done else POLL_S)
                    continue
                self.buffer = fetched
            if not self.playing:
                take, self.credit = min(self.credit, len(self.buffer)), 0
            elif self.speed is None:
                take = len(self.buffer)
            else:
                take, wait = self._due()
                if take == 0:
                    await self._sleep(wait)
                    continue
            batch, self.buffer = self.buffer[:take], self.buffer[take:]
            await self._deliver(batch)

    def _due(self) -> tuple[int, float]:
        """How many buffered steps are due now at this speed, else how long until the next one is."""
        assert self.speed is not None
        now = time.monotonic()
        if self.clock is None:
            return 1, 0.0
        last_ts, sent_at = self.clock
        take = 0
        for step in self.buffer:
            ts = step["ts_ns"] if step["ts_ns"] is not None else last_ts
            gap = min(max(ts - last_ts, 0), MAX_GAP_NS) / 1e9 / self.speed
            due = sent_at + gap
            if due > now + 0.002:
                return take, due - now if take == 0 else 0.0
            take += 1
            last_ts, sent_at = ts, due
        return take, 0.0

    async def _deliver(self, batch: list[dict[str, Any]]) -> None:
        self.frame += 1
        last = batch[-1]
        ts = last["ts_ns"] if last["ts_ns"] is not None else (self.clock[0] if self.clock else 0)
        self.clock = (ts, time.monotonic())
        self.cursor = last["n"]
        await self.send_json(
            {
                "type": "steps",
                "frame": self.frame,
                "from": batch[0]["n"],
                "to": last["n"],
                "steps": batch,
            }
        )
