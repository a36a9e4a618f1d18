"""A compliance officer clicks "Export audit report" in the dashboard, downloads the ZIP, and it verifies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.models import maintenance

pytestmark = [pytest.mark.browser]


@pytest.fixture
def flushable() -> Iterator[None]:
    """The live server's database is flushed afterwards; ledger tables refuse DELETE otherwise."""
    with maintenance():
        yield


def test_an_officer_exports_an_audit_report_and_it_verifies_offline(
    flushable: None,
    live_server: Any,
    page: Any,
    make_user: Any,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from deltatrace.ingest import register_capture
    from deltatrace.models import Capture
    from ledger import keys
    from ledger.reports import verify as v
    from ledger.reports.models import Report
    from tests.api.factories import build_trading_incident

    monkeypatch.delenv("DELTATRACE_LEDGER_KEY", raising=False)
    settings.DATA_DIR = tmp_path
    make_user("olivia", "compliance", password="browser-pass-1")
    incident = build_trading_incident("browser-dip", orders=4)
    for cap in Capture.objects.filter(incident=incident):
        register_capture(cap, "tests")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{live_server.url}/incidents/{incident.pk}/reports/")
    page.fill("#id_username", "olivia")
    page.fill("#id_password", "browser-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/incidents/{incident.pk}/reports/")
    assert "No reports issued" in page.inner_text("body")

    with page.expect_download(timeout=30_000) as info:
        page.get_by_role("button", name="Export audit report").click()
    download = info.value
    assert download.suggested_filename.startswith("deltatrace-report-browser-dip")
    saved = tmp_path / "downloaded.zip"
    download.save_as(saved)

    res = v.verify_bundle(saved, v.parse_key(keys.server_key().vkey))
    assert res.ok, res.failures
    report = Report.objects.get(incident=incident)
    assert report.built_by == "olivia"

    # The page now lists the report with who built it.
    page.reload()
    row = page.locator("#report-table tbody tr").first
    assert "olivia" in row.inner_text() and f"#{report.ledger_index}" in row.inner_text()
    assert errors == []
