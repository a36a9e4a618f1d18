"""Which pure cores are compiled to C with mypyc, and whether this installation runs them compiled.

The hot deterministic cores (the testbed's event loop, the matching engine and risk gateway, FIX
framing and normalisation) are ordinary typed Python. ``setup.py`` compiles the modules listed here
with mypyc (part of mypy) when the package is built or installed; the compiled module sits beside its
source and Python imports it first. Output is byte-identical either way (the tests check that), so
compiling is purely a speed-up, and ``DELTATRACE_PURE_PYTHON=1`` at build time skips it (no C
compiler needed) or at run time ignores the compiled modules (to compare, or to debug in Python).

This module imports nothing from the project: ``setup.py`` reads ``COMPILED`` before anything is
installed.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

COMPILED: tuple[str, ...] = (
    "adapters.exchange.book",
    "adapters.exchange.engine",
    "adapters.exchange.reports",
    "adapters.exchange.risk",
    "adapters.exchange.validate",
    "adapters.fix.bulk",
    "adapters.fix.dictionary",
    "adapters.fix.fields",
    "adapters.fix.framing",
    "adapters.fix.lines",
    "adapters.fix.links",
    "adapters.fix.mapping",
    "adapters.fix.plans",
    "adapters.fix.timestamps",
    "adapters.strategies.base",
    "adapters.strategies.execution",
    "adapters.strategies.market_maker",
    "adapters.strategies.momentum",
    "adapters.testbed.clock",
    "adapters.testbed.hosts",
    "adapters.testbed.network",
    "adapters.testbed.sim",
    "adapters.testbed.venue",
    "adapters.testbed.world",
    "adapters.testbed.writer",
    "deltatrace.segments",
    "replay.compare",
    "replay.engine",
    "replay.load",
    "replay.merge",
)

# Hand-written C helpers, each with a Python reference that runs where it is not built or the
# Python sources are asked for (the importer falls back on ImportError). Their sources are ``.c``.
NATIVE: tuple[str, ...] = ("adapters.fix._splitc",)

PURE_ENV = "DELTATRACE_PURE_PYTHON"


def pure_requested() -> bool:
    return os.environ.get(PURE_ENV, "") not in ("", "0")


def source_path(module: str, root: str) -> str:
    return os.path.join(root, *module.split(".")) + ".py"


class _SourceFirst(importlib.abc.MetaPathFinder):
    """Imports the listed modules from their ``.py`` source even where a compiled one exists.
    All or none: compiled modules share one native library and expect each other compiled."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname in NATIVE:
            raise ImportError(f"{fullname}: running the Python sources", name=fullname)
        if fullname not in COMPILED or not path:
            return None
        leaf = fullname.rpartition(".")[2] + ".py"
        for entry in path:
            candidate = os.path.join(entry, leaf)
            if os.path.exists(candidate):
                return importlib.util.spec_from_file_location(fullname, candidate)
        return None


# A source this much newer than its compiled module was edited after the build (installing a
# wheel writes both within this margin).
_EDIT_MARGIN_S = 2.0


def stale_sources(root: str) -> list[str]:
    """Modules under ``root`` whose source changed after they were compiled."""
    stale = []
    listings: dict[str, list[str]] = {}  # folder -> its files, listed once
    for name in COMPILED + NATIVE:
        folder, leaf = os.path.split(source_path(name, root))
        prefix = leaf[:-3] + "."  # "sim." matches sim.cpython-311-x86_64-linux-gnu.so
        if name in NATIVE:
            leaf = prefix + "c"  # a C helper's source
        try:
            files = listings.get(folder)
            if files is None:
                files = listings[folder] = os.listdir(folder)
            built = [
                os.path.getmtime(os.path.join(folder, f))
                for f in files
                if f.startswith(prefix) and f.endswith((".so", ".pyd"))
            ]
            if built and os.path.getmtime(os.path.join(folder, leaf)) > max(built) + _EDIT_MARGIN_S:
                stale.append(name)
        except OSError:
            continue
    return stale


_checked = False  # the sources were compared with the compiled modules in this process


def honour_pure_python(package_root: str) -> None:
    """Called by each package that holds compiled modules, before any of them is imported: runs the
    Python sources when asked to, or when a compiled module is older than its edited source (an
    editable install not rebuilt yet), so stale compiled code never runs. Checked once per process
    (every package holding compiled modules shares the one project root)."""
    global _checked
    if _checked:
        return
    _checked = True
    if not pure_requested():
        stale = stale_sources(os.path.dirname(package_root))
        if not stale:
            return
        warnings.warn(
            f"DeltaTrace: {', '.join(stale)} changed since it was compiled; running the Python "
            "sources (slower) until you rebuild with `pip install -e .`",
            RuntimeWarning,
            stacklevel=2,
        )
    sys.meta_path.insert(0, _SourceFirst())


def status() -> dict[str, str]:
    """Module -> "compiled" or "python": how this process runs each of them (a C helper
    "python": its Python reference runs instead)."""
    out: dict[str, str] = {}
    for name in COMPILED:
        module = sys.modules.get(name) or importlib.import_module(name)
        path = getattr(module, "__file__", "") or ""
        out[name] = "python" if path.endswith(".py") else "compiled"
    for name in NATIVE:
        try:
            importlib.import_module(name)
        except ImportError:
            out[name] = "python"
        else:
            out[name] = "compiled"
    return out


def summary() -> str:
    """One line for benchmark output: how the measured code ran."""
    states = status()
    compiled = sum(1 for n in COMPILED if states[n] == "compiled")
    native = sum(1 for n in NATIVE if states[n] == "compiled")
    return (
        f"{compiled}/{len(COMPILED)} core modules compiled (mypyc), "
        f"{native}/{len(NATIVE)} C helpers built"
    )
