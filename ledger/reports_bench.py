"""`deltatrace bench report`: build and verify a signed bundle of a 100k-event incident.

Runs in a throwaway database and data directory (never the user's). Targets from the issue: build in
at most 10 s, verify in at most 2 s. The same-run baseline is the bare cost of the bundle's biggest
job, reading the events and writing them as JSONL with their SHA-256, so the ratios say how much the
rest (replay verdict, latency, privacy policy, proofs, PDF, signing, ZIP) adds on this machine.
"""

from __future__ import annotations

import gc
import hashlib
import tempfile
from pathlib import Path
from typing import Any

from deltatrace.benchmarks import Suite, Target, best_of

EVENTS = 100_000
EVENTS_PER_TICK = 2.65  # replay.bench's synthetic incident: events per market-data tick


def run(quick: bool) -> Suite:
    from django.test import override_settings
    from django.test.utils import setup_databases, teardown_databases

    suite = Suite("report")
    with tempfile.TemporaryDirectory() as tmp, override_settings(DATA_DIR=Path(tmp)):
        # aliases maps alias -> serialize, the shape DiscoverRunner.get_databases() passes.
        old = setup_databases(verbosity=0, interactive=False, aliases={"default": True})
        try:
            _measure(suite, Path(tmp), repeats=1 if quick else 3)
        finally:
            from ledger.models import maintenance

            with maintenance():
                teardown_databases(old, verbosity=0)
    return suite


def _measure(suite: Suite, tmp: Path, repeats: int) -> None:
    import orjson

    from ledger import keys
    from ledger.reports import collect
    from ledger.reports import verify as v
    from ledger.reports.bundle import build
    from replay.bench import store_incident, synth_incident

    incident = store_incident(synth_incident(int(EVENTS / EVENTS_PER_TICK), name="bench"))
    gc.collect()
    n = incident.event_count
    built: list[Any] = []

    def baseline() -> None:
        opt = orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE
        blob = b"".join(orjson.dumps(e, option=opt) for e in collect.load_events(incident))
        hashlib.sha256(blob).hexdigest()

    def do_build() -> None:
        built[:] = [build(incident, "regulator", "bench")]

    base_s = best_of(repeats, baseline)
    build_s = best_of(repeats, do_build)
    pinned = v.parse_key(keys.server_key().vkey)
    path = built[0].path
    results: list[v.Result] = []
    verify_s = best_of(max(3, repeats), lambda: results.append(v.verify_bundle(path, pinned)))
    ok = all(r.ok for r in results)
    suite.figures.update(
        {
            "events": n,
            "bundle_bytes": path.stat().st_size,
            "events_jsonl_bytes": len(built[0].files[v.EVENTS]),
            "build_s": round(build_s, 3),
            "verify_s": round(verify_s, 3),
            "baseline_jsonl_s": round(base_s, 3),
            "build_over_baseline": round(build_s / base_s, 2),
            "verified": "yes" if ok else "NO",
            "replay_verdict": orjson.loads(built[0].files["report.json"])["replay"]["status"],
        }
    )
    suite.targets.append(Target("build_100k_s", build_s, 10.0, "<="))
    suite.targets.append(Target("verify_100k_s", verify_s, 2.0, "<="))
    suite.targets.append(Target("bundle_verifies", float(ok), 1.0, ">="))
