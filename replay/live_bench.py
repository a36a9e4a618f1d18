"""Live push figures for ``deltatrace bench replay``: steps/s to one viewer, and 100 viewers of one run.

Runs in a throwaway database (Django's test-database machinery: the configured database is never
touched) with a finished run of synthetic steps. Viewers are Channels ``WebsocketCommunicator``s
talking to the real consumer in this process (ASGI frames, no TCP socket), after the session/origin
middleware (their cost is per connection, not per step). The baseline, measured in the same run, is a
bare loop that reads the same steps from the database in the same blocks and JSON-encodes them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

TARGET_STEPS_PER_S = 20_000
VIEWERS = 100


def _seed(n_steps: int) -> tuple[Any, int]:
    from django.contrib.auth.models import Group, User

    from deltatrace.models import Incident
    from deltatrace.roles import VIEWER, ensure_roles
    from replay.models import ReplayRun, ReplayStep

    ensure_roles()
    user = User.objects.create_user("bench-viewer")
    user.groups.add(Group.objects.get(name=VIEWER))
    inc = Incident.objects.create(name="live-bench")
    run = ReplayRun.objects.create(
        incident=inc,
        status=ReplayRun.DONE,
        total_steps=n_steps,
        steps_written=n_steps,
        progress=1.0,
    )
    kinds = ("MDTick", "MDTick", "Signal", "PlanDelta", "Order", "RiskCheck", "ExecReport", "Fill")
    t0 = 1_767_225_600_000_000_000
    batch = []
    for n in range(1, n_steps + 1):
        kind = kinds[n % len(kinds)]
        batch.append(
            ReplayStep(
                run=run,
                n=n,
                ref=f"strat:{n}",
                kind=kind,
                host="strategy-1",
                lane="executor",
                ts_ns=t0 + n * 1000,
                recorded_digest="ab" * 32 if kind in ("Signal", "PlanDelta", "Order") else "",
                replayed_digest="ab" * 32 if kind in ("Signal", "PlanDelta", "Order") else "",
                match=True if kind in ("Signal", "PlanDelta", "Order") else None,
                summary={"keys": {"symbol": "ACME", "cl_ord_id": f"MO-{n:06d}"}},
            )
        )
        if len(batch) == 5000:
            ReplayStep.objects.bulk_create(batch)
            batch = []
    ReplayStep.objects.bulk_create(batch)
    return user, run.pk


def _app(user: Any) -> Callable[..., Awaitable[None]]:
    from channels.routing import URLRouter

    from replay.routing import websocket_urlpatterns

    inner = URLRouter(websocket_urlpatterns)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await inner({**scope, "user": user}, receive, send)

    return app


async def _watch(app: Any, run_id: int, total: int) -> tuple[float, bool]:
    """Seconds from hello to the last step, and whether every step arrived once, in order."""
    from channels.testing import WebsocketCommunicator

    comm = WebsocketCommunicator(app, f"/ws/replays/{run_id}/")
    connected, _ = await comm.connect(timeout=30)
    if not connected:
        raise RuntimeError("the bench viewer was refused")
    await comm.receive_from(timeout=30)  # status
    start = time.perf_counter()
    await comm.send_to(text_data='{"type":"hello","last_step":0}')
    expect, ok = 1, True
    while expect <= total:
        frame = orjson.loads(await comm.receive_from(timeout=60))
        if frame["type"] != "steps":
            continue
        for step in frame["steps"]:
            ok = ok and step["n"] == expect
            expect = step["n"] + 1
    elapsed = time.perf_counter() - start
    await comm.disconnect()
    return elapsed, ok


def _baseline(run_id: int, total: int) -> float:
    from replay.consumers import BLOCK
    from replay.models import step_dicts

    start = time.perf_counter()
    for after in range(0, total, BLOCK):
        orjson.dumps({"type": "steps", "steps": step_dicts(run_id, after, BLOCK)})
    return time.perf_counter() - start


def _run(coro: Awaitable[Any]) -> Any:
    """``asyncio.run`` with a fresh channel layer (an in-memory layer is bound to its event loop)."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    return asyncio.run(coro)  # type: ignore[arg-type]


def measure(quick: bool) -> dict[str, Any]:
    """The figures, in the current (already throwaway) database."""
    from replay import consumers

    one_n = 50_000 if quick else 200_000
    many_n = 2_000 if quick else 10_000
    repeats = 2 if quick else 3
    user, big = _seed(one_n)
    app = _app(user)

    singles = []
    for _ in range(repeats):
        consumers._blocks.clear()  # measure the database reads too, not only the shared cache
        singles.append(_run(_watch(app, big, one_n)))
    one_s = min(s for s, _ in singles)
    base_s = min(_baseline(big, one_n) for _ in range(repeats))

    small = _copy_run(big, many_n)

    async def crowd() -> list[tuple[float, bool]]:
        return await asyncio.gather(*(_watch(app, small, many_n) for _ in range(VIEWERS)))

    consumers._blocks.clear()
    start = time.perf_counter()
    results = _run(crowd())
    crowd_s = time.perf_counter() - start
    return {
        "live_steps": one_n,
        "live_steps_per_s": round(one_n / one_s),
        "live_baseline_read_encode_steps_per_s": round(one_n / base_s),
        "live_push_over_baseline": round(one_s / base_s, 3),
        "live_viewers": VIEWERS,
        "live_viewer_steps": many_n,
        "live_viewers_all_in_order": all(ok for _, ok in results),
        "live_viewers_total_steps_per_s": round(VIEWERS * many_n / crowd_s),
        "live_target_steps_per_s": TARGET_STEPS_PER_S,
    }


def _copy_run(source: int, n_steps: int) -> int:
    """A second finished run with the first ``n_steps`` steps of ``source``."""
    from replay.models import ReplayRun, ReplayStep

    src = ReplayRun.objects.get(pk=source)
    run = ReplayRun.objects.create(
        incident_id=src.incident_id,
        status=ReplayRun.DONE,
        total_steps=n_steps,
        steps_written=n_steps,
        progress=1.0,
    )
    fields = [f.name for f in ReplayStep._meta.concrete_fields if f.name not in ("id", "run")]
    rows = ReplayStep.objects.filter(run_id=source, n__lte=n_steps).order_by("n")
    copies = [ReplayStep(run_id=run.pk, **{f: getattr(s, f) for f in fields}) for s in rows]
    ReplayStep.objects.bulk_create(copies, batch_size=5000)
    return run.pk


def run(quick: bool) -> dict[str, Any]:
    """Figures for the live push part of ``deltatrace bench replay`` (see module docstring)."""
    import os

    from django.db import connection

    os.environ.setdefault(
        "DJANGO_ALLOW_ASYNC_UNSAFE", "true"
    )  # the seeding runs beside an event loop
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        return measure(quick)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
