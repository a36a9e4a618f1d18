"""The live replay WebSocket through the real ASGI stack (session auth, origin check, routing)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from replay.models import ReplayRun, ReplayStep
from tests.replay_live.conftest import communicator, session_cookie

pytestmark = pytest.mark.asyncio


@pytest.fixture
def viewer_cookie(make_user: Any) -> bytes:
    return session_cookie(make_user("vera", "viewer"))


async def receive_until(comm: Any, pred: Any, timeout: float = 10) -> list[dict[str, Any]]:
    """Frames up to and including the first one ``pred`` accepts."""
    frames = []
    while True:
        frame = await comm.receive_json_from(timeout=timeout)
        frames.append(frame)
        if pred(frame):
            return frames


async def collect_steps(comm: Any, upto: int, timeout: float = 20) -> list[int]:
    seen: list[int] = []
    while not seen or seen[-1] < upto:
        frame = await comm.receive_json_from(timeout=timeout)
        if frame["type"] == "steps":
            ns = [s["n"] for s in frame["steps"]]
            assert (frame["from"], frame["to"]) == (ns[0], ns[-1])
            seen.extend(ns)
    return seen


async def test_an_anonymous_connection_is_refused(done_run: ReplayRun) -> None:
    comm = communicator(done_run.pk, None)
    connected, code = await comm.connect()
    assert not connected and code == 4403


async def test_a_user_without_a_role_is_refused(done_run: ReplayRun, make_user: Any) -> None:
    nobody = await sync_to_async(make_user)("nora")
    comm = communicator(done_run.pk, await sync_to_async(session_cookie)(nobody))
    connected, _ = await comm.connect()
    assert not connected


async def test_a_foreign_origin_is_refused(done_run: ReplayRun, viewer_cookie: bytes) -> None:
    comm = communicator(done_run.pk, viewer_cookie, origin=b"http://evil.example")
    connected, _ = await comm.connect()
    assert not connected


async def test_a_viewer_gets_every_step_in_order_then_resumes_without_gaps_or_duplicates(
    done_run: ReplayRun, viewer_cookie: bytes
) -> None:
    total = done_run.total_steps
    comm = communicator(done_run.pk, viewer_cookie)
    assert (await comm.connect())[0]
    first = await comm.receive_json_from()
    assert first["type"] == "status" and first["status"] == "done"
    await comm.send_json_to({"type": "hello", "last_step": 0})
    seen = await collect_steps(comm, 700)
    await comm.disconnect()
    cut = 700  # the tab dropped after step 700 (frames after it never arrived)
    seen = [n for n in seen if n <= cut]

    again = communicator(done_run.pk, viewer_cookie)
    assert (await again.connect())[0]
    await again.send_json_to({"type": "hello", "last_step": cut})
    seen += await collect_steps(again, total)
    await again.disconnect()
    assert seen == list(range(1, total + 1))


async def test_controls_move_only_this_viewers_cursor(
    done_run: ReplayRun, viewer_cookie: bytes
) -> None:
    comm = communicator(done_run.pk, viewer_cookie)
    other = communicator(done_run.pk, viewer_cookie)
    assert (await comm.connect())[0] and (await other.connect())[0]
    await comm.send_json_to({"type": "hello", "last_step": 0, "playing": False})
    await other.send_json_to({"type": "hello", "last_step": 0, "playing": False})
    await receive_until(comm, lambda f: f["type"] == "state")
    await receive_until(other, lambda f: f["type"] == "state")
    assert await comm.receive_nothing(0.3)  # paused: nothing arrives

    for _ in range(3):
        await comm.send_json_to({"type": "step", "by": 1})
    got = []
    while len(got) < 3:
        f = await comm.receive_json_from()
        if f["type"] == "steps":
            got += [s["n"] for s in f["steps"]]
    assert got == [1, 2, 3]

    await comm.send_json_to({"type": "step", "by": -1})
    seek = await receive_until(comm, lambda f: f["type"] == "seek")
    assert seek[-1]["cursor"] == 2 and seek[-1]["step"]["n"] == 2
    await comm.send_json_to({"type": "seek", "n": 250})
    seek = await receive_until(comm, lambda f: f["type"] == "seek")
    assert seek[-1]["step"]["n"] == 250
    await comm.send_json_to({"type": "step", "by": 1})
    f = await receive_until(comm, lambda f: f["type"] == "steps")
    assert [s["n"] for s in f[-1]["steps"]] == [251]

    # The other viewer never moved.
    assert await other.receive_nothing(0.2)
    await other.send_json_to({"type": "step", "by": 1})
    f = await receive_until(other, lambda f: f["type"] == "steps")
    assert [s["n"] for s in f[-1]["steps"]] == [1]
    await comm.disconnect()
    await other.disconnect()


async def test_paced_play_follows_recorded_time_and_speed_changes(
    done_run: ReplayRun, viewer_cookie: bytes
) -> None:
    comm = communicator(done_run.pk, viewer_cookie)
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "hello", "last_step": 0, "speed": 0.1})
    steps_slow = await steps_for(comm, 0.5)
    # At 0.1x, half a second of wall time covers at most ~50 ms of recorded time.
    ts = await sync_to_async(
        lambda: dict(ReplayStep.objects.filter(run=done_run).values_list("n", "ts_ns"))
    )()
    assert 0 < len(steps_slow) < done_run.total_steps // 4
    assert ts[steps_slow[-1]] - ts[1] <= 80_000_000
    await comm.send_json_to({"type": "speed", "value": "max"})
    steps_fast = await steps_for(comm, 1.0)
    assert steps_fast[-1] == done_run.total_steps
    assert steps_slow + steps_fast == list(range(1, len(steps_slow + steps_fast) + 1))
    await comm.send_json_to({"type": "speed", "value": 1000})
    err = await receive_until(comm, lambda f: f["type"] == "error")
    assert "speed" in err[-1]["message"]
    await comm.disconnect()


async def steps_for(comm: Any, seconds: float) -> list[int]:
    """Step numbers received during ``seconds`` of wall time."""
    out: list[int] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while (left := end - loop.time()) > 0:
        # (a receive that times out would cancel the application, so wait with receive_nothing)
        if await comm.receive_nothing(min(left, 0.02)):
            continue
        f = await comm.receive_json_from()
        if f["type"] == "steps":
            out += [s["n"] for s in f["steps"]]
    return out


async def test_a_bad_message_gets_an_error_and_the_connection_stays_usable(
    done_run: ReplayRun, viewer_cookie: bytes
) -> None:
    comm = communicator(done_run.pk, viewer_cookie)
    assert (await comm.connect())[0]
    await comm.receive_json_from()
    await comm.send_to(text_data="not json")
    assert (await comm.receive_json_from())["type"] == "error"
    await comm.send_json_to({"type": "play"})
    assert "hello" in (await comm.receive_json_from())["message"]
    await comm.send_json_to({"type": "hello", "last_step": -4})
    assert (await comm.receive_json_from())["type"] == "error"
    await comm.send_json_to({"type": "hello", "last_step": 0, "playing": False})
    assert (await receive_until(comm, lambda f: f["type"] == "state"))[-1]["cursor"] == 0
    await comm.disconnect()


async def test_steps_written_while_watching_arrive_by_polling_without_notifications(
    incident: Any, viewer_cookie: bytes
) -> None:
    """Embedded mode: the worker is another process, so no notification can reach this viewer."""
    from replay.tasks import execute

    run = await sync_to_async(ReplayRun.objects.create)(incident=incident, params={})
    comm = communicator(run.pk, viewer_cookie)
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "hello", "last_step": 0})

    import replay.tasks as tasks

    original = tasks.notify
    tasks.notify = lambda run_id, message: None  # the layer cannot reach us
    try:
        await sync_to_async(execute)(run.pk)
    finally:
        tasks.notify = original
    total = await sync_to_async(lambda: ReplayStep.objects.filter(run=run).count())()
    seen = await collect_steps(comm, total)
    assert seen == list(range(1, total + 1))
    frames = await receive_until(comm, lambda f: f["type"] == "status" and f["status"] == "done")
    assert frames[-1]["verdict"]["status"] == "identical"
    await comm.disconnect()


async def test_a_hundred_viewers_each_receive_every_step_in_order(
    done_run: ReplayRun, viewer_cookie: bytes
) -> None:
    total = done_run.total_steps
    comms = [communicator(done_run.pk, viewer_cookie) for _ in range(100)]
    # Generous timeouts: on the Redis layer a hundred consumers join and leave their group through
    # real round trips, which the 1-second default can miss on a loaded CI machine.
    for c in comms:
        assert (await c.connect(timeout=10))[0]
    await asyncio.gather(*(c.send_json_to({"type": "hello", "last_step": 0}) for c in comms))
    results = await asyncio.gather(*(collect_steps(c, total, timeout=60) for c in comms))
    for seen in results:
        assert seen == list(range(1, total + 1))
    await asyncio.gather(*(c.disconnect(timeout=30) for c in comms))
