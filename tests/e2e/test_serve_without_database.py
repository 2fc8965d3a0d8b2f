"""`serve` whose database cannot be reached yet (the Debian package installed before PostgreSQL
runs): the service starts and answers 503 until a restart finds the database."""
from __future__ import annotations

import contextlib
import time

import pytest
import requests

from tests.support.served import (START_TIMEOUT, free_port, log_in, serve_command, service,
                                  write_config)

pytestmark = pytest.mark.e2e

ADMIN = ('no-db-admin', 'no-db-password-1234')


def _wait_for_answer(svc, path: str) -> requests.Response:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if svc.process.poll() is not None:
            pytest.fail(f'service exited with {svc.process.returncode}:\n{svc.output()}')
        with contextlib.suppress(requests.RequestException):
            return requests.get(svc.url(path), timeout=1)
        time.sleep(0.2)
    pytest.fail(f'service not answering after {START_TIMEOUT}s:\n{svc.output()}')


def test_service_answers_503_until_its_database_exists_then_serves_after_restart(
        tmp_path, db_uri, engine):
    closed = free_port()  # nothing listens there: the database server is not running
    port = free_port()
    settings = {
        'db_uri': f'postgresql://wazo_like_auth:secret@127.0.0.1:{closed}/wazo_like_auth',
        'rest_api': {'listen': '127.0.0.1', 'port': port, 'workers': 1},
        'state_dir': str(tmp_path / 'state'),
        'bootstrap_user_on_startup': True,
        'bootstrap_user_username': ADMIN[0],
        'bootstrap_user_password': ADMIN[1],
        'password_hash_rounds': 4,
        'token_secret': 'e2e-token-secret-' + 'y' * 32,
    }
    args = serve_command('--config', write_config(tmp_path / 'config.yml', settings))
    with service(args, port, tmp_path / 'down') as svc:
        status = _wait_for_answer(svc, '/0.1/status')
        assert status.status_code == 503
        assert status.json()['database'] == {'status': 'fail'}
        login = requests.post(svc.url('/0.1/token'), auth=ADMIN, json={}, timeout=10)
        assert login.status_code == 503
        assert login.json()['error_id'] == 'database-unavailable'
        assert 'Database unreachable' in svc.output()
        assert 'secret@' not in svc.output()
        assert svc.terminate() == 0

    write_config(tmp_path / 'config.yml', {**settings, 'db_uri': db_uri})
    with service(args, port, tmp_path / 'up') as svc:
        svc.wait_until_up()
        assert log_in(svc, ADMIN)['token']
        assert svc.terminate() == 0
