"""A live adapter appends to an incident while an officer has its page open: the page says so."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.browser
T0 = 1_767_225_600_000_000_000


def tick(seq: int) -> dict[str, Any]:
    return {"seq": seq, "kind": "MDTick", "ts_ns": T0 + seq * 1000, "keys": {"symbol": "ACME"}}


def test_an_open_incident_page_offers_the_events_a_live_session_appends(
    asgi_server: str, page: Any, make_user: Any
) -> None:
    from deltatrace.ingest import append_events, get_or_create_capture, get_or_create_incident

    user = make_user("olivia", "compliance")
    incident = get_or_create_incident("live-1")
    header = {"format": "deltatrace.capture", "version": 1, "capture": "fix-a", "host": "fix-a"}
    capture = get_or_create_capture(incident, header)
    append_events(capture, [tick(1), tick(2)])
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": asgi_server,
            }
        ]
    )
    page.goto(f"{asgi_server}/incidents/{incident.pk}/")
    assert page.locator("#live-notice").is_hidden()

    # The drop-copy session (here: this process; daphne polls the database) appends a batch.
    capture.refresh_from_db()
    append_events(capture, [tick(3), tick(4), tick(5), {"seq": 6, "kind": "Bogus"}])
    notice = page.locator("#live-notice")
    notice.wait_for(state="visible", timeout=10_000)
    assert notice.inner_text().startswith(
        "3 new events, 1 newly quarantined since this page loaded (5 in all)."
    )
    page.click("#live-notice-refresh")
    page.wait_for_selector("#incident-head[data-event-count='5']", timeout=10_000)
    assert page.locator("#event-table tr[data-event]").count() == 5
    assert page.locator("#live-notice").is_hidden()
    assert errors == []
