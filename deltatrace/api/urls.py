"""The event-graph API under /api/ (ledger and replay add their own routes)."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import DefaultRouter

from deltatrace.api import views

# "/?": `POST /api/captures/<id>/events` works with or without the trailing slash (adapters).
router = DefaultRouter()
router.trailing_slash = "/?"
router.include_root_view = False
router.include_format_suffixes = False
router.register("incidents", views.IncidentViewSet, basename="api-incident")
router.register("captures", views.CaptureViewSet, basename="api-capture")

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "incidents/<int:incident_pk>/events/", views.EventList.as_view(), name="api-incident-events"
    ),
    path(
        "incidents/<int:incident_pk>/quarantine/",
        views.QuarantineList.as_view(),
        name="api-incident-quarantine",
    ),
    path(
        "incidents/<int:incident_pk>/graph/", views.GraphView.as_view(), name="api-incident-graph"
    ),
    path(
        "incidents/<int:incident_pk>/latency/",
        views.LatencyView.as_view(),
        name="api-incident-latency",
    ),
    path(
        "incidents/<int:incident_pk>/timeline/",
        views.TimelineView.as_view(),
        name="api-incident-timeline",
    ),
    path("events/<int:pk>/", views.EventDetail.as_view(), name="api-event-detail"),
    *router.urls,
]
