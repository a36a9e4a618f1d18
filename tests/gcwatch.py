"""Watching Python's cyclic collector from a test: which collections run over a piece of work."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collections_during() -> Iterator[list[int]]:
    """For each collection the cyclic GC starts inside the block: how many tracked objects were
    allocated since the previous one (what a young-generation collection has to traverse).

    Starts from a full collection, so nothing pending from before the block is counted."""
    gc.collect()
    seen: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            seen.append(gc.get_count()[0])

    gc.callbacks.append(note)
    try:
        yield seen
    finally:
        gc.callbacks.remove(note)
