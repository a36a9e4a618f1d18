"""Database side of a live FIX session: sequence persistence and the drop-copy capture.

`DatabaseStore` implements `adapters.fix.acceptor.SessionStore` on `FixSessionState`; the
`DropCopyRecorder` turns each in-sequence application message into capture events through the
`FixNormalizer` and `deltatrace.ingest.append_events`. Both are called from the event loop through
`asgiref.sync.sync_to_async` (one dedicated thread, so one database connection).
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.db import transaction

from adapters.fix.session import SessionConfig
from adapters.fix.wire import Frame
from adapters.models import FixOutboundMessage, FixSessionState

log = logging.getLogger(__name__)


async def run_blocking(fn: Any, *args: Any) -> Any:
    """The acceptor's `blocking` hook for database work."""
    return await sync_to_async(fn, thread_sensitive=True)(*args)


class DatabaseStore:
    """Sequence numbers and sent application messages of one session, in the database."""

    def __init__(self, config: SessionConfig, incident: str = "") -> None:
        self.key = {
            "begin_string": config.begin_string,
            "sender_comp_id": config.sender_comp_id,
            "target_comp_id": config.target_comp_id,
        }
        self.incident = incident

    def state(self) -> FixSessionState:
        state, _ = FixSessionState.objects.get_or_create(
            **self.key, defaults={"incident": self.incident}
        )
        return state

    def load(self) -> tuple[int, int]:
        state = self.state()
        if self.incident and state.incident != self.incident:
            FixSessionState.objects.filter(pk=state.pk).update(incident=self.incident)
        return state.next_sender_seq, state.next_target_seq

    def save(
        self, next_sender_seq: int, next_target_seq: int, sent: list[tuple[int, str, bytes]]
    ) -> None:
        with transaction.atomic():
            state = self.state()
            FixSessionState.objects.filter(pk=state.pk).update(
                next_sender_seq=next_sender_seq, next_target_seq=next_target_seq
            )
            FixOutboundMessage.objects.bulk_create(
                [FixOutboundMessage(session=state, seq=s, msg_type=t, raw=r) for s, t, r in sent],
                update_conflicts=True,
                unique_fields=["session", "seq"],
                update_fields=["msg_type", "raw"],
            )

    def outbound(self, begin: int, end: int) -> dict[int, bytes]:
        rows = FixOutboundMessage.objects.filter(
            session=self.state(), seq__gte=begin, seq__lte=end
        ).values_list("seq", "raw")
        return {seq: bytes(raw) for seq, raw in rows}

    def reset(self) -> None:
        with transaction.atomic():
            state = self.state()
            FixOutboundMessage.objects.filter(session=state).delete()
            FixSessionState.objects.filter(pk=state.pk).update(next_sender_seq=1, next_target_seq=1)


def capture_key(config: SessionConfig) -> str:
    return f"fix-{config.sender_comp_id}-{config.target_comp_id}"


class DropCopyRecorder:
    """The drop-copy application: every application message becomes capture events on arrival."""

    def __init__(self, config: SessionConfig, incident: str) -> None:
        self.config = config
        self.incident_name = incident
        self.key = capture_key(config)
        self.host = config.target_comp_id  # the firm's engine that produced the drop copy
        self.accepted = 0
        self.quarantined = 0
        self._capture: Any = None
        self._normalizer: Any = None

    def open(self) -> None:
        """Find or create the incident and capture; rebuild the normalizer after a restart."""
        from adapters.fix.mapping import FixNormalizer
        from deltatrace.ingest import get_or_create_capture, get_or_create_incident
        from deltatrace.models import Event

        incident = get_or_create_incident(self.incident_name)
        header = {
            "format": "deltatrace.capture",
            "version": 1,
            "capture": self.key,
            "host": self.host,
            "adapter": "fix-session",
            "meta": {
                "begin_string": self.config.begin_string,
                "sender_comp_id": self.config.sender_comp_id,
                "target_comp_id": self.config.target_comp_id,
            },
        }
        self._capture = get_or_create_capture(incident, header)
        normalizer = FixNormalizer(self.key, self.host)
        # Feed back what was captured before so seq continues gap-free and order chains still link.
        previous: bytes | None = None
        last_seq = 0
        rows = Event.objects.filter(capture=self._capture).order_by("seq").values_list("seq", "raw")
        for seq, raw in rows.iterator():
            last_seq = seq
            data = (raw or "").encode()
            if data and data != previous:
                frame = _fields(data)
                if frame:
                    normalizer.normalize(frame, data)
            previous = data
        normalizer.seq = max(normalizer.seq, last_seq)
        self._normalizer = normalizer

    def record(
        self, message: Frame, recv_ts_ns: int | None, direction: str | None = None
    ) -> dict[str, Any]:
        from deltatrace.ingest import append_events
        from deltatrace.models import Capture

        if self._normalizer is None:
            self.open()
        events = self._normalizer.normalize(message.fields, message.raw, recv_ts_ns, direction)
        capture = Capture.objects.select_related("incident").get(pk=self._capture.pk)
        result: dict[str, Any] = append_events(capture, events)
        self.accepted += result["accepted"]
        self.quarantined += result["quarantined"]
        if result["quarantined"]:
            log.warning("drop-copy message quarantined by ingest: %s", result)
        return result

    async def on_message(self, message: Frame, recv_ts_ns: int) -> list[tuple[str, Any]]:
        await run_blocking(self.record, message, recv_ts_ns)
        return []

    async def on_session_message(self, message: Frame, ts_ns: int, direction: str) -> None:
        # An outbound message was not received: its time is the SendingTime it carries.
        await run_blocking(self.record, message, ts_ns if direction == "in" else None, direction)


def _fields(raw: bytes) -> list[tuple[int, bytes]]:
    pairs: list[tuple[int, bytes]] = []
    for part in raw.split(b"\x01")[:-1]:
        tag, _, value = part.partition(b"=")
        if tag.isdigit():
            pairs.append((int(tag), value))
    return pairs
