"""Nothing secret leaks: token answers are not cacheable, no log line at DEBUG carries a token,
a refresh token or a password, and no error body echoes a password or a whole token.
(The served process's stderr is checked the same way in tests/e2e/test_hardening_http.py.)
"""
from __future__ import annotations

import base64
import json
import logging

import pytest
from sqlalchemy import text

from tests.support.admin_client import token_of
from tests.support.credentials import basic
from tests.support.envelope import assert_envelope
from wazo_like_auth.logs import JsonFormatter, PlainFormatter

OLD = 'Old-Passw0rd-aaaa'
NEW = 'New-Passw0rd-bbbb'
TOO_LONG = 'Long-Passw0rd-' + 'c' * 70


@pytest.fixture(autouse=True)
def alice(make_user):
    return make_user('alice', OLD, acl=['auth.#', 'confd.users.read'])


def assert_not_cacheable(response) -> None:
    assert response.status_code == 200, response.get_data()
    assert response.headers.get('Cache-Control') == 'no-store'
    assert response.headers.get('Pragma') == 'no-cache'


def test_every_answer_holding_a_token_is_not_cacheable(client):
    online = client.post('/0.1/token', json={}, headers=basic('alice', OLD))
    offline = client.post('/api/auth/0.1/token', json={'access_type': 'offline',
                                                       'client_id': 'app'},
                          headers=basic('alice', OLD))
    refreshed = client.post('/0.1/token', json={
        'refresh_token': offline.get_json()['data']['refresh_token'], 'client_id': 'app'})
    token = online.get_json()['data']['token']
    checked = client.get(f'/0.1/token/{token}')
    for response in (online, offline, refreshed, checked):
        assert_not_cacheable(response)


def test_oauth2_token_answers_are_not_cacheable(client, make_user, login):
    make_user('root', 'rootpass', acl=['#'])
    root = {'X-Auth-Token': token_of(login, 'root', 'rootpass')}
    created = client.post('/0.1/clients', headers=root, json={
        'client_id': 'webapp', 'public': False, 'grant_types': ['password', 'refresh_token'],
        'acl': [], 'name': '', 'policies': []})
    assert created.status_code == 200, created.get_data()
    secret = created.get_json()['client_secret']
    credentials = base64.b64encode(f'webapp:{secret}'.encode()).decode()
    response = client.post('/0.1/oauth2/token', headers={'Authorization': f'Basic {credentials}'},
                           data={'grant_type': 'password', 'username': 'alice',
                                 'password': OLD, 'scope': 'offline_access'})
    assert_not_cacheable(response)
    refreshed = client.post('/0.1/oauth2/token',
                            headers={'Authorization': f'Basic {credentials}'},
                            data={'grant_type': 'refresh_token',
                                  'refresh_token': response.get_json()['refresh_token']})
    assert_not_cacheable(refreshed)


# --- logs ----------------------------------------------------------------------------------


def logged_text(caplog) -> str:
    """Every captured record as every formatter of the service would write it."""
    plain, as_json = PlainFormatter(), JsonFormatter()
    lines = [caplog.text]
    for record in caplog.records:
        lines += [record.getMessage(), plain.format(record), as_json.format(record)]
    return '\n'.join(lines)


def forms(secret: str) -> list[str]:
    """The ways a secret could be written: as is, upper-case, without dashes, JSON-escaped."""
    return [secret, secret.upper(), secret.replace('-', ''), json.dumps(secret)[1:-1]]


def assert_absent(secrets: list[str], text: str) -> None:
    for secret in secrets:
        for form in forms(secret):
            assert form not in text, f'{secret!r} found as {form!r}'


def exercise(client, alice) -> list[str]:
    """Login, offline login, refresh, checks, revocation, password changes (failed and
    successful); returns every secret involved."""
    first = client.post('/0.1/token', json={'access_type': 'offline', 'client_id': 'app'},
                        headers=basic('alice', OLD)).get_json()['data']
    refreshed = client.post('/0.1/token', json={'refresh_token': first['refresh_token'],
                                                'client_id': 'app'},
                            headers={'Authorization': 'Basic Og=='}).get_json()['data']
    for token in (first['token'], refreshed['token']):
        client.head(f'/0.1/token/{token}?scope=confd.users.read')
        client.head(f'/0.1/token/{token}?scope=confd.users.write')
        client.get(f'/0.1/token/{token}')
        client.post(f'/0.1/token/{token}/scopes/check', json={'scopes': ['confd.x']})
        client.get('/0.1/users/me/tokens', headers={'X-Auth-Token': token})
    client.delete(f"/0.1/token/{refreshed['token']}")
    me = {'X-Auth-Token': first['token']}
    client.post('/0.1/token', json={}, headers=basic('alice', NEW))
    client.put(f'/0.1/users/{alice}/password', headers=me,
               json={'old_password': NEW, 'new_password': OLD})
    client.put(f'/0.1/users/{alice}/password', headers=me,
               json={'old_password': OLD, 'new_password': TOO_LONG})
    changed = client.put(f'/0.1/users/{alice}/password', headers=me,
                         json={'old_password': OLD, 'new_password': NEW})
    assert changed.status_code == 204, changed.get_data()
    assert client.post('/0.1/token', json={}, headers=basic('alice', NEW)).status_code == 200
    return [first['token'], first['refresh_token'], refreshed['token'], OLD, NEW, TOO_LONG]


def test_no_secret_reaches_the_logs_at_debug_level(client, alice, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = exercise(client, alice)
    text = logged_text(caplog)
    assert 'Successful login' in text and 'Failed login' in text
    assert 'changed its password' in text
    assert_absent(secrets, text)


def password_hash(engine, user) -> str:
    with engine.connect() as conn:
        return conn.execute(text('SELECT password_hash FROM auth_user WHERE uuid = :u'),
                            {'u': user}).scalar_one()


def test_no_password_hash_reaches_the_logs_at_debug_level(client, alice, caplog, engine):
    before = password_hash(engine, alice)
    caplog.set_level(logging.DEBUG)
    exercise(client, alice)
    after = password_hash(engine, alice)
    assert before != after
    logged = logged_text(caplog)
    for stored in (before, after):
        assert stored[-31:] not in logged  # bcrypt: $2b$cost$ + 22 salt + 31 hash characters


# --- error bodies --------------------------------------------------------------------------


def test_password_errors_do_not_echo_passwords(client, alice, login):
    token = token_of(login, 'alice', OLD)
    me = {'X-Auth-Token': token}
    path = f'/0.1/users/{alice}/password'
    refused = [
        (client.put(path, headers=me, json={'old_password': NEW, 'new_password': OLD}), 401),
        (client.put(path, headers=me, json={'old_password': NEW, 'new_password': TOO_LONG}),
         400),
        (client.put(path, headers=me, json={'old_password': OLD, 'new_password': TOO_LONG}),
         400),
        (client.put(path, headers=me, json={'old_password': OLD, 'new_password': 72}), 400),
        (client.put(path, headers=me, json={'old_password': OLD, 'new_password': ''}), 400),
        (client.put(path, headers=me, json={'old_password': OLD,
                                            'new_password': NEW + '\x00'}), 400),
        (client.put(path, headers=me, json={'new_password': NEW}), 400),
        (client.post('/0.1/users', headers=me, json={'username': 'x' * 300,
                                                     'password': NEW}), 400),
        (client.post('/0.1/users', headers=me, json={'username': 'bob', 'password': TOO_LONG}),
         400),
        (client.post('/0.1/users', headers=me, json={'username': 'bob', 'password': NEW,
                                                     'purpose': NEW}), 400),
        (client.post('/0.1/token', json={'expiration': NEW}, headers=basic('alice', OLD)),
         400),
        (client.post('/0.1/token', json={}, headers=basic('alice', NEW)), 401),
    ]
    for response, status in refused:
        body = assert_envelope(response, status)
        assert_absent([OLD, NEW, TOO_LONG], json.dumps(body))
    assert client.post('/0.1/token', json={}, headers=basic('alice', OLD)).status_code == 200


def test_refused_token_is_not_echoed_whole(client, make_user, login):
    make_user('bob', 'pw', acl=['confd.users.read'])
    token = token_of(login, 'bob', 'pw')
    unknown = token[:-1] + ('0' if token[-1] != '0' else '1')
    for presented, reason in ((token, 'missing_permission_or_invalid_tenant'),
                              (unknown, 'not_found_or_expired')):
        # Clients log error bodies; the token, maybe a valid one, is shown redacted.
        body = assert_envelope(client.get('/0.1/users', headers={'X-Auth-Token': presented}),
                               401)
        assert body['details']['reason'] == reason
        assert body['details']['invalid_token'] == 'XXXXXXXX-XXXX-XXXX-XXXX-XXXX' + \
            presented[-8:]
        assert_absent([presented], json.dumps(body))
