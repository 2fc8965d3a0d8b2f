"""Cached token checks answered before Flask (http/check_fast_path.py): the same answers as the
full path, and every case the cache alone cannot decide handed to the full path."""
from __future__ import annotations

import json
import uuid

import pytest

from tests.support.apps import running_app
from tests.support.credentials import basic
from tests.support.fast_path import Behind, ask
from wazo_like_auth.http.check_fast_path import CheckFastPath
from wazo_like_auth.services.views import token_view

SCOPE = 'confd.users.me.read'


@pytest.fixture
def token(services, make_user, login):
    make_user(acl=['confd.#'])
    return login(body={'expiration': 600}).get_json()['data']['token']


@pytest.fixture
def fast(services):
    behind = Behind()
    return CheckFastPath(behind, services.token_checker), behind


def _no_request_id(headers):
    return {k: v for k, v in headers.items() if k != 'X-Request-Id'}


@pytest.mark.parametrize('method', ['head', 'get'])
@pytest.mark.parametrize('prefix', ['/0.1', '/api/auth/0.1'])
@pytest.mark.parametrize('query', [f'?scope={SCOPE}', ''])
@pytest.mark.parametrize('case', [str.lower, str.upper])
def test_cached_answer_is_the_full_paths_answer(client, token, method, prefix, query, case):
    path = f'{prefix}/token/{case(token)}{query}'
    full = getattr(client, method)(path)  # not cached yet: Flask answers
    cached = getattr(client, method)(path, headers={'X-Request-Id': 'abc-123'})
    assert (cached.status_code, cached.get_data()) == (full.status_code, full.get_data())
    assert _no_request_id(cached.headers) == _no_request_id(full.headers)
    assert cached.headers['X-Request-Id'] == 'abc-123'
    assert full.headers['X-Request-Id'] != cached.headers['X-Request-Id']


def test_cached_get_body_is_the_tokens_view_and_keeps_no_token(services, client, token):
    client.get(f'/0.1/token/{token}')  # cached, and the body's fixed part kept with it
    bodies = [client.get(f'/0.1/token/{case(token)}').get_data() for case in (str, str.upper)]
    value, row = services.token_checker.peek(token, None)
    assert bodies[0] == bodies[1] == json.dumps({'data': token_view(value, row)}).encode()
    assert json.loads(bodies[0])['data']['token'] == token
    assert row.check_body_tail is not None and token.encode() not in row.check_body_tail


def test_cached_valid_check_does_not_reach_flask(client, fast, token):
    app, behind = fast
    client.head(f'/0.1/token/{token}')  # fills the cache
    for prefix in ('/0.1', '/api/auth/0.1'):
        assert ask(app, f'{prefix}/token/{token}', query=f'scope={SCOPE}')[0] == \
            '204 NO CONTENT'
        assert ask(app, f'{prefix}/token/{token.upper()}')[0] == '204 NO CONTENT'
    assert behind.calls == 0


@pytest.mark.parametrize('path, query', [
    ('/0.1/token/{t}', 'scope=auth.tenants.read'),  # refused scope: the full path's 403
    # Needs a query; a fixed tenant, as test ids must be the same in every pytest-xdist worker.
    ('/0.1/token/{t}', f'scope={SCOPE}&tenant=5b6f0d2e-3c1a-4e8b-9f7d-2a4c6e8b0d1f'),
    ('/0.1/token/{t}', 'scope=confd%2Eusers%2Eme%2Eread'),  # left to werkzeug's decoding
    ('/0.1/token/{t}', 'scope=a&scope=b'),
    ('/0.1/token/{t}/', ''),
    ('/0.2/token/{t}', ''),
    ('/0.1/token/{u}', ''),  # not in the cache
])
def test_what_the_cache_cannot_decide_goes_to_flask(client, fast, token, path, query):
    app, behind = fast
    client.head(f'/0.1/token/{token}')
    status, _, _ = ask(app, path.format(t=token, u=uuid.uuid4()), query=query)
    assert (status, behind.calls) == ('299 BEHIND', 1)


def test_other_methods_go_to_flask(client, fast, token):
    app, behind = fast
    client.head(f'/0.1/token/{token}')
    assert ask(app, f'/0.1/token/{token}', method='DELETE')[0] == '299 BEHIND'


def test_revoked_cached_token_is_refused_at_once(client, token):
    assert client.head(f'/0.1/token/{token}').status_code == 204
    assert client.head(f'/0.1/token/{token}').status_code == 204  # from the cache
    assert client.delete(f'/0.1/token/{token}').status_code == 200
    refused = client.get(f'/0.1/token/{token}')
    assert refused.status_code == 404
    assert refused.get_json()['error_id'] == 'no-such-token'


def test_cached_token_past_its_expiry_is_refused(services, client, clock, make_user, login):
    """Expiry is checked on every call: by the fast path and by the full check alike."""
    make_user(acl=['confd.#'])
    token = login(body={'expiration': 1}).get_json()['data']['token']
    assert client.head(f'/0.1/token/{token}').status_code == 204
    assert client.head(f'/0.1/token/{token}').status_code == 204  # from the cache
    clock.advance(1.05)
    assert client.head(f'/0.1/token/{token}').status_code == 404


def test_scanning_client_is_refused_even_for_a_cached_token(make_config, db_uri, engine,
                                                           make_user, login):
    config = make_config(db_uri=db_uri, throttle={'unknown_token_checks_per_minute': 3,
                                                  'trusted_networks': []})
    with running_app(config, engine) as app:
        client = app.test_client()
        make_user(acl=['confd.#'])
        token = login(body={}).get_json()['data']['token']
        scanner = {'REMOTE_ADDR': '203.0.113.66'}
        assert client.head(f'/0.1/token/{token}', environ_base=scanner).status_code == 204
        for _ in range(3):
            client.head(f'/0.1/token/{uuid.uuid4()}', environ_base=scanner)
        assert client.head(f'/0.1/token/{token}', environ_base=scanner).status_code == 429


def test_cached_checks_are_counted_by_the_metrics(client, token):
    def answered():
        text = client.get('/metrics').get_data(as_text=True)
        return sum(float(line.rsplit(' ', 1)[1]) for line in text.splitlines()
                   if line.startswith('wazo_auth_token_checks_total{result="204"}'))
    before = answered()
    for _ in range(5):
        assert client.head(f'/0.1/token/{token}').status_code == 204
    assert answered() == before + 5


def test_logging_every_successful_check_logs_cached_ones_too(make_config, db_uri, engine,
                                                            make_user, caplog):
    config = make_config(db_uri=db_uri, access_log={'successful_checks': True})
    with running_app(config, engine) as app:
        client = app.test_client()
        make_user(acl=['confd.#'])
        token = client.post('/0.1/token', json={}, headers=basic('alice', 's3cret')) \
            .get_json()['data']['token']
        with caplog.at_level('INFO', logger='wazo_like_auth.access'):
            for _ in range(3):
                assert client.head(f'/0.1/token/{token}').status_code == 204
        checks = [r for r in caplog.records if r.name == 'wazo_like_auth.access'
                  and r.getMessage().startswith('HEAD /0.1/token/<token> 204')]
        assert len(checks) == 3
