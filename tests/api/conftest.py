from __future__ import annotations

import itertools

import pytest
from rest_framework.test import APIClient

from deltatrace.models import Incident
from tests.api.factories import build_trading_incident


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):  # type: ignore[no-untyped-def]
    # The production hasher costs ~0.5 s per user; the role matrix makes many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def incident(db) -> Incident:  # type: ignore[no-untyped-def]
    return build_trading_incident()


@pytest.fixture
def client_as(make_user):  # type: ignore[no-untyped-def]
    """An API client logged in (session) as a new user with the given roles."""

    made = itertools.count(1)

    def make(*roles: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(make_user(f"u{next(made)}-{'-'.join(roles) or 'none'}", *roles))
        return client

    return make
