"""Each scenario is run once per test session (seed 7) and its captures parsed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from adapters.testbed import SCENARIOS, run_scenario

Capture = dict[str, Any]  # {"header": dict, "events": list[dict]}


def load_capture(path: Path) -> Capture:
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    return {"header": lines[0], "events": lines[1:]}


@pytest.fixture(scope="session")
def scenario_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Capture]]:
    """scenario name -> capture key -> parsed capture."""
    runs: dict[str, dict[str, Capture]] = {}
    for name in SCENARIOS:
        out = tmp_path_factory.mktemp(name)
        manifest = run_scenario(name, 7, out)
        runs[name] = {f["capture"]: load_capture(out / f["path"]) for f in manifest["files"]}
    return runs
