"""Replay API routes (under /api/)."""

from django.urls import URLPattern, URLResolver, path

from replay import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("replays/", api.ReplayListCreate.as_view(), name="api-replays"),
    path("replays/<int:pk>/", api.ReplayDetail.as_view(), name="api-replay-detail"),
    path("replays/<int:pk>/steps", api.ReplaySteps.as_view(), name="api-replay-steps"),
    path("replays/<int:pk>/cancel", api.ReplayCancel.as_view(), name="api-replay-cancel"),
    path("replays/<int:pk>/dag", api.ReplayDag.as_view(), name="api-replay-dag"),
]
