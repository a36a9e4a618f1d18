"""Live updates of an incident page: who to tell, and telling them once the data is committed.

The database stays the source of truth. A notification only wakes the viewers' connections early;
they also poll, because the writer may be another process (``deltatrace fix-acceptor``, a replay
worker) whose in-memory channel layer cannot reach the server's.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)


def incident_group(incident_id: int) -> str:
    return f"incident.{incident_id}"


def group_send(group: str, message: dict[str, Any]) -> None:
    """Best effort: a notification is never worth failing the write that caused it."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:  # a thread running an event loop cannot block on the layer; the viewers poll
        log.debug("notification to %s skipped inside an event loop", group)
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        log.warning("could not notify %s", group, exc_info=True)


def incident_changed_on_commit(incident_id: int) -> None:
    """Wake the incident's viewers once the current transaction commits (now, outside one)."""
    transaction.on_commit(
        partial(group_send, incident_group(incident_id), {"type": "incident.changed"})
    )
