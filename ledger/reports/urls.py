from django.urls import URLPattern, URLResolver, path

from ledger.reports import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("incidents/<int:pk>/reports/", views.incident_reports, name="incident-reports"),
    path("incidents/<int:pk>/reports/build/", views.build_report, name="incident-report-build"),
    path("reports/<str:report_id>/download/", views.download, name="report-download"),
]
