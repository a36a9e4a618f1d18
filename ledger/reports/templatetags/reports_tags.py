from django import template

from deltatrace.roles import can

register = template.Library()


@register.simple_tag
def can_report(user) -> bool:  # type: ignore[no-untyped-def]
    """Whether ``user`` may build and download report bundles (the role matrix's "report")."""
    return bool(user and user.is_authenticated and can(user, "report"))
