"""The service under a PostgreSQL outage: quick 503s in the envelope, then recovery by itself.

This module runs its own PostgreSQL, stopped and restarted in the middle of the test.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.credentials import basic
from tests.support.postgres import migrated_restartable
from wazo_like_auth.app import create_app, services_of, shutdown


@pytest.fixture(scope='module')
def outage_db():
    yield from migrated_restartable()


@pytest.fixture
def outage_app(outage_db, make_config):
    config = make_config(db_uri=outage_db.uri)
    app = create_app(config)
    services_of(app).bootstrap.ensure_admin('admin', 'pw')
    yield app
    shutdown(app)


def _timed(client, method, path, **kwargs):
    started = time.monotonic()
    response = client.open(path, method=method, **kwargs)
    return response, time.monotonic() - started


def _answers_during_outage(app, token):
    """(status, seconds, body) of a mix of requests, from several threads at once."""
    calls = [('HEAD', f'/0.1/token/{token}', {}), ('GET', f'/0.1/token/{token}', {}),
             ('POST', '/0.1/token', {'json': {}, 'headers': basic('admin', 'pw')}),
             ('GET', '/0.1/sessions', {'headers': {'X-Auth-Token': token}})] * 5

    def call(spec):
        method, path, kwargs = spec
        response, seconds = _timed(app.test_client(), method, path, **kwargs)
        return response.status_code, seconds, response.get_json(silent=True)
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(call, calls))


def test_outage_answers_503_quickly_then_recovers_without_restart(outage_db, outage_app):
    client = outage_app.test_client()
    tokens = [client.post('/0.1/token', json={}, headers=basic('admin', 'pw'))
              .get_json()['data']['token'] for _ in range(3)]
    outage_db.stop()
    try:
        answers = _answers_during_outage(outage_app, tokens[0])
        assert {status for status, _, _ in answers} == {503}
        assert max(seconds for _, seconds, _ in answers) < 2.5
        bodies = [body for status, _, body in answers if body is not None]
        assert all(body['error_id'] == 'database-unavailable' for body in bodies)
        status = client.get('/0.1/status')
        assert status.status_code == 503
        assert status.get_json()['database']['status'] == 'fail'
    finally:
        outage_db.restart()
    assert client.get('/0.1/status').status_code == 200
    assert [client.head(f'/0.1/token/{t}').status_code for t in tokens] == [204] * 3
    assert client.post('/0.1/token', json={}, headers=basic('admin', 'pw')).status_code == 200


@pytest.mark.parametrize('link', [
    '/api/auth/0.1/users/password/reset/page?user_uuid=7a9b6f3e-2b1c-4d5e-8f90-123456789abc'
    '&token=' + 'A' * 43,
    '/api/auth/0.1/emails/7a9b6f3e-2b1c-4d5e-8f90-123456789abc/confirm?token=' + 'A' * 43,
], ids=['password reset page', 'e-mail confirmation link'])
def test_a_mailed_link_answers_a_readable_page_during_an_outage(outage_db, outage_app, link):
    client = outage_app.test_client()
    outage_db.stop()
    try:
        page = client.get(link)
        assert page.status_code == 503 and page.mimetype == 'text/html'
        assert '<h1>Temporarily unavailable</h1>' in page.text
        assert page.headers['X-Frame-Options'] == 'DENY'
    finally:
        outage_db.restart()
    page = client.get(link)
    assert page.status_code == 401 and '<h1>Link not valid</h1>' in page.text
