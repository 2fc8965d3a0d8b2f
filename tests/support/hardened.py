"""The served process of the HTTP hardening tests (tests/e2e/test_hardening_http.py), also used
by the TLS, served-faults and served-fuzz tests: two granian workers, a bootstrap admin, debug
logging, fast bcrypt."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from tests.support.served import free_port, serve_command, service, write_config

ADMIN = ('hardening-admin', 'hardening-password-1234')


def settings(db_uri: str, state: Path, port: int, **overrides) -> dict:
    """``rest_api`` in ``overrides`` is merged with the defaults here (listen, port)."""
    return {
        'db_uri': db_uri,
        'rest_api': {'listen': '127.0.0.1', 'port': port, 'workers': 2,
                     **overrides.pop('rest_api', {})},
        'state_dir': str(state),
        'bootstrap_user_on_startup': True,
        'bootstrap_user_username': ADMIN[0],
        'bootstrap_user_password': ADMIN[1],
        'password_hash_rounds': 4,
        'token_secret': 'e2e-hardening-secret-' + 'h' * 32,
        'log_level': 'debug',
        **overrides,
    }


@contextlib.contextmanager
def served(directory: Path, db_uri: str, **overrides) -> Iterator:
    port = free_port()
    config = write_config(directory / 'config.yml',
                          settings(db_uri, directory / 'state', port, **overrides))
    with service(serve_command('--config', config), port, directory / 'logs') as svc:
        svc.wait_until_up()
        yield svc
        svc.terminate()
