"""Pausing Python's cyclic garbage collector around hot paths that build large acyclic structures.

FIX log reads, ingest batches and replays make hundreds of thousands to millions of dicts, lists and
tuples that hold no reference cycles and are freed by reference counting alone. With the collector
on, each of its passes walks every one of them again, costing more than the work that made them.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused(promote: bool = True) -> Iterator[None]:
    """No cyclic GC inside; restored on exit (a nested pause leaves it to the outermost one).

    With ``promote``, the survivors are then moved straight to the oldest generation (``freeze`` +
    ``unfreeze``, each a constant-time list splice): otherwise the first young collection after
    re-enabling walks every one of them (~0.5 s per million events). They are still freed by
    reference counting and seen by full collections. Code that may leave garbage cycles behind
    (the ORM, a PDF library) passes ``promote=False``: that first collection then frees them,
    where promoted they would wait for the next full one."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            if promote:
                gc.freeze()
                gc.unfreeze()
            gc.enable()
