"""Dashboard pages (login required on each view)."""

from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, path

from deltatrace import views

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="deltatrace/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.incident_list, name="incident-list"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident-detail"),
    path("incidents/<int:pk>/latency/", views.incident_latency, name="incident-latency-card"),
    path("incidents/<int:pk>/quarantine/", views.quarantine, name="incident-quarantine-page"),
    path("incidents/<int:pk>/export/<str:fmt>/", views.incident_export, name="incident-export"),
    path(
        "incidents/<int:pk>/events/<int:event_pk>/",
        views.event_detail,
        name="event-detail-page",
    ),
]
