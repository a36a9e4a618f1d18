"""Compiles the pure cores listed in ``deltatrace/accel.py`` with mypyc, and its few hand-written C
helpers (``NATIVE``); everything else is in pyproject.toml. ``DELTATRACE_PURE_PYTHON=1`` builds a pure-Python package instead. Without a C
compiler or the Python headers the extensions are skipped (``optional``) and the same modules run
from their Python sources, several times slower; ``deltatrace bench`` says which ran."""

import os
import runpy

from setuptools import Extension, setup

ext_modules = []
accel = runpy.run_path(os.path.join("deltatrace", "accel.py"))
if not accel["pure_requested"]():
    from mypyc.build import mypycify

    sources = [accel["source_path"](name, ".") for name in accel["COMPILED"]]
    # --config-file "": type-check these modules with the flags below, not the project's mypy
    # settings (whose Django plugin needs Django installed in the build environment).
    ext_modules = mypycify(
        ["--config-file", "", "--ignore-missing-imports", "--follow-imports=silent", *sources],
        opt_level="3",
        group_name="deltatrace_cores",
    )
    ext_modules += [
        Extension(name, [accel["source_path"](name, ".")[:-3] + ".c"]) for name in accel["NATIVE"]
    ]
    for ext in ext_modules:
        ext.optional = True  # no compiler: install anyway, run the Python sources

setup(ext_modules=ext_modules)
