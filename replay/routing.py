"""WebSocket routes of the replay app (filled in by the live replay work)."""

from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
