"""WebSocket routes of the event graph (wrapped in session auth and the origin check by deltatrace.asgi)."""

from django.urls import URLPattern, path

from deltatrace.consumers import IncidentConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws/incidents/<int:incident_id>/", IncidentConsumer.as_asgi()),
]
