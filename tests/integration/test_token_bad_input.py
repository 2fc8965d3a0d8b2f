"""Bad input on the token API: every refusal is the one envelope (spec D4, D5, D7)."""
from __future__ import annotations

import base64

import pytest
from sqlalchemy import text

from tests.support.credentials import basic
from tests.support.envelope import assert_envelope, without_timestamp
from wazo_like_auth import tokens

ALICE = basic('alice', 's3cret')


@pytest.fixture(autouse=True)
def alice(make_user):
    return make_user('alice', 's3cret', acl=['confd.users.read'])


@pytest.fixture
def token(client) -> str:
    response = client.post('/0.1/token', json={}, headers=ALICE)
    assert response.status_code == 200
    return response.get_json()['data']['token']


def post_token(client, data=None, headers=None, **kwargs):
    return client.post('/0.1/token', data=data, headers={**ALICE, **(headers or {})}, **kwargs)


def authorization(raw: bytes) -> dict[str, str]:
    return {'Authorization': 'Basic ' + base64.b64encode(raw).decode()}


# --- bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize('data', [None, b'', b'   ', b'not json', b'{"expiration": 60',
                                  b'\xff\xfe{}', b'[]', b'[{"expiration": 60}]', b'"string"',
                                  b'42', b'true'],
                         ids=['no-body', 'empty', 'blank', 'not-json', 'truncated',
                              'not-utf8', 'array', 'array-of-object', 'string', 'number',
                              'boolean'])
def test_login_body_that_is_not_a_json_object_answers_400(client, data):
    assert_envelope(post_token(client, data=data, content_type='application/json'), 400)


def test_login_body_without_content_type_that_is_not_json_answers_400(client):
    assert_envelope(post_token(client, data=b'expiration=60'), 400)


def test_deeply_nested_json_body_answers_400(client):
    assert_envelope(post_token(client, data=b'[' * 100_000 + b']' * 100_000), 400)


@pytest.mark.parametrize('expiration', [0, -1, 'x', '', True, False, None, 1e30, 315360001,
                                        [60], {'s': 60}, '10.5'])
def test_login_with_bad_expiration_answers_400(client, expiration):
    body = assert_envelope(post_token(client, json={'expiration': expiration}), 400)
    assert 'expiration' in body['details']


@pytest.mark.parametrize('access_type', ['sideways', '', 'ONLINE', 7, None])
def test_login_with_bad_access_type_answers_400(client, access_type):
    body = assert_envelope(post_token(client, json={'access_type': access_type}), 400)
    assert 'access_type' in body['details']


@pytest.mark.parametrize('body', [
    {'access_type': 'offline'},
    {'access_type': 'offline', 'client_id': ''},
    {'access_type': 'offline', 'client_id': 'app', 'refresh_token': tokens.new_token()},
    {'refresh_token': tokens.new_token()},
    {'client_id': 'x' * 1025, 'access_type': 'offline'},
    {'tenant_id': 't', 'domain_name': 'example.com'},
], ids=['offline-no-client', 'offline-empty-client', 'offline-with-refresh',
        'refresh-no-client', 'client-id-too-long', 'tenant-and-domain'])
def test_login_with_inconsistent_fields_answers_400(client, body):
    assert_envelope(post_token(client, json=body), 400)


def test_body_over_one_mebibyte_answers_413(client):
    big = b'{"expiration": 60, "padding": "' + b'x' * (1024 * 1024) + b'"}'
    assert_envelope(post_token(client, data=big, content_type='application/json'), 413)


def test_body_over_one_mebibyte_on_scopes_check_answers_413(client, token):
    big = b'{"scopes": ["' + b'x' * (1024 * 1024) + b'"]}'
    response = client.post(f'/0.1/token/{token}/scopes/check', data=big,
                           content_type='application/json')
    assert_envelope(response, 413)


# --- credentials ------------------------------------------------------------------------


def assert_authentication_failed(response) -> dict:
    body = assert_envelope(response, 401)
    assert body['message'] == 'Authentication Failed'
    return body


@pytest.mark.parametrize('headers', [
    {},
    {'Authorization': 'Bearer x'},
    {'Authorization': 'Bearer ' + tokens.new_token()},
    {'Authorization': 'Basic !!!not-base64!!!'},
    {'Authorization': 'Basic YWxpY2U6czNjcmV'},
    {'Authorization': 'Basic '},
    authorization(b'alice'),
    authorization(b':s3cret'),
    authorization(b'alice:'),
    authorization(b':'),
    authorization(b'\x00:\x00'),
    authorization(b'alice\x00:s3cret'),
    authorization(b'x' * 5000 + b':s3cret'),
], ids=['none', 'bearer', 'bearer-token', 'bad-base64', 'bad-length', 'empty-basic',
        'no-colon', 'empty-user', 'empty-password', 'colon-only', 'nul', 'nul-in-login',
        'long-login'])
def test_malformed_or_missing_credentials_answer_401(client, headers):
    assert_authentication_failed(client.post('/0.1/token', json={}, headers=headers))


@pytest.mark.parametrize('credentials', [('alice', 'wrong'), ('nobody', 's3cret'),
                                         ('alice', 's3cret ' * 20)],
                         ids=['wrong-password', 'unknown-user', 'over-long-password'])
def test_wrong_credentials_answer_401(client, credentials):
    assert_authentication_failed(client.post('/0.1/token', json={},
                                             headers=basic(*credentials)))


def test_password_longer_than_72_bytes_is_not_truncated(client, make_user):
    make_user('bob', 'a' * 72)
    assert client.post('/0.1/token', json={}, headers=basic('bob', 'a' * 72)).status_code == 200
    assert_authentication_failed(client.post('/0.1/token', json={},
                                             headers=basic('bob', 'a' * 72 + 'b')))


def test_disabled_user_cannot_log_in(client, make_user):
    make_user('bob', 'pw-bob', enabled=False)
    assert_authentication_failed(client.post('/0.1/token', json={},
                                             headers=basic('bob', 'pw-bob')))


def test_user_without_password_cannot_log_in(client, make_user):
    make_user('bob', None)
    assert_authentication_failed(client.post('/0.1/token', json={}, headers=basic('bob', 'x')))


@pytest.mark.parametrize('backend', ['ldap_user', 'saml', '', 'WAZO_USER'])
def test_other_backends_fail_to_log_in(client, backend):
    assert_authentication_failed(post_token(client, json={'backend': backend}))


def test_explicit_wazo_user_backend_logs_in(client):
    assert post_token(client, json={'backend': 'wazo_user'}).status_code == 200


def test_every_authentication_failure_answers_the_same_body(client, make_user):
    make_user('bob', 'pw-bob', enabled=False)
    failures = [
        client.post('/0.1/token', json={}, headers=basic('alice', 'wrong')),
        client.post('/0.1/token', json={}, headers=basic('nobody', 's3cret')),
        client.post('/0.1/token', json={}, headers=basic('bob', 'pw-bob')),
        post_token(client, json={'backend': 'ldap_user'}),
        client.post('/0.1/token', json={}),
        client.post('/0.1/token', json={}, headers={'Authorization': 'Basic !!!'}),
        client.post('/0.1/token', json={'refresh_token': tokens.new_token(), 'client_id': 'a'},
                    headers={'Authorization': 'Basic Og=='}),
    ]
    bodies = [without_timestamp(assert_authentication_failed(r)) for r in failures]
    assert all(body == bodies[0] for body in bodies), bodies
    # The timestamp's digits may change the length, and every request has its own id;
    # nothing else may differ.
    varying = ('date', 'content-length', 'x-request-id')
    headers = [{k: v for k, v in r.headers.items() if k.lower() not in varying}
               for r in failures]
    assert all(h == headers[0] for h in headers), headers


def test_failed_login_gives_no_token_and_no_session(client, engine):
    client.post('/0.1/token', json={}, headers=basic('alice', 'wrong'))
    with engine.connect() as conn:
        assert conn.execute(text('SELECT count(*) FROM auth_session')).scalar() == 0
        assert conn.execute(text('SELECT count(*) FROM auth_token')).scalar() == 0


# --- token paths ------------------------------------------------------------------------


BAD_TOKENS = ['not-a-uuid', '%00', 'a' * 10_000, tokens.new_token() + 'a',
              tokens.new_token().replace('-', ''), '..', '%2e%2e', "' OR 1=1 --",
              '%C3%A9' * 6, '{' + tokens.new_token() + '}', '%0a' + tokens.new_token()]
BAD_IDS = ['word', 'nul', '10kB', 'too-long', 'no-dashes', 'dotdot', 'encoded-dotdot', 'sql',
           'non-ascii', 'braces', 'newline']


@pytest.mark.parametrize('value', BAD_TOKENS, ids=BAD_IDS)
def test_token_path_that_is_not_a_token_answers_404(client, value):
    body = assert_envelope(client.get(f'/0.1/token/{value}'), 404)
    assert value not in body['message']
    assert client.head(f'/0.1/token/{value}').status_code == 404


@pytest.mark.parametrize('value', BAD_TOKENS, ids=BAD_IDS)
def test_scopes_check_of_a_path_that_is_not_a_token_answers_404(client, value):
    response = client.post(f'/0.1/token/{value}/scopes/check', json={'scopes': ['a']})
    assert_envelope(response, 404)


def test_token_path_with_scope_that_is_not_a_token_answers_404(client):
    response = client.get('/0.1/token/not-a-uuid', query_string={'scope': 'confd.users.read'})
    assert_envelope(response, 404)


@pytest.mark.parametrize('scope', ['éric', 'confd.users.read\u202e', '用户.read', 'confd.🔑'])
def test_scope_with_non_ascii_answers_403_with_an_ascii_message(client, token, scope):
    body = assert_envelope(client.get(f'/0.1/token/{token}', query_string={'scope': scope}),
                           403)
    assert body['message'].isascii()
    assert client.head(f'/0.1/token/{token}', query_string={'scope': scope}).status_code == 403


def test_scope_with_nul_answers_403(client, token):
    assert_envelope(client.get(f'/0.1/token/{token}?scope=confd.users.read%00'), 403)


def test_repeated_scope_uses_the_first(client, token):
    url = f'/0.1/token/{token}?scope=confd.users.read&scope=confd.users.write'
    assert client.head(url).status_code == 204
    url = f'/0.1/token/{token}?scope=confd.users.write&scope=confd.users.read'
    assert client.head(url).status_code == 403


# --- routing ----------------------------------------------------------------------------


@pytest.mark.parametrize('path', ['/0.1/nope', '/nope', '/', '/0.1/', '/0.2/token',
                                  '/api/auth/0.1/nope', '/0.1/token/', '/0.1/tokenx'])
def test_unknown_path_answers_404(client, path):
    assert_envelope(client.get(path), 404)


@pytest.mark.parametrize('method, path', [
    ('PUT', '/0.1/token'), ('DELETE', '/0.1/token'), ('GET', '/0.1/token'),
    ('PATCH', '/api/auth/0.1/token'), ('POST', '/0.1/status'),
])
def test_wrong_method_answers_405(client, method, path):
    assert_envelope(client.open(path, method=method), 405)


def test_wrong_method_answers_the_allowed_methods(client):
    response = client.put('/0.1/token')
    assert 'POST' in response.headers.get('Allow', '')


def test_wrong_method_on_a_token_answers_405(client, token):
    assert_envelope(client.put(f'/0.1/token/{token}'), 405)


@pytest.mark.parametrize('path', ['/0.1/token/' + 'a' * 17_000,
                                  '/0.1/status?x=' + 'a' * 17_000])
def test_request_target_over_16_kib_answers_414(client, path):
    assert_envelope(client.get(path), 414)


def test_post_to_an_over_long_path_answers_414(client):
    assert_envelope(client.post('/0.1/token/' + 'a' * 17_000 + '/scopes/check',
                                json={'scopes': []}), 414)
