"""Secrets kept as small files in the data directory: created once, atomically, mode 0600.

Several processes (daphne, the replay worker, CLI commands) start at the same moment on a fresh
data directory, so "create if missing" must be race-free: the content is written under a private
temporary name and hard-linked into place. A reader therefore never sees a half-written file, and
when two processes race, exactly one file wins and both use it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path


def write_new(path: Path, text: str) -> None:
    """Create ``path`` (0600) holding ``text``; raise FileExistsError rather than overwrite it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_or_create(path: Path, make: Callable[[], str]) -> str:
    """The file's text, after creating it from ``make()`` if missing (whoever creates it first wins)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            write_new(path, make())
    return path.read_text()
