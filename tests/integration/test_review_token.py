"""Defects found by the adversarial review of the token API and the user-facing flows around
it (logins, checks, mail flows, metrics): each test is what a user saw before its fix."""
from __future__ import annotations

import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.admin_client import AdminClient, token_of
from tests.support.envelope import assert_envelope
from tests.support.smtp_server import mail_config, mailbox  # noqa: F401

RESET = '/0.1/users/password/reset'


@pytest.fixture
def config(mail_config, mailbox):  # noqa: F811
    return mail_config(mailbox.port)


@pytest.mark.parametrize('query', [{'username': '\x00'}, {'login': 'alice\x00'},
                                   {'email': 'alice@example.com\x00'}, {'login': 'a@\x00'}])
def test_reset_request_for_a_value_holding_nul_is_400_not_500(client, make_user, query):
    make_user('alice', 's3cret', email='alice@example.com')
    body = assert_envelope(client.get(RESET, query_string=query), 400)
    assert body['error_id'] == 'invalid-data' and body['resource'] == 'reset'
    assert client.get(RESET, query_string={'username': 'alice'}).status_code == 204


def _latency_methods(client) -> set[str]:
    text = client.get('/metrics').get_data(as_text=True)
    return {sample.labels['method'] for family in text_string_to_metric_families(text)
            if family.name == 'wazo_auth_request_duration_seconds'
            for sample in family.samples}


def test_unknown_http_methods_do_not_each_add_a_metric_series(client):
    for i in range(20):  # anyone can send any method name: each was a new series, forever
        assert_envelope(client.open(f'/0.1/token/x{i}', method=f'SCAN{i}'), 405)
    assert_envelope(client.open('/0.1/nowhere', method='PROPFIND'), 404)
    methods = _latency_methods(client)
    assert not any(m.startswith('SCAN') or m == 'PROPFIND' for m in methods)
    assert 'other' in methods


@pytest.mark.parametrize('username', ['Ärger', 'Élodie', 'ÑANDÚ'])
def test_a_username_with_non_ascii_capitals_logs_in_as_typed(login, make_user, username):
    # Logins were compared as lower(column) = <Python-lowered login>: PostgreSQL's lower()
    # follows the database's locale (C: ASCII only) while Python's folds every script, so
    # such a user could not log in at all, nor be throttled, reset or found as a login.
    make_user(username, 's3cret')
    assert login(username, 's3cret').status_code == 200


def test_a_confirmed_address_with_non_ascii_capitals_is_a_login_and_gets_resets(
        client, app, login, make_user, mailbox):  # noqa: F811
    from tests.support.smtp_server import deliver
    make_user('elise', 's3cret', email='Élise@example.com')
    assert login('Élise@example.com', 's3cret').status_code == 200
    assert login('Élise@EXAMPLE.com', 's3cret').status_code == 200
    before = len(mailbox.received)
    assert client.get(RESET, query_string={'email': 'Élise@example.com'}).status_code == 204
    deliver(app)
    assert len(mailbox.wait(before + 1)) == before + 1


def test_two_users_a_c_locale_database_tells_apart_each_log_in_as_typed(login, make_user):
    # The embedded database's lower() keeps Ä, so its unique index holds both; a login is
    # matched lowered by PostgreSQL and by Python, the row named as typed first.
    make_user('Ärger', 'upper-pw')
    make_user('ärger', 'lower-pw')
    assert login('Ärger', 'upper-pw').status_code == 200
    assert login('ärger', 'lower-pw').status_code == 200
    assert login('Ärger', 'lower-pw').status_code == 401


def test_creating_a_user_whose_non_ascii_username_is_taken_is_409(admin, make_user):
    make_user('Ärger', 's3cret')
    response = admin.post('/users', json={'username': 'Ärger', 'password': 'x'})
    assert response.status_code == 409, response.get_json()


def test_a_long_scope_is_answered_for_an_acl_whose_wildcards_compete(client, make_user, login):
    # A policy entry such as confd.#.#.#.#.#.#.z (a tenant administrator may write one) made
    # a check of a scope of a few hundred dots run for hours: the backtracking regex tried
    # every split of the dots among the wildcards (tests/unit/test_acl.py fails instead).
    make_user('alice', 's3cret', acl=['confd.#.#.#.#.#.#.z', 'x.a*a*a*a*a*a*z'])
    token = login().get_json()['data']['token']
    dots = 'confd.' + '.' * 2000
    assert client.head(f'/0.1/token/{token}?scope={dots}').status_code == 403
    assert client.head(f'/0.1/token/{token}?scope={dots}z').status_code == 204
    checked = client.post(f'/0.1/token/{token}/scopes/check',
                          json={'scopes': ['x.' + 'a' * 1000, 'x.' + 'a' * 1000 + 'z']})
    assert checked.get_json()['scopes'] == {'x.' + 'a' * 1000: False,
                                            'x.' + 'a' * 1000 + 'z': True}


def test_an_address_equal_but_for_non_ascii_case_cannot_shadow_a_login(
        admin, client, make_user, login):
    # lower() of a C-locale database keeps É: 'élise@…' was free beside the username
    # 'Élise@…', and a login as typed ('Élise@…', lowered by Python too) reached the other
    # user's confirmed address first: the owner locked out, the other's password let in.
    admin.ok('POST', '/users', json={'username': 'Élise@example.com', 'password': 'victim-pw'})
    child = admin.ok('POST', '/tenants', json={'name': 'child'})['uuid']
    make_user('sub-admin', acl=['#'], tenant_uuid=uuid.UUID(child))
    sub_admin = AdminClient(client, token_of(login, 'sub-admin'))
    for address in ('élise@example.com', 'ÉLISE@EXAMPLE.COM'):
        taken = sub_admin.post('/users', json={'username': 'mallory', 'password': 'm-pw',
                                               'email_address': address})
        assert taken.status_code == 409, taken.get_json()
    other = admin.post('/users', json={'username': 'other', 'password': 'pw',
                                       'email_address': 'JOSÉ@example.com'})
    assert other.status_code == 200
    assert admin.post('/users', json={'username': 'josé@example.com', 'password': 'pw'}) \
        .status_code == 409


def test_a_login_as_written_names_its_user_before_any_unicode_lowered_namesake(
        login, make_user):
    # Two such users made before the check above (or straight in the database): the login as
    # written wins over an address only the Unicode lowering makes equal.
    make_user('Élise@example.com', 'victim-pw')
    make_user('mallory', 'mallory-pw', email='élise@example.com')
    assert login('Élise@example.com', 'victim-pw').status_code == 200
    assert login('Élise@example.com', 'mallory-pw').status_code == 401
    assert login('élise@example.com', 'mallory-pw').status_code == 200
