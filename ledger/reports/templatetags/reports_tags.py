from __future__ import annotations

from django import template
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from deltatrace.roles import can

register = template.Library()


@register.simple_tag
def can_report(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """Whether ``user`` may build and download report bundles (the role matrix's "report")."""
    return bool(user and user.is_authenticated and can(user, "report"))
