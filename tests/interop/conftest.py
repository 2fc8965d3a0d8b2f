"""Interoperability tests: as the integration tests, each starts from the freshly migrated
database content and leaves it so."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _clean_database(engine, baseline):
    baseline.restore(engine)
    yield
    baseline.restore(engine)
