"""A real browser signs in, opens an incident, sees the timeline drawn and an event's details."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from tests.api.factories import build_trading_incident

pytestmark = pytest.mark.browser


def test_a_compliance_officer_inspects_an_incident_in_the_browser(live_server, page, make_user):
    make_user("olivia", "compliance", password="browser-pass-1")
    incident = build_trading_incident(orders=12)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{live_server.url}/incidents/{incident.pk}/")
    assert "/login/" in page.url  # sent to sign in first
    page.fill("#id_username", "olivia")
    page.fill("#id_password", "browser-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/incidents/{incident.pk}/")

    # The timeline is drawn by plotly.js served from our own static files.
    page.wait_for_selector("#timeline .scatterlayer path.point", timeout=15_000)
    assert page.locator("#timeline .scatterlayer path.point").count() == 12 * 7
    lanes = page.locator("#timeline .ytick text").all_text_contents()
    assert "gateway / venue" in lanes and "md-feed / md" in lanes

    # Clicking a marker on the timeline loads that event into the detail panel.
    point = page.locator("#timeline .scatterlayer .trace").last.locator("path.point").first
    box = point.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#detail-panel .detail", timeout=10_000)

    # Clicking a Fill in the event table shows payload, readable FIX and its causes.
    page.select_option("select[name=kind]", "Fill")
    page.click("#events button[type=submit]")
    page.wait_for_selector("#event-table tbody tr")
    page.locator("#event-table tbody tr").first.click()
    panel = page.locator("#detail-panel")
    panel.locator("text=report_fill").first.wait_for(timeout=10_000)
    assert "8=FIX.4.4|35=8|" in panel.inner_text()
    assert "last_px" in panel.inner_text()
    # Following a parent link stays on the page and shows the ack.
    panel.locator("a.event-link").first.click()
    page.wait_for_function(
        "document.querySelector('#detail-panel .detail h2').innerText.includes('ExecReport')"
    )
    page.locator("#event-table tbody tr").first.click()
    page.wait_for_selector("#detail-panel .raw")

    shots = Path(settings.BASE_DIR) / "var" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "incident.png"), full_page=True)
    assert errors == []
