"""WebSocket routes of the replay app (wrapped in session auth and the origin check by deltatrace.asgi)."""

from django.urls import URLPattern, path

from replay.consumers import ReplayConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws/replays/<int:run_id>/", ReplayConsumer.as_asgi()),
]
