"""Shared fixtures. Each area keeps its own fixtures in tests/<area>/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from django.contrib.auth.models import Group, User


@pytest.fixture
def make_user(db):  # type: ignore[no-untyped-def]
    """A user in the given role groups (viewer, compliance, approver, admin)."""

    def make(username: str = "alice", *roles: str, password: str = "pw-for-tests-1") -> User:
        from deltatrace.roles import ensure_roles

        ensure_roles()
        user = User.objects.create_user(username=username, password=password)
        for role in roles:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Each test starts with an empty cache: keys such as an incident's latency hold its pk, which
    the next test's database reuses."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
async def close_thread_connections() -> AsyncIterator[None]:
    """Async tests reach the database from asgiref's sync thread, whose connection would outlive
    the test and keep PostgreSQL from dropping the test database at the end of the session."""
    yield
    from asgiref.sync import sync_to_async
    from django.db import connections

    await sync_to_async(connections.close_all, thread_sensitive=True)()
