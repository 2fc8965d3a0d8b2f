"""Issue 12, low items: tokens redacted from every logged path (6) and from GET /config's 401
(7), request values escaped in log lines (8), lone surrogates answered 400 (9), the
X-Forwarded-For / num_proxies warning (14)."""
from __future__ import annotations

import json
import re
import uuid

import pytest

from tests.support.admin_client import token_of
from tests.support.credentials import basic
from tests.support.envelope import assert_envelope
from tests.support.security_review import PLAIN_LINE, register_client
from wazo_like_auth import tokens
from wazo_like_auth.app import create_app, shutdown
from tests.support.ports import free_port

FORGED = '2026-12-06 06:00:00,000 [1] (INFO) (wazo_like_auth.services.tokens): Successful login'


# 6. Paths carrying a token are redacted in every log line.

@pytest.fixture
def outage_app(make_config):
    """An app whose PostgreSQL is unreachable (nothing listens on its port)."""
    app = create_app(make_config(db_uri=f'postgresql://wla@127.0.0.1:{free_port()}/wla'))
    yield app
    shutdown(app)


def test_paths_with_a_token_are_redacted_in_database_outage_logs(outage_app, service_log):
    lines = service_log()
    token = tokens.new_token()
    client = outage_app.test_client()
    answers = [client.head(f'/0.1/token/{token}').status_code,
               client.get(f'/api/auth/0.1/token/{token}').status_code,
               client.delete(f'/0.1/token/{token}').status_code,
               client.post(f'/0.1/token/{token}/scopes/check',
                           json={'scopes': ['a']}).status_code]
    assert answers == [503] * 4
    text = '\n'.join(lines())
    assert text.count('Database unavailable on') == 4
    assert token not in text and token.upper() not in text
    assert f'/0.1/token/{tokens.redact(token)}/scopes/check' in text


# 7. GET /config's 401 names the token redacted.

def test_config_refusal_redacts_the_token(client, admin, make_user, login):
    tenant = admin.ok('POST', '/tenants', json={'name': 'sub'})['uuid']
    make_user('sub-admin', acl=['#'], tenant_uuid=tenant)
    token = token_of(login, 'sub-admin')
    response = client.get('/0.1/config', headers={'X-Auth-Token': token})
    body = assert_envelope(response, 401)
    assert body['details']['invalid_token'] == tokens.redact(token)
    assert token not in response.get_data(as_text=True)


# 8. Log forging: request values are escaped, JSON lines stay JSON.

def _forging_logins(client, admin):
    """A failed POST /token and a failed OAuth password grant whose username holds a newline
    followed by a fake log line."""
    username = f'alice\n{FORGED}: admin got token x'
    secret = register_client(admin, 'forger', ['password'])
    client.post('/0.1/token', json={}, headers={**basic(username, 'nope'),
                                               'User-Agent': 'ua\x1b[2J'})
    client.post('/0.1/oauth2/token', headers=basic('forger', secret),
                data={'grant_type': 'password', 'username': username, 'password': 'nope'})


def test_newlines_in_request_values_cannot_forge_plain_log_lines(client, admin, service_log):
    lines = service_log('plain')
    _forging_logins(client, admin)
    logged = lines()
    assert logged and all(re.match(PLAIN_LINE, line) for line in logged), logged
    failed = [line for line in logged if 'Failed login' in line]
    assert len(failed) == 2 and all('alice\\n2026-12-06' in line for line in failed)
    assert '\x1b' not in '\n'.join(logged) and 'ua\\x1b[2J' in failed[0]
    assert not any(line.startswith(FORGED) for line in logged)


def test_json_log_lines_stay_one_valid_object_each(client, admin, service_log):
    lines = service_log('json')
    _forging_logins(client, admin)
    entries = [json.loads(line) for line in lines()]
    failed = [e['message'] for e in entries if e['message'].startswith('Failed login')]
    assert len(failed) == 2 and all('\n' not in message for message in failed)


# 9. A lone UTF-16 surrogate in a JSON string is a 400, never a 500.

SURROGATE = '\udfff'


@pytest.fixture
def existing_client(admin):
    return admin.ok('POST', '/clients', json={'client_id': 'existing'})['uuid']


@pytest.mark.parametrize('method,path,body', [
    ('POST', '/clients', {'client_id': 'c1', 'name': SURROGATE}),
    ('POST', '/clients', {'client_id': 'c2', 'acl': [f'confd.{SURROGATE}']}),
    ('POST', '/clients', {'client_id': f'c3{SURROGATE}'}),
    ('PUT', '/clients/{client}', {'name': SURROGATE}),
    ('PUT', '/clients/{client}', {'acl': [SURROGATE]}),
    ('POST', '/users', {'username': SURROGATE, 'password': 'x'}),
    ('POST', '/tenants', {'name': SURROGATE}),
    ('POST', '/policies', {'name': 'p', 'acl': [SURROGATE]}),
    ('POST', '/groups', {'name': SURROGATE}),
    ('POST', '/token/{token}/scopes/check', {'scopes': [SURROGATE]}),
    ('POST', '/token', {'access_type': 'offline', 'client_id': SURROGATE}),
    ('POST', '/token', {SURROGATE: 1}),
])
def test_lone_surrogates_in_json_are_400(admin, existing_client, method, path, body):
    path = path.format(client=existing_client, token=admin.token)
    response = admin.request(method, path, json=body)
    assert assert_envelope(response, 400)['error_id'] == 'invalid-data'


def test_lone_surrogates_in_query_strings_and_oauth_forms_are_not_500(client, admin):
    listed = admin.get('/users', query='search=%ED%BF%BF&username=%ED%BF%BF')
    assert listed.status_code == 200
    secret = register_client(admin, 'former', ['password'])
    answer = client.post('/0.1/oauth2/token', headers=basic('former', secret),
                         data='grant_type=password&username=%ED%BF%BF&password=x',
                         content_type='application/x-www-form-urlencoded')
    assert answer.status_code == 400 and answer.get_json()['error'] == 'invalid_request'


# 14. X-Forwarded-For reaching an app that trusts no proxy is warned about, once.

def _forwarded_requests(app):
    client = app.test_client()
    client.get('/0.1/status')
    for address in ('198.51.100.7', '203.0.113.9\x1b' + FORGED):
        client.get('/0.1/status', headers={'X-Forwarded-For': address})
        client.head(f'/0.1/token/{uuid.uuid4()}', headers={'X-Forwarded-For': address})


def test_forwarded_for_without_num_proxies_is_warned_once(make_config, db_uri, engine,
                                                           service_log):
    lines = service_log()
    app = create_app(make_config(db_uri=db_uri), engine=engine)
    try:
        _forwarded_requests(app)
    finally:
        shutdown(app)
    warnings = [line for line in lines() if 'X-Forwarded-For' in line]
    assert len(warnings) == 1
    assert '(WARNING)' in warnings[0] and 'num_proxies' in warnings[0]
    assert FORGED not in warnings[0]


def test_no_warning_when_proxies_are_configured_or_the_header_is_absent(
        make_config, db_uri, engine, service_log):
    lines = service_log()
    proxied = create_app(make_config(db_uri=db_uri, rest_api={'num_proxies': 1}), engine=engine)
    direct = create_app(make_config(db_uri=db_uri), engine=engine)
    try:
        _forwarded_requests(proxied)
        direct.test_client().get('/0.1/status')
    finally:
        shutdown(proxied)
        shutdown(direct)
    assert not [line for line in lines() if 'X-Forwarded-For' in line]
