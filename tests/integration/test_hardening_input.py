"""Hostile input through the Flask test client: whatever the bytes, a 4xx in the envelope,
never a 500 (spec D4). The same cases over real HTTP are in tests/e2e/test_hardening_http.py.
"""
from __future__ import annotations

import base64
import datetime as dt
import io
import json
import uuid

import pytest

from tests.support.admin_client import token_of
from tests.support.credentials import basic
from tests.support.envelope import assert_envelope

ALICE = basic('alice', 's3cret')
# The Content-Types wazo-auth parses as JSON too (its bodies are read with force=True).
CONTENT_TYPES = [None, 'text/plain', 'application/x-www-form-urlencoded',
                 'application/json; charset=utf-8', 'application/octet-stream']


@pytest.fixture(autouse=True)
def alice(make_user):
    return make_user('alice', 's3cret', acl=['auth.#'])


@pytest.fixture
def token(login) -> str:
    return token_of(login, 'alice')


def status_of(response) -> int:
    """The status of a response that must be a success or an error in the envelope."""
    if response.status_code >= 400:
        assert_envelope(response, response.status_code)
    assert response.status_code < 500, response.get_data()[:500]
    return response.status_code


def send(client, method, path, *, data=None, content_type=None, headers=None):
    headers = dict(headers or {})
    if content_type is not None:
        headers['Content-Type'] = content_type
    return client.open(path, method=method, data=data, headers=headers)


# --- Content-Type is not what decides how a body is read ------------------------------------


def lifetime(data: dict) -> float:
    issued, expires = (dt.datetime.fromisoformat(data[k])
                       for k in ('utc_issued_at', 'utc_expires_at'))
    return (expires - issued).total_seconds()


def test_login_body_is_json_whatever_the_content_type(client):
    for content_type in CONTENT_TYPES:
        response = send(client, 'POST', '/0.1/token', data=b'{"expiration": 61}',
                        content_type=content_type, headers=ALICE)
        assert response.status_code == 200, (content_type, response.get_data())
        assert lifetime(response.get_json()['data']) == 61, content_type


def test_scopes_check_body_is_json_whatever_the_content_type(client, token):
    for content_type in CONTENT_TYPES:
        response = send(client, 'POST', f'/0.1/token/{token}/scopes/check',
                        data=b'{"scopes": ["auth.users.read", "confd.x"]}',
                        content_type=content_type)
        assert response.status_code == 200, (content_type, response.get_data())
        assert response.get_json()['scopes'] == {'auth.users.read': True, 'confd.x': False}


def test_admin_bodies_are_json_whatever_the_content_type(client, token, alice, make_user,
                                                         login):
    make_user('root', 'pw', acl=['#'])
    root = {'X-Auth-Token': token_of(login, 'root', 'pw')}
    for n, content_type in enumerate(CONTENT_TYPES):
        body = json.dumps({'username': f'user-{n}', 'password': 'pw'}).encode()
        response = send(client, 'POST', '/0.1/users', data=body, content_type=content_type,
                        headers=root)
        assert response.status_code == 200, (content_type, response.get_data())
        body = json.dumps({'old_password': 's3cret', 'new_password': 's3cret'}).encode()
        response = send(client, 'PUT', f'/0.1/users/{alice}/password', data=body,
                        content_type=content_type, headers=root)
        assert response.status_code == 204, (content_type, response.get_data())


# --- bodies that are not UTF-8 JSON, or too deep, or too wide --------------------------------

NOT_UTF8 = [b'\xff\xfe', b'{"scopes": ["\xff"]}', b'{"username": "\xc3"}', b'\x00',
            b'{"username": "a\x00"}', b'{"\xff": 1}']


BODY_ROUTES = [('POST', '/0.1/token'), ('POST', '/0.1/token/{t}/scopes/check'),
               ('POST', '/0.1/users'), ('PUT', '/0.1/users/{u}'),
               ('PUT', '/0.1/users/{u}/password'), ('PUT', '/0.1/users/{u}/emails'),
               ('POST', '/0.1/tenants'), ('POST', '/0.1/policies'), ('POST', '/0.1/groups')]


@pytest.mark.parametrize('method, path', BODY_ROUTES)
def test_body_that_is_not_utf8_json_answers_400(client, token, alice, method, path):
    path = path.format(t=token, u=alice)
    for data in NOT_UTF8:
        response = send(client, method, path, data=data, content_type='application/json',
                        headers={'X-Auth-Token': token, **ALICE})
        assert_envelope(response, 400)


def nested(depth: int) -> bytes:
    return b'{"a": ' * depth + b'1' + b'}' * depth


@pytest.mark.parametrize('method, path', BODY_ROUTES)
def test_deeply_nested_json_answers_400(client, token, alice, method, path):
    path = path.format(t=token, u=alice)
    for data in (nested(100_000), b'[' * 200_000 + b']' * 200_000):
        response = send(client, method, path, data=data,
                        headers={'X-Auth-Token': token, **ALICE})
        assert_envelope(response, 400)


def chunked(client, path: str, body: bytes, headers: dict):
    """A request as granian hands over a chunked body: no Content-Length, the stream ended
    by the server (wsgi.input_terminated)."""
    return client.post(path, input_stream=io.BytesIO(body),
                       headers={**headers, 'Transfer-Encoding': 'chunked'},
                       environ_overrides={'wsgi.input_terminated': True})


def test_chunked_body_over_one_mebibyte_answers_413(client, token):
    # werkzeug alone would truncate it at the limit and parse the first MiB.
    big = b'{"scopes": []}' + b' ' * (1024 * 1024)
    assert_envelope(chunked(client, '/0.1/token', big, ALICE), 413)
    assert_envelope(chunked(client, f'/0.1/token/{token}/scopes/check', big, {}), 413)


def test_chunked_body_within_the_limit_is_read_whole(client, token):
    body = b'{"scopes": ["auth.users.read"]}' + b' ' * (1024 * 1024 - 40)
    response = chunked(client, f'/0.1/token/{token}/scopes/check', body, {})
    assert response.status_code == 200, response.get_data()
    assert response.get_json()['scopes'] == {'auth.users.read': True}


def test_too_many_scopes_to_check_answers_400(client, token):
    scopes = [f'confd.users.{i}.read' for i in range(1001)]
    response = client.post(f'/0.1/token/{token}/scopes/check', json={'scopes': scopes})
    body = assert_envelope(response, 400)
    assert 'scopes' in body['details']


def test_the_most_scopes_to_check_are_answered(client, token):
    scopes = [f'auth.users.{i}.read' for i in range(1000)]
    response = client.post(f'/0.1/token/{token}/scopes/check', json={'scopes': scopes})
    assert response.status_code == 200
    assert len(response.get_json()['scopes']) == 1000


def test_huge_acl_list_on_a_policy_is_refused_with_400(client, make_user, login):
    make_user('root', 'pw', acl=['#'])
    root = token_of(login, 'root', 'pw')
    acl = [f'a{i}' for i in range(100_000)]  # under the 1 MiB body limit
    response = client.post('/0.1/policies', json={'name': 'big', 'acl': acl},
                           headers={'X-Auth-Token': root})
    body = assert_envelope(response, 400)
    assert 'acl' in body['details']
    acl = [f'a{i}' for i in range(4096)]
    response = client.post('/0.1/policies', json={'name': 'most', 'acl': acl},
                           headers={'X-Auth-Token': root})
    assert response.status_code == 200 and len(response.get_json()['acl']) == 4096


@pytest.mark.parametrize('path', ['/0.1/users/{u}/emails', '/0.1/admin/users/{u}/emails'])
def test_more_than_100_emails_are_refused_with_400(client, make_user, login, alice, path):
    make_user('root', 'pw', acl=['#'])
    root = token_of(login, 'root', 'pw')
    emails = [{'address': f'a{i}@example.com', 'main': i == 0} for i in range(101)]
    response = client.put(path.format(u=alice), json={'emails': emails},
                          headers={'X-Auth-Token': root})
    assert 'emails' in assert_envelope(response, 400)['details']
    response = client.put(path.format(u=alice), json={'emails': emails[:100]},
                          headers={'X-Auth-Token': root})
    assert response.status_code == 200 and len(response.get_json()) == 100


# --- credentials and headers that are not UTF-8 ----------------------------------------------


def raw_basic(raw: bytes) -> dict[str, str]:
    return {'Authorization': 'Basic ' + base64.b64encode(raw).decode()}


def test_latin1_basic_credentials_are_read_as_latin1(client, make_user):
    make_user('rené', 'mot-de-passe-é')
    response = client.post('/0.1/token', json={},
                           headers=raw_basic('rené:mot-de-passe-é'.encode('latin-1')))
    assert response.status_code == 200, response.get_data()


def test_basic_credentials_that_are_not_utf8_answer_401(client):
    for raw in (b'\xff\xfe:\xff', b'alice:\xff\xfe', b'\xc3:\xc3', b'alice:s3cret\x00',
                b'\x00:\x00', b'\xff' * 300 + b':x', 'alice:s3cret'.encode('utf-16')):
        body = assert_envelope(client.post('/0.1/token', json={}, headers=raw_basic(raw)), 401)
        assert body['message'] == 'Authentication Failed'


# Header values reach WSGI as Latin-1 text: '\xff' here is the byte 0xff on the wire.
BAD_HEADER_VALUES = ['\xff\xfe', '\xff' * 36, '\x00', '%ff', '%00']


def test_x_auth_token_that_is_not_a_token_answers_401(client):
    for value in BAD_HEADER_VALUES:
        body = assert_envelope(client.get('/0.1/users', headers={'X-Auth-Token': value}), 401)
        assert body['details']['reason'] == 'not_found_or_expired'


def test_wazo_tenant_that_is_not_a_tenant_answers_401(client, token):
    for value in BAD_HEADER_VALUES:
        response = client.get('/0.1/users', headers={'X-Auth-Token': token,
                                                     'Wazo-Tenant': value})
        assert assert_envelope(response, 401)['error_id'] == 'unauthorized-tenant'


def test_token_check_with_bad_tenant_answers_an_error(client, token):
    for value in ('%ff', '%00', 'not-a-uuid'):
        assert status_of(client.get(f'/0.1/token/{token}?tenant={value}')) in (403, 404)


# --- paths and query strings -----------------------------------------------------------------

PATH_BYTES = ['%ff%fe', '%00', '%ff', '%c3', 'a%00b', '%ef%bf%bd']


@pytest.mark.parametrize('segment', PATH_BYTES)
def test_token_path_with_bad_bytes_answers_404(client, segment):
    for method in ('GET', 'HEAD', 'DELETE'):
        response = client.open(f'/0.1/token/{segment}', method=method)
        expected = 200 if method == 'DELETE' else 404  # revoking an unknown token is a no-op
        assert response.status_code == expected
        if method == 'GET':
            assert_envelope(response, 404)
    response = client.post(f'/0.1/token/{segment}/scopes/check', json={'scopes': ['a']})
    assert_envelope(response, 404)


@pytest.mark.parametrize('method, template', [
    ('DELETE', '/0.1/users/me/tokens/{s}'),
    ('DELETE', '/0.1/users/{u}/tokens/{s}'),
    ('GET', '/0.1/users/{s}'),
    ('GET', '/0.1/users/{s}/tokens'),
    ('DELETE', '/0.1/users/{u}/sessions/{s}'),
    ('GET', '/0.1/tenants/{s}'),
    ('GET', '/0.1/policies/{s}'),
    ('DELETE', '/0.1/policies/{s}/acl/{s}'),
    ('GET', '/0.1/groups/{s}'),
    ('PUT', '/0.1/users/{u}/policies/{s}'),
])
def test_path_segment_with_bad_bytes_answers_4xx(client, token, alice, method, template):
    # Removing an access alice does not hold is refused by the anti-escalation guard (401).
    allowed = (400, 401, 404) if '/acl/' in template else (400, 404)
    for segment in PATH_BYTES:
        path = template.format(s=segment, u=alice)
        status = status_of(client.open(path, method=method, headers={'X-Auth-Token': token}))
        assert status in allowed, (path, status)


LIST_PATHS = ['/0.1/users', '/0.1/tokens', '/0.1/sessions', '/0.1/tenants', '/0.1/policies',
              '/0.1/groups', '/0.1/users/me/tokens', '/0.1/users/{u}/sessions',
              '/0.1/users/{u}/tokens', '/0.1/groups/{g}/users']


@pytest.mark.parametrize('path', LIST_PATHS)
def test_list_parameter_with_bad_bytes_answers_200_or_400(client, token, alice, path):
    group = uuid.uuid4()
    for param in ('search', 'limit', 'offset', 'order', 'direction', 'recurse'):
        for value in ('%ff', '%00', '%ff%fe', 'a%00', '%c3'):
            url = f"{path.format(u=alice, g=group)}?{param}={value}"
            status = status_of(client.get(url, headers={'X-Auth-Token': token}))
            assert status in (200, 400, 404), (url, status)


@pytest.mark.parametrize('value', ['%ff', '%00', '%ff%fe', 'a%00'])
def test_scope_with_bad_bytes_is_a_scope_the_token_lacks(client, token, value):
    assert_envelope(client.get(f'/0.1/token/{token}?scope={value}'), 403)
    assert client.head(f'/0.1/token/{token}?scope={value}').status_code == 403


def test_scopes_check_with_nul_and_replacement_characters_answers_200(client, token):
    response = client.post(f'/0.1/token/{token}/scopes/check',
                           json={'scopes': ['auth.\x00', '\ufffd', 'auth.users.read\x00']})
    assert response.status_code == 200
    assert set(response.get_json()['scopes']) == {'auth.\x00', '\ufffd', 'auth.users.read\x00'}
    assert response.get_json()['scopes']['\ufffd'] is False
