"""Roles are Django groups with permissions; this module is the single definition of the matrix.

| role       | view incidents | ingest / edit | run replays | propose triggers | approve | admin |
| viewer     | yes            | no            | no          | no               | no      | no    |
| compliance | yes            | yes           | yes         | yes              | no      | no    |
| approver   | yes            | no            | no          | no               | yes     | no    |
| admin      | yes            | yes           | yes         | yes              | yes     | yes   |
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

View = Callable[..., HttpResponse]

VIEWER, COMPLIANCE, APPROVER, ADMIN = "viewer", "compliance", "approver", "admin"
ROLES = (VIEWER, COMPLIANCE, APPROVER, ADMIN)

# capability -> roles that have it
CAPABILITIES: dict[str, frozenset[str]] = {
    "view": frozenset(ROLES),
    "ingest": frozenset({COMPLIANCE, ADMIN}),
    "edit": frozenset({COMPLIANCE, ADMIN}),
    "replay": frozenset({COMPLIANCE, ADMIN}),
    "propose": frozenset({COMPLIANCE, ADMIN}),
    "approve": frozenset({APPROVER, ADMIN}),
    "view_raw": frozenset({COMPLIANCE, ADMIN}),
    "report": frozenset({COMPLIANCE, ADMIN}),
}


def ensure_roles() -> None:
    for name in ROLES:
        Group.objects.get_or_create(name=name)


def roles_of(user: AbstractBaseUser | AnonymousUser) -> set[str]:
    if not user.is_authenticated:
        return set()
    if getattr(user, "is_superuser", False):
        return set(ROLES)
    cached = getattr(user, "_deltatrace_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))  # type: ignore[attr-defined]
        user._deltatrace_roles = cached  # type: ignore[attr-defined]
    return cached


def can(user: AbstractBaseUser | AnonymousUser, capability: str) -> bool:
    return bool(roles_of(user) & CAPABILITIES[capability])


def role_required(capability: str) -> Callable[[View], View]:
    """Page decorator: login first, then the capability; a logged-in user without it gets 403."""

    def decorate(view: View) -> View:
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not can(request.user, capability):
                raise PermissionDenied(f"your role does not allow this ({capability})")
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
