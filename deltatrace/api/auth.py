"""Token authentication for scripts and adapters: `Authorization: Bearer <key>` (or `Token <key>`).

Two kinds of bearer key: a user's DRF token (acts as that user, with the user's roles) and a
`CaptureToken` (may only append events to its one capture; it is no user at all).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from deltatrace.models import CaptureToken


def _bearer_key(request: Request) -> str | None:
    """The key of `Authorization: Bearer <key>` or `Token <key>`; malformed values fail loudly."""
    parts = request.META.get("HTTP_AUTHORIZATION", "").split()
    if not parts or parts[0].lower() not in ("bearer", "token"):
        return None
    if len(parts) != 2:
        raise AuthenticationFailed("Invalid Authorization header: expected 'Bearer <key>'.")
    return parts[1]


class BearerTokenAuthentication(TokenAuthentication):
    """DRF's user tokens, accepted with the standard Bearer keyword as well as DRF's own `Token`."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        # Read the header ourselves: rewriting META does not reach `request.headers`, which Django
        # caches on first use, so DRF's parser would never see a rewritten `Token` header.
        key = _bearer_key(request)
        if key is None:
            return None
        return self.authenticate_credentials(key)


class CaptureTokenAuthentication(BaseAuthentication):
    """A per-capture bearer key. Returns (AnonymousUser, CaptureToken); None lets the next class try."""

    def authenticate(self, request: Request) -> tuple[Any, CaptureToken] | None:
        key = _bearer_key(request)
        if not key:
            return None
        token = CaptureToken.objects.select_related("capture").filter(key=key).first()
        if token is None:
            return None
        return AnonymousUser(), token

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "deltatrace.api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "a user's API token"}


class CaptureTokenScheme(OpenApiAuthenticationExtension):
    target_class = "deltatrace.api.auth.CaptureTokenAuthentication"
    name = "captureToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "a per-capture ingest token"}
