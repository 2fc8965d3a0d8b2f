"""Integration tests: every test starts from the freshly migrated database content, whatever
ran before it (end-to-end tests share the session's database), and leaves it so (the fixtures
themselves are the plugins of tests/support, registered in tests/conftest.py)."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _clean_database(engine, baseline):
    baseline.restore(engine)
    yield
    baseline.restore(engine)
