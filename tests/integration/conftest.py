"""Integration tests: every test starts from the freshly migrated database content (the
fixtures themselves are the plugins of tests/support, registered in tests/conftest.py)."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _clean_database(engine, baseline):
    yield
    baseline.restore(engine)
