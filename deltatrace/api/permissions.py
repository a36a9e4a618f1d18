"""DRF permission classes over the role matrix in `deltatrace.roles`."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from deltatrace.models import CaptureToken
from deltatrace.roles import can


def _user_can(request: Request, capability: str) -> bool:
    return bool(request.user and request.user.is_authenticated and can(request.user, capability))


class ViewOrEdit(BasePermission):
    """Read needs `view`; writes need `edit` (compliance, admin)."""

    message = "Your role may view incidents but not change them."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return _user_can(request, "view")
        return _user_can(request, "edit")


def capability(name: str) -> type[BasePermission]:
    """A permission class requiring one capability of the role matrix."""

    class HasCapability(BasePermission):
        message = f"Your role lacks the '{name}' capability."

        def has_permission(self, request: Request, view: Any) -> bool:
            return _user_can(request, name)

    HasCapability.__name__ = f"Can{name.title()}"
    return HasCapability


class CanAppendToCapture(BasePermission):
    """A capture token writes its own capture only; a user needs the `ingest` capability."""

    message = "This token or role may not write events into this capture."

    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.auth, CaptureToken):
            return str(request.auth.capture_id) == str(view.kwargs.get("pk"))
        return _user_can(request, "ingest")
