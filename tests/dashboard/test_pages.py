"""The dashboard pages as a signed-in user sees them."""

from __future__ import annotations

import pytest
from django.test import Client

from deltatrace.models import Capture, Event, Incident

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/", "/incidents/1/", "/incidents/1/quarantine/", "/incidents/1/events/1/"]
)
def test_every_page_redirects_anonymous_users_to_login(path):
    resp = Client().get(path)
    assert resp.status_code == 302 and resp["Location"].startswith("/login/?next=")


def test_login_page_signs_a_user_in(make_user):
    make_user("carol", "viewer", password="a-good-password")
    client = Client()
    page = client.get("/login/")
    assert page.status_code == 200 and b"Sign in" in page.content
    bad = client.post("/login/", {"username": "carol", "password": "wrong"})
    assert "didn't match" in bad.content.decode()
    ok = client.post("/login/", {"username": "carol", "password": "a-good-password"})
    assert ok.status_code == 302 and ok["Location"] == "/"


def test_incident_list_shows_counts_status_and_searches(browser_as, incident):
    client = browser_as("viewer")
    page = client.get("/").content.decode()
    assert "Incident flash-dip" in page and ">35<" in page and "Open" in page
    assert "2026-01-01 00:00:00.000000000Z" in page
    assert "Incident flash-dip" in client.get("/?search=flash").content.decode()
    none = client.get("/?search=zzz").content.decode()
    assert "No incidents match" in none


def test_incident_list_has_an_empty_state(browser_as, db):
    page = browser_as("viewer").get("/").content.decode()
    assert "No incidents yet" in page and "deltatrace ingest" in page


def test_incident_page_renders_timeline_events_and_latency(browser_as, incident):
    page = browser_as("viewer").get(f"/incidents/{incident.pk}/").content.decode()
    assert "/static/plotly/plotly.min.js" in page and "cdn" not in page.lower()
    assert 'id="timeline"' in page and "Plotly.newPlot" in page
    assert page.count('data-event="') == 35  # every event in the table (one page)
    assert "tick-to-trade" in page and "8.000 µs" in page  # latency table, µs resolution
    assert "later issue" in page or "replay_controls" not in page


def test_a_large_incident_page_does_not_wait_for_its_latency_card(
    browser_as, incident, monkeypatch
):
    from deltatrace import views

    monkeypatch.setattr(views, "INLINE_LATENCY_EVENTS", 10)  # the fixture incident counts as large
    client = browser_as("viewer")
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert f'data-src="/incidents/{incident.pk}/latency/"' in page
    assert "Computing hop latencies over 35 events" in page and "tick-to-trade" not in page
    card = client.get(f"/incidents/{incident.pk}/latency/").content.decode()
    assert "tick-to-trade" in card and "8.000 µs" in card
    # Now cached: the next page view shows it at once.
    again = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "tick-to-trade" in again and "data-src" not in again.split('id="latency"')[1][:40]


def test_the_latency_card_needs_a_login(client, incident):
    resp = client.get(f"/incidents/{incident.pk}/latency/")
    assert resp.status_code == 302 and "/login/" in resp["Location"]


def test_incident_page_filters_the_event_table(browser_as, incident):
    client = browser_as("viewer")
    fills = client.get(f"/incidents/{incident.pk}/?kind=Fill").content.decode()
    assert fills.count("<tr data-event=") == 5
    by_key = client.get(f"/incidents/{incident.pk}/?key=S1-0003").content.decode()
    assert by_key.count("<tr data-event=") == 4
    none = client.get(f"/incidents/{incident.pk}/?key=nope").content.decode()
    assert "No events match these filters" in none


def test_event_detail_shows_payload_readable_fix_links_and_latency(browser_as, incident):
    fill = Event.objects.get(incident_id=incident.pk, kind="Fill", cl_ord_id="S1-0001")
    page = (
        browser_as("compliance")
        .get(f"/incidents/{incident.pk}/events/{fill.pk}/?partial=1")
        .content.decode()
    )
    assert "8=FIX.4.4|35=8|11=S1-0001|" in page  # SOH shown as |
    assert "&quot;last_px&quot;: &quot;101.25&quot;" in page
    assert "report_fill" in page and "ExecReport" in page
    order = Event.objects.get(incident_id=incident.pk, kind="Order", cl_ord_id="S1-0001")
    page = browser_as("viewer").get(f"/incidents/{incident.pk}/events/{order.pk}/").content.decode()
    assert "order → ack" in page and "12.000 µs" in page
    assert "<html" in page  # the full page, not the fragment


def test_raw_fix_is_hidden_from_viewers(browser_as, incident):
    fill = Event.objects.filter(incident_id=incident.pk, kind="Fill").first()
    page = browser_as("viewer").get(f"/incidents/{incident.pk}/events/{fill.pk}/?partial=1")
    assert "8=FIX" not in page.content.decode()
    assert "compliance officers and admins only" in page.content.decode()


def test_quarantine_tab_lists_bad_lines_with_reasons(browser_as, incident):
    from deltatrace.ingest import append_events

    append_events(
        Capture.objects.get(incident=incident, key="feed"), [{"seq": 42, "kind": "MDTick"}]
    )
    page = browser_as("viewer").get(f"/incidents/{incident.pk}/quarantine/").content.decode()
    assert "feed" in page and "ts_ns" in page
    empty = Incident.objects.create(name="clean")
    assert (
        "Nothing quarantined"
        in browser_as("approver").get(f"/incidents/{empty.pk}/quarantine/").content.decode()
    )


def test_an_event_of_another_incident_is_a_404(browser_as, incident):
    other = Incident.objects.create(name="other")
    ev = Event.objects.filter(incident_id=incident.pk).first()
    assert browser_as("viewer").get(f"/incidents/{other.pk}/events/{ev.pk}/").status_code == 404


def test_admin_lists_every_event_graph_model(make_user, incident):
    admin = make_user("root")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = Client()
    client.force_login(admin)
    for model in ("incident", "capture", "event", "edge", "quarantinedline", "capturetoken"):
        assert client.get(f"/admin/deltatrace/{model}/").status_code == 200, model


def test_an_incident_without_events_shows_empty_states(browser_as, db):
    empty = Incident.objects.create(name="empty-one", title="Nothing yet")
    page = browser_as("viewer").get(f"/incidents/{empty.pk}/").content.decode()
    assert "No events in this incident" in page and "No events yet." in page
    assert "No order paths" in page


def test_a_user_without_a_role_cannot_open_incident_pages(make_user, incident):
    from django.test import Client

    client = Client()
    client.force_login(make_user("norole"))
    assert client.get("/").status_code == 403
    assert client.get(f"/incidents/{incident.pk}/").status_code == 403


def test_the_trace_export_buttons_download_valid_files(browser_as, incident):
    import json

    viewer, officer = browser_as("viewer"), browser_as("compliance")
    page = viewer.get(f"/incidents/{incident.pk}/")
    assert f"/incidents/{incident.pk}/export/chrome-trace/" in page.content.decode()
    resp = viewer.get(f"/incidents/{incident.pk}/export/chrome-trace/")
    assert resp.status_code == 200
    assert "attachment" in resp["Content-Disposition"]
    trace = json.loads(resp.content)
    assert trace["otherData"]["privacy_policy"]["audience"] == "public"
    assert any(e["ph"] == "X" for e in trace["traceEvents"])
    otlp = json.loads(officer.get(f"/incidents/{incident.pk}/export/otlp/").content)
    assert otlp["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert viewer.get(f"/incidents/{incident.pk}/export/pdf/").status_code == 404
