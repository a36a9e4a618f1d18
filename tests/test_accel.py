"""The compiled cores (mypyc) behave exactly as their Python sources: same bytes, same quarantine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from deltatrace import accel

ROOT = Path(__file__).resolve().parents[1]

# Prints a digest of everything the compiled cores produce: every scenario's capture files, and a
# FIX log (valid traffic in three versions plus every malformed class) parsed and normalised.
PROBE = r"""
import hashlib, json, os, sys, tempfile
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deltatrace.settings")
import django
django.setup()
from deltatrace import accel
from adapters.testbed import SCENARIOS, run_scenario
from adapters.fix.bench import as_log, corpus
from adapters.fix.log import read_fix_log

out = {"status": accel.status(), "scenarios": {}}
with tempfile.TemporaryDirectory() as tmp:
    for name in SCENARIOS:
        m = run_scenario(name, 11, os.path.join(tmp, name), ticks=300)
        out["scenarios"][name] = [f["sha256"] for f in m["files"]]
bad = (b"8=FIX.4.4\x019=5\x0135=0\x0110=000\x01"  # wrong body length and checksum
       b"garbage between messages\n8=FIX.4.4\x019=12\x0135=D\x01x=1\x0110=123\x01"  # non-numeric tag
       b"8=FIX.4.4\x019=40\x0135=8\x01")  # truncated
log = read_fix_log(as_log(corpus(3000)) + bad, "probe.log", workers=0)
blob = json.dumps([log.header, log.events, log.quarantined, log.messages], sort_keys=True, default=str)
out["fix"] = hashlib.sha256(blob.encode()).hexdigest()
out["fix_quarantined"] = len(log.quarantined)
print(json.dumps(out))
"""


def _probe(pure: bool, tmp_path: Path) -> dict[str, object]:
    env = {**os.environ, accel.PURE_ENV: "1" if pure else "0"}
    env["DELTATRACE_HOME"] = str(tmp_path / ("pure" if pure else "compiled"))
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_compiled_and_python_cores_produce_identical_output(tmp_path: Path) -> None:
    compiled = _probe(False, tmp_path)
    pure = _probe(True, tmp_path)
    assert set(pure["status"].values()) == {"python"}  # type: ignore[attr-defined]
    assert compiled["scenarios"] == pure["scenarios"]
    assert len(compiled["scenarios"]) >= 6  # type: ignore[arg-type]
    assert compiled["fix"] == pure["fix"]
    assert compiled["fix_quarantined"] == pure["fix_quarantined"] and pure["fix_quarantined"]


def _can_compile() -> bool:
    headers = os.path.join(sysconfig.get_paths()["include"], "Python.h")
    return bool(shutil.which("cc") or shutil.which("gcc")) and os.path.exists(headers)


@pytest.mark.skipif(accel.pure_requested(), reason="DELTATRACE_PURE_PYTHON is set")
@pytest.mark.skipif(not _can_compile(), reason="no C compiler or Python headers: Python sources")
def test_the_installed_cores_are_compiled() -> None:
    # The README's install compiles them; a pure build would quietly be several times slower.
    assert set(accel.status().values()) == {"compiled"}, accel.status()


def test_an_edited_source_is_stale_until_rebuilt(tmp_path: Path) -> None:
    source = Path(accel.source_path("adapters.testbed.sim", str(tmp_path)))
    source.parent.mkdir(parents=True)
    source.write_text("# edited\n")
    built = source.with_name("sim.cpython-311-x86_64-linux-gnu.so")
    built.write_bytes(b"")
    os.utime(built, (1_000_000, 1_000_000))
    assert accel.stale_sources(str(tmp_path)) == ["adapters.testbed.sim"]
    os.utime(built, None)  # rebuilt after the edit
    assert accel.stale_sources(str(tmp_path)) == []


def test_an_edited_c_helper_is_stale_until_rebuilt(tmp_path: Path) -> None:
    (name,) = accel.NATIVE
    source = Path(accel.source_path(name, str(tmp_path))).with_suffix(".c")
    source.parent.mkdir(parents=True)
    source.write_text("/* edited */\n")
    built = source.with_name(source.stem + ".cpython-311-x86_64-linux-gnu.so")
    built.write_bytes(b"")
    os.utime(built, (1_000_000, 1_000_000))
    assert accel.stale_sources(str(tmp_path)) == [name]
    os.utime(built, None)
    assert accel.stale_sources(str(tmp_path)) == []
