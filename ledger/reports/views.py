"""Dashboard pages: the reports of an incident, the "Export audit report" button, downloads."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from deltatrace.models import Incident
from deltatrace.roles import can
from ledger.reports.bundle import AUDIENCES, build
from ledger.reports.models import Report

FORBIDDEN = "Your role may not build or download audit reports (needs the 'report' capability)."


def _zip_response(report: Report) -> FileResponse:
    if not report.path.is_file():
        raise Http404(f"the bundle file of report {report.report_id} is missing")
    return FileResponse(
        report.path.open("rb"),
        as_attachment=True,
        filename=report.download_name,
        content_type="application/zip",
    )


@login_required
def incident_reports(request: HttpRequest, pk: int) -> HttpResponse:
    if not can(request.user, "view"):
        raise PermissionDenied("Your role may not view incidents.")
    incident = get_object_or_404(Incident, pk=pk)
    reports = Report.objects.filter(incident=incident)
    return render(
        request,
        "reports/incident_reports.html",
        {"incident": incident, "reports": reports, "may_report": can(request.user, "report")},
    )


@login_required
@require_POST
def build_report(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Build, sign and log a bundle, and hand it straight back as a download."""
    if not can(request.user, "report"):
        raise PermissionDenied(FORBIDDEN)
    incident = get_object_or_404(Incident, pk=pk)
    audience = request.POST.get("audience") or "regulator"
    if audience not in AUDIENCES:
        return render(
            request,
            "reports/incident_reports.html",
            {
                "incident": incident,
                "reports": Report.objects.filter(incident=incident),
                "may_report": True,
                "error": f"Unknown audience {audience!r}; choose one of {', '.join(AUDIENCES)}.",
            },
            status=400,
        )
    built = build(incident, audience, request.user.get_username())
    return _zip_response(built.report)


@login_required
def download(request: HttpRequest, report_id: str) -> HttpResponseBase:
    if not can(request.user, "report"):
        raise PermissionDenied(FORBIDDEN)
    return _zip_response(get_object_or_404(Report, report_id=report_id))
