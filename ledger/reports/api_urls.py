from django.urls import URLPattern, URLResolver, path

from ledger.reports import api

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "incidents/<int:incident_pk>/reports/",
        api.IncidentReports.as_view(),
        name="api-incident-reports",
    ),
    path("reports/<str:report_id>/", api.ReportDetail.as_view(), name="api-report-detail"),
    path(
        "reports/<str:report_id>/download", api.ReportDownload.as_view(), name="api-report-download"
    ),
]
