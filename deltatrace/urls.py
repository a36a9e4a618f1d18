"""URL map: pages at the top, the API under /api/, each app's routes in its own urls module."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("deltatrace.api.urls")),
    path("api/", include("ledger.api_urls")),
    path("api/", include("replay.api_urls")),
    path("api/", include("ledger.approvals.api_urls")),
    path("", include("ledger.approvals.urls")),
    path("api/", include("ledger.reports.api_urls")),
    path("", include("ledger.reports.urls")),
    path("", include("deltatrace.page_urls")),
]
