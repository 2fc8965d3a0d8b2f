"""Offline logins and refresh-token logins (POST /token, wazo-token-api §1.2–§1.3, spec D3)."""
from __future__ import annotations

import re

import pytest

from tests.support.credentials import basic
from tests.support.offline_access import (
    EMPTY_BASIC, assert_error, digest, execute, is_valid, offline_login, refresh_login,
    refresh_rows, refresh_token_of, rows, token_of, token_row)
from wazo_like_auth import tokens
from wazo_like_auth.app import services_of

TOKEN_FORM = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')


@pytest.fixture
def alice(make_user):
    return make_user('alice')


def test_offline_login_returns_a_refresh_token(client, alice):
    response = offline_login(client, 'alice', 'my-app')

    assert response.status_code == 200
    data = response.get_json()['data']
    assert TOKEN_FORM.match(data['refresh_token'])
    assert data['refresh_token'] != data['token']
    assert response.headers['Wazo-Sessions-Revoked'] == '0'


def test_online_login_has_no_refresh_token(client, alice):
    response = client.post('/0.1/token', json={'client_id': 'my-app'},
                           headers=basic('alice', 's3cret'))

    assert response.status_code == 200
    assert 'refresh_token' not in response.get_json()['data']
    assert refresh_rows(services_of(client.application).engine) == []


def test_second_offline_login_with_same_client_id_returns_the_same_refresh_token(
        client, engine, alice):
    first = refresh_token_of(client, 'alice', 'my-app')
    second = refresh_token_of(client, 'alice', 'my-app')

    assert first == second
    assert len(refresh_rows(engine, alice)) == 1


def test_offline_logins_with_other_client_ids_get_other_refresh_tokens(client, engine, alice):
    values = {refresh_token_of(client, 'alice', name) for name in ('app-a', 'app-b')}

    assert len(values) == 2
    assert len(refresh_rows(engine, alice)) == 2


def test_refresh_token_is_derived_from_its_row_and_only_its_digest_is_stored(
        client, engine, config, alice):
    value = refresh_token_of(client, 'alice', 'my-app')

    [row] = refresh_rows(engine, alice)
    secret = config['token_secret'].encode()
    assert tokens.derive_refresh_token(secret, row.uuid) == value
    assert bytes(row.token_hash) == digest(value)


def test_offline_token_row_points_at_its_refresh_token(client, engine, alice):
    data = offline_login(client, 'alice', 'my-app').get_json()['data']

    [refresh] = refresh_rows(engine, alice)
    assert token_row(engine, data['token']).refresh_token_uuid == refresh.uuid


@pytest.mark.parametrize('body', [
    {'access_type': 'offline'},
    {'access_type': 'offline', 'client_id': ''},
    {'access_type': 'offline', 'client_id': 'x' * 1025},
    {'access_type': 'offline', 'client_id': 'my-app',
     'refresh_token': '00000000-0000-0000-0000-000000000000'},
    {'refresh_token': '00000000-0000-0000-0000-000000000000'},
    {'refresh_token': '00000000-0000-0000-0000-000000000000', 'client_id': ''},
    {'refresh_token': 1234, 'client_id': 'my-app'},
    {'refresh_token': ['x'], 'client_id': 'my-app'},
    {'access_type': 'offline', 'client_id': 42},
    {'access_type': 'sometimes', 'client_id': 'my-app'},
    {'access_type': 'offline', 'client_id': 'my\x00app'},
    {'refresh_token': '00000000-0000-0000-0000-000000000000', 'client_id': 'my\x00app'},
    # A refresh token under a client_id with a line break could not be deleted: the
    # /users/me/tokens/{client_id} routes never match one.
    {'access_type': 'offline', 'client_id': 'line\nbreak'},
    {'access_type': 'offline', 'client_id': 'ends\n'},
    {'access_type': 'offline', 'client_id': 'tab\tapp'},
], ids=['offline-without-client-id', 'offline-empty-client-id', 'client-id-too-long',
        'offline-with-refresh-token', 'refresh-token-without-client-id',
        'refresh-token-with-empty-client-id', 'refresh-token-number', 'refresh-token-list',
        'client-id-number', 'unknown-access-type', 'offline-client-id-with-nul',
        'refresh-client-id-with-nul', 'client-id-with-line-break',
        'client-id-ending-with-line-break', 'client-id-with-tab'])
def test_inconsistent_offline_or_refresh_request_is_refused_with_400(
        client, engine, alice, body):
    response = client.post('/0.1/token', json=body, headers=basic('alice', 's3cret'))

    error = assert_error(response, 400, 'invalid-data')
    assert error['details']
    assert refresh_rows(engine) == []


def test_client_id_of_1024_characters_is_accepted(client, alice):
    response = offline_login(client, 'alice', 'x' * 1024)

    assert response.status_code == 200


@pytest.mark.parametrize('headers', [EMPTY_BASIC, {}, basic('mallory', 'wrong')],
                         ids=['empty-basic', 'no-authorization', 'wrong-basic'])
def test_refresh_login_ignores_basic_credentials_and_returns_a_new_access_token(
        client, alice, headers):
    offline = offline_login(client, 'alice', 'my-app').get_json()['data']

    response = refresh_login(client, offline['refresh_token'], 'my-app', headers=headers)

    assert response.status_code == 200, response.get_json()
    data = response.get_json()['data']
    assert 'refresh_token' not in data
    assert data['token'] != offline['token']
    assert data['auth_id'] == str(alice)
    assert data['metadata']['uuid'] == str(alice)
    assert is_valid(client, data['token'])


def test_refresh_login_token_row_records_its_refresh_token(client, engine, alice):
    value = refresh_token_of(client, 'alice', 'my-app')

    token = refresh_login(client, value, 'my-app').get_json()['data']['token']

    [refresh] = refresh_rows(engine, alice)
    assert token_row(engine, token).refresh_token_uuid == refresh.uuid


def test_refresh_login_does_not_rotate_the_refresh_token(client, alice):
    value = refresh_token_of(client, 'alice', 'my-app')

    for _ in range(2):
        assert refresh_login(client, value, 'my-app').status_code == 200


def test_refresh_login_accepts_an_upper_case_refresh_token(client, alice):
    value = refresh_token_of(client, 'alice', 'my-app')

    assert refresh_login(client, value.upper(), 'my-app').status_code == 200


def test_refresh_login_works_under_the_public_prefix(client, alice):
    value = refresh_token_of(client, 'alice', 'my-app')

    assert refresh_login(client, value, 'my-app', prefix='/api/auth/0.1').status_code == 200


def test_refresh_login_with_unknown_refresh_token_is_refused(client, alice):
    refresh_token_of(client, 'alice', 'my-app')

    for unknown in ('00000000-0000-0000-0000-000000000000', 'not-a-token', 'x' * 1024):
        response = refresh_login(client, unknown, 'my-app')
        assert_error(response, 401, 'authentication-failed')
        assert response.get_json()['message'] == 'Authentication Failed'


def test_refresh_token_with_other_client_id_is_refused(client, alice):
    value = refresh_token_of(client, 'alice', 'my-app')

    assert_error(refresh_login(client, value, 'other-app'), 401, 'authentication-failed')


def test_refresh_token_of_another_user_client_is_not_interchangeable(client, make_user, alice):
    make_user('bob')
    value = refresh_token_of(client, 'alice', 'my-app')
    refresh_token_of(client, 'bob', 'bob-app')

    assert_error(refresh_login(client, value, 'bob-app'), 401, 'authentication-failed')


def test_refresh_login_of_disabled_user_is_refused(client, engine, alice):
    value = refresh_token_of(client, 'alice', 'my-app')
    execute(engine, 'UPDATE auth_user SET enabled = false WHERE uuid = :u', u=alice)

    assert_error(refresh_login(client, value, 'my-app'), 401, 'authentication-failed')


def test_refresh_token_of_deleted_user_is_refused(client, engine, alice):
    value = refresh_token_of(client, 'alice', 'my-app')
    execute(engine, 'DELETE FROM auth_user WHERE uuid = :u', u=alice)

    assert_error(refresh_login(client, value, 'my-app'), 401, 'authentication-failed')
    assert refresh_rows(engine) == []


def test_database_dump_contains_no_refresh_token_value(client, engine, alice):
    values = [refresh_token_of(client, 'alice', 'app-a'),
              refresh_token_of(client, 'alice', 'app-m', mobile=True)]
    access = [refresh_login(client, v, c).get_json()['data']['token']
              for v, c in zip(values, ('app-a', 'app-m'))]
    access.append(token_of(client, 'alice'))

    tables = [r.tablename for r in rows(engine, "SELECT tablename FROM pg_tables "
                                                "WHERE schemaname = 'public'")]
    assert 'auth_refresh_token' in tables and 'auth_token' in tables
    dump = '\n'.join(str(r[0]) for table in tables
                     for r in rows(engine, f'SELECT row_to_json(t) FROM "{table}" t'))
    assert len(refresh_rows(engine)) == 2
    for secret in values + access:
        assert secret not in dump
        assert secret.replace('-', '') not in dump
