"""Ledger storage: entries, perfect-subtree hashes, signed checkpoints, signing keys.

Entries, nodes and checkpoints are append-only in the database itself (triggers from migration 0002
reject UPDATE and DELETE). On SQLite the triggers ask the SQL function ``deltatrace_ledger_writable()``,
registered on every Django connection; other SQLite clients lack the function, so their writes fail.
It says yes only inside ``maintenance()`` or under Django's ``flush`` command, the deliberate
whole-database wipe that test cases run after each transactional test: on PostgreSQL that command
TRUNCATEs, which row triggers do not see either, so both backends behave alike.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from django.db import models
from django.db.backends.signals import connection_created

LEVEL_SHIFT = 1 << 48  # node key = level * 2**48 + index: one integer primary key per node

_maintenance = threading.local()


@contextmanager
def maintenance() -> Iterator[None]:
    """Allow UPDATE/DELETE on ledger tables in this thread (SQLite): for flushing test databases."""
    _maintenance.on = True
    try:
        yield
    finally:
        _maintenance.on = False


_FLUSH_COMMAND = "django/core/management/commands/flush.py"


def _writable() -> int:
    if getattr(_maintenance, "on", False):
        return 1
    # Called only when a ledger row is about to change (rare), so walking the stack is cheap.
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.replace("\\", "/").endswith(_FLUSH_COMMAND):
            return 1
        frame = frame.f_back
    return 0


def _register_sqlite_guard(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function("deltatrace_ledger_writable", 0, _writable)


connection_created.connect(_register_sqlite_guard, dispatch_uid="ledger-sqlite-guard")


def node_key(level: int, index: int) -> int:
    return level * LEVEL_SHIFT + index


class LedgerEntry(models.Model):
    """One log entry: ``canonical`` is its exact RFC 8785 text, the bytes the leaf hash covers."""

    index = models.BigIntegerField(primary_key=True)
    type = models.CharField(max_length=40, db_index=True, help_text="copied from the entry")
    canonical = models.TextField()

    class Meta:
        ordering = ["index"]
        verbose_name_plural = "ledger entries"

    def __str__(self) -> str:
        return f"#{self.index} {self.type}"

    def as_dict(self) -> dict[str, Any]:
        import orjson

        value: dict[str, Any] = orjson.loads(self.canonical)
        return value


class LedgerNode(models.Model):
    """The hash of a perfect subtree (level, index); level 0 are the leaf hashes."""

    key = models.BigIntegerField(primary_key=True)
    hash = models.BinaryField(max_length=32)

    def __str__(self) -> str:
        level, index = divmod(self.key, LEVEL_SHIFT)
        return f"node ({level}, {index})"


class Checkpoint(models.Model):
    """A signed C2SP checkpoint note over the tree of ``tree_size`` entries."""

    tree_size = models.BigIntegerField(db_index=True)
    root = models.BinaryField(max_length=32)
    note = models.TextField()
    key_id = models.CharField(max_length=8)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-tree_size", "-id"]
        get_latest_by = ["tree_size", "id"]

    def __str__(self) -> str:
        return f"checkpoint {self.tree_size}"


class SigningKey(models.Model):
    """A server checkpoint key, current or retired; retired keys stay published."""

    key_id = models.CharField(max_length=8, unique=True, help_text="hex C2SP key id")
    name = models.CharField(max_length=200)
    public_key = models.BinaryField(max_length=32)
    source = models.CharField(max_length=10, default="file")
    created = models.DateTimeField(auto_now_add=True)
    retired = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return f"{self.name}+{self.key_id}"
