"""Reports through the API and the dashboard, with the role matrix's "report" capability."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from django.test import Client

from ledger.models import LedgerEntry
from ledger.reports import verify as v
from ledger.reports.models import Report


def client_for(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_a_compliance_officer_builds_a_report_through_the_api(
    incident: Any, make_user: Any
) -> None:
    c = client_for(make_user("olivia", "compliance"))
    r = c.post(f"/api/incidents/{incident.pk}/reports/", {"audience": "internal"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["audience"] == "internal" and body["built_by"] == "olivia"
    assert LedgerEntry.objects.get(index=body["ledger_index"]).type == "report.issued"
    listed = c.get(f"/api/incidents/{incident.pk}/reports/").json()
    assert [x["report_id"] for x in listed] == [body["report_id"]]
    zipped = c.get(body["download"])
    assert zipped.status_code == 200 and zipped["Content-Type"] == "application/zip"
    files = v.read_zip(io.BytesIO(b"".join(zipped.streaming_content)))
    assert v.verify_files(files).ok


def test_a_viewer_may_list_reports_but_not_build_or_download(built: Any, make_user: Any) -> None:
    c = client_for(make_user("vic", "viewer"))
    assert c.get(f"/api/incidents/{built.report.incident_id}/reports/").status_code == 200
    assert c.post(f"/api/incidents/{built.report.incident_id}/reports/").status_code == 403
    assert c.get(f"/api/reports/{built.report.report_id}/download").status_code == 403
    assert c.get(f"/reports/{built.report.report_id}/download/").status_code == 403
    assert c.post(f"/incidents/{built.report.incident_id}/reports/build/").status_code == 403
    assert Report.objects.count() == 1  # nothing was built


def test_anonymous_users_get_nothing(built: Any) -> None:
    c = Client()
    assert c.get(f"/api/incidents/{built.report.incident_id}/reports/").status_code in (401, 403)
    page = c.get(f"/incidents/{built.report.incident_id}/reports/")
    assert page.status_code == 302 and "/login/" in page["Location"]


def test_a_bad_audience_is_rejected_and_nothing_is_logged(incident: Any, make_user: Any) -> None:
    c = client_for(make_user("olivia", "compliance"))
    before = LedgerEntry.objects.count()
    r = c.post(f"/api/incidents/{incident.pk}/reports/", {"audience": "press"})
    assert r.status_code == 400 and "audience" in r.json()
    page = c.post(f"/incidents/{incident.pk}/reports/build/", {"audience": "press"})
    assert page.status_code == 400 and b"Unknown audience" in page.content
    assert LedgerEntry.objects.count() == before


def test_the_reports_page_lists_who_built_what_and_offers_the_button(
    built: Any, make_user: Any
) -> None:
    c = client_for(make_user("olivia", "compliance"))
    html = c.get(f"/incidents/{built.report.incident_id}/reports/").content.decode()
    assert "Export audit report" in html and "olivia" in html
    assert f"#{built.report.ledger_index}" in html
    viewer = client_for(make_user("vic", "viewer"))
    html = viewer.get(f"/incidents/{built.report.incident_id}/reports/").content.decode()
    assert "Export audit report" not in html and "may not build reports" in html


def test_the_button_posts_and_returns_a_verifiable_zip(incident: Any, make_user: Any) -> None:
    c = client_for(make_user("olivia", "compliance"))
    r = c.post(f"/incidents/{incident.pk}/reports/build/", {"audience": "regulator"})
    assert r.status_code == 200
    assert "attachment" in r["Content-Disposition"] and "flash-dip" in r["Content-Disposition"]
    blob = b"".join(r.streaming_content)
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        assert "report.pdf" in zf.namelist()
    assert v.verify_files(v.read_zip(io.BytesIO(blob))).ok
    assert Report.objects.get().built_by == "olivia"
