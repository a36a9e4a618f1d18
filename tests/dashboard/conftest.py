from __future__ import annotations

import pytest
from django.test import Client

from deltatrace.models import Incident
from tests.api.factories import build_trading_incident


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def incident(db) -> Incident:  # type: ignore[no-untyped-def]
    return build_trading_incident()


@pytest.fixture
def browser_as(make_user):  # type: ignore[no-untyped-def]
    def make(role: str) -> Client:
        client = Client()
        client.force_login(make_user(f"page-{role}", role))
        return client

    return make
