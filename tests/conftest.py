"""Fixtures shared by every test layer."""
from __future__ import annotations

import pytest

from wazo_like_auth.config import load_config

# The shared fixtures (tests/support): plugins, so no test module imports a conftest.
pytest_plugins = ['tests.support.database', 'tests.support.fixtures', 'tests.support.admin_client',
                  'tests.support.oauth_live', 'tests.support.group_fixtures',
                  'tests.support.security_review', 'tests.support.oidc',
                  'tests.support.rabbitmq', 'tests.support.bus_events']


@pytest.fixture
def make_config(tmp_path):
    """A validated config for tests: fast bcrypt, state in a temporary directory, and no
    system configuration file read."""
    empty = tmp_path / 'config.yml'
    empty.write_text('{}\n')

    def make(**flags):
        defaults = {'state_dir': str(tmp_path / 'state'), 'password_hash_rounds': 4,
                    'token_secret': 'test-secret-' + 'x' * 40}
        return load_config(config_file=str(empty), flags={**defaults, **flags}, environ={})
    return make


FIRST = ('tests/packaging/test_install.py', 'tests/packaging/')


def pytest_collection_modifyitems(items):
    """The longest first: the install test (one class per Debian release, minutes each), then
    the rest of tests/packaging, then the others in their order. make test's pytest-xdist
    workers take them in this order (--no-loadscope-reorder; by default it would start with
    the modules holding the most tests, and so end with the install test alone)."""
    def rank(item) -> int:
        return next((i for i, prefix in enumerate(FIRST) if item.nodeid.startswith(prefix)),
                    len(FIRST))
    items.sort(key=rank)
