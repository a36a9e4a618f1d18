"""Fixtures for the exchange sandbox tests."""

from __future__ import annotations

import pytest

from adapters.exchange import MatchingEngine


@pytest.fixture
def engine() -> MatchingEngine:
    return MatchingEngine("XSIM")
