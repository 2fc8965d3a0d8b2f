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


def pytest_collection_modifyitems(items):
    """tests/packaging first: its modules keep one pytest-xdist worker busy for minutes (make
    test), which then run beside the other modules rather than after them all."""
    items.sort(key=lambda item: not item.nodeid.startswith('tests/packaging/'))
