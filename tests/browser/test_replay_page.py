"""A real browser starts a replay, steps it, and watches the timeline cursor and the DAG move.

daphne runs in its own process against the file SQLite test database and the worker runs in this
one: the embedded layout, where the in-memory channel layer cannot carry notifications between the
two, so the page gets its steps through the consumer's database polling.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from deltatrace.models import Incident

pytestmark = pytest.mark.browser
ROOT = Path(settings.BASE_DIR)


def demo_incident() -> Incident:
    from adapters.testbed import run_scenario
    from deltatrace.ingest import ingest_paths

    with tempfile.TemporaryDirectory(prefix="dt-replay-") as tmp:
        run_scenario("partition-burst", 7, Path(tmp))
        ingest_paths(sorted(str(p) for p in Path(tmp).glob("*.jsonl")), "partition-burst")
    Incident.objects.filter(name="partition-burst").update(
        title="Strategy–gateway partition during an order burst", severity="high"
    )
    return Incident.objects.get(name="partition-burst")


def cursor_x(page: Any) -> float | None:
    return page.evaluate(
        """() => {
          const s = (document.getElementById('timeline').layout.shapes || [])
            .find((sh) => sh.name === 'replay-cursor');
          return s ? s.x0 : null;
        }"""
    )


def test_a_compliance_officer_steps_through_a_replay(
    asgi_server: str, page: Any, make_user: Any
) -> None:
    from django.test import Client

    from replay.models import ReplayRun, ReplayStep

    user = make_user("olivia", "compliance")
    incident = demo_incident()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # Signed in (the sign-in form itself is covered by the incident page test).
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": asgi_server}]
    )
    page.goto(f"{asgi_server}/incidents/{incident.pk}/")
    page.wait_for_function("!!(document.getElementById('timeline') || {}).layout", timeout=15_000)

    # Start a what-if replay from the page; the background worker (here: this process) runs it.
    page.fill("#replay-sets", "threshold_bps=3")
    page.click("#replay-start-btn")
    page.wait_for_selector("#replay-run-label:has-text('run #')", timeout=10_000)
    run = ReplayRun.objects.get(incident=incident)
    call_command("db_worker", "--batch", "--queue-name", "*", "--no-startup-delay", verbosity=0)
    run.refresh_from_db()
    assert run.status == "done", run.error
    assert run.params["sets"] == {"threshold_bps": 3} and run.verdict["status"] == "diverged"
    page.wait_for_selector("#replay-status:has-text('done')", timeout=15_000)
    page.wait_for_selector("#replay-verdict:not([hidden])")

    # Arrow keys step the viewer's own cursor: the timeline line and the DAG follow.
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("document.getElementById('replay').dataset.cursor === '3'")
    page.wait_for_selector("#dag svg .cursor-label:has-text('#3')", timeout=10_000)
    x3 = cursor_x(page)
    assert x3 is not None
    assert page.locator("#dag svg circle.node").count() > 10

    # Seek to the first diverged step (the what-if changed it): recorded vs replayed side by side, the cursor moves on.
    bad = ReplayStep.objects.filter(run=run, match=False).order_by("n").first()
    assert bad is not None
    page.evaluate(
        "n => { const s = document.getElementById('replay-seek'); s.value = n - 1;"
        " s.dispatchEvent(new Event('change')); }",
        bad.n,
    )
    page.wait_for_function(f"document.getElementById('replay').dataset.cursor === '{bad.n - 1}'")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"document.getElementById('replay').dataset.cursor === '{bad.n}'")
    page.wait_for_selector(f"#dag svg .cursor-label:has-text('#{bad.n}')", timeout=10_000)
    assert cursor_x(page) != x3
    assert not page.locator("#replay-divergence").is_hidden()
    assert page.locator("#dag svg circle.node.mismatch").count() >= 1

    # Clicking a node shows its details and highlights its ancestry in the window.
    page.locator(f"#dag svg circle.node[data-n='{bad.n}']").click()
    page.wait_for_selector("#detail-panel .detail", timeout=10_000)
    assert page.locator("#dag svg path.edge.hl").count() >= 1
    assert page.locator("#dag svg circle.node.dim").count() >= 1

    # Play at 10x for a moment: the cursor advances by itself; space pauses.
    page.keyboard.press(" ")
    page.wait_for_function(
        f"Number(document.getElementById('replay').dataset.cursor) > {bad.n + 2}", timeout=15_000
    )
    page.keyboard.press(" ")
    page.wait_for_selector("#replay-play:has-text('Play')")

    # For the README: back at the divergence, its ancestry highlighted.
    page.evaluate(
        "n => { const s = document.getElementById('replay-seek'); s.value = n;"
        " s.dispatchEvent(new Event('change')); }",
        bad.n,
    )
    page.wait_for_function(f"document.getElementById('replay').dataset.cursor === '{bad.n}'")
    page.wait_for_selector(f"#dag svg .cursor-label:has-text('#{bad.n}')", timeout=10_000)
    page.locator(f"#dag svg circle.node[data-n='{bad.n}']").click()
    page.wait_for_timeout(600)

    # The README's picture: written under var/ (set DELTATRACE_SCREENSHOTS=docs to refresh docs/).
    shots = ROOT / os.environ.get("DELTATRACE_SCREENSHOTS", "var/screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    bottom = page.evaluate(
        "() => { const r = document.getElementById('dag-card').getBoundingClientRect();"
        " return r.bottom + window.scrollY + 12; }"
    )
    page.screenshot(
        path=str(shots / "screenshot-replay.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": 1500, "height": bottom},
    )
    assert errors == []
