"""Mobile sessions (Wazo-Session-Type, wazo-token-api §1.3 step 6, §3.6) and the concurrent-session
limit (§1.3 step 2, with expired sessions not counted)."""
from __future__ import annotations

import pytest

from tests.support.apps import running_app
from tests.support.audit import named
from tests.support.credentials import basic
from tests.support.offline_access import (
    assert_error, execute, expire_token, is_valid, offline_login, refresh_login, refresh_rows,
    rows, token_of, token_row)
from wazo_like_auth.app import services_of


@pytest.fixture
def alice(make_user):
    return make_user('alice')


def _revoked(response) -> int:
    assert response.status_code == 200, response.get_json()
    return int(response.headers['Wazo-Sessions-Revoked'])


def _session_mobile(engine, token: str) -> bool:
    session_uuid = token_row(engine, token).session_uuid
    return rows(engine, 'SELECT mobile FROM auth_session WHERE uuid = :s', s=session_uuid)[0][0]


@pytest.mark.parametrize('header', ['mobile', 'Mobile', 'MOBILE'])
def test_session_type_header_marks_session_and_refresh_token_mobile(client, engine, alice,
                                                                    header):
    response = offline_login(client, 'alice', 'phone', headers={'Wazo-Session-Type': header})

    token = response.get_json()['data']['token']
    assert _session_mobile(engine, token) is True
    assert [r.mobile for r in refresh_rows(engine, alice)] == [True]


def test_login_without_session_type_is_not_mobile(client, engine, alice):
    for session_type in ({}, {'Wazo-Session-Type': 'desktop'}):
        response = offline_login(client, 'alice', 'laptop', headers=session_type)
        assert _session_mobile(engine, response.get_json()['data']['token']) is False
    assert [r.mobile for r in refresh_rows(engine, alice)] == [False]


def test_mobile_offline_login_revokes_other_mobile_refresh_tokens_and_their_sessions(
        client, engine, alice):
    old = offline_login(client, 'alice', 'old-phone', mobile=True).get_json()['data']
    refreshed = refresh_login(client, old['refresh_token'], 'old-phone').get_json()['data']

    response = offline_login(client, 'alice', 'new-phone', mobile=True)

    assert _revoked(response) == 2
    assert not is_valid(client, old['token'])
    assert not is_valid(client, refreshed['token'])
    assert is_valid(client, response.get_json()['data']['token'])
    assert [r.client_id for r in refresh_rows(engine, alice)] == ['new-phone']
    assert_error(refresh_login(client, old['refresh_token'], 'old-phone'), 401,
                 'authentication-failed')


def test_mobile_relogin_with_same_client_id_replaces_the_refresh_token(client, engine, alice):
    first = offline_login(client, 'alice', 'phone', mobile=True).get_json()['data']

    response = offline_login(client, 'alice', 'phone', mobile=True)

    second = response.get_json()['data']
    assert second['refresh_token'] != first['refresh_token']
    assert _revoked(response) == 1
    assert not is_valid(client, first['token'])
    assert len(refresh_rows(engine, alice)) == 1
    assert refresh_login(client, second['refresh_token'], 'phone').status_code == 200
    assert_error(refresh_login(client, first['refresh_token'], 'phone'), 401,
                 'authentication-failed')


def test_mobile_login_leaves_non_mobile_refresh_tokens_and_plain_sessions(client, engine, alice):
    laptop = offline_login(client, 'alice', 'laptop').get_json()['data']
    online = token_of(client, 'alice')
    phone_online = client.post('/0.1/token', json={}, headers={
        **basic('alice', 's3cret'), 'Wazo-Session-Type': 'mobile'}).get_json()['data']['token']

    response = offline_login(client, 'alice', 'phone', mobile=True)

    assert _revoked(response) == 0
    assert is_valid(client, laptop['token']) and is_valid(client, online)
    assert is_valid(client, phone_online)
    assert refresh_login(client, laptop['refresh_token'], 'laptop').status_code == 200
    assert sorted(r.client_id for r in refresh_rows(engine, alice)) == ['laptop', 'phone']


def test_mobile_login_leaves_other_users_untouched(client, make_user, alice):
    make_user('bob')
    bob = offline_login(client, 'bob', 'phone', mobile=True).get_json()['data']

    assert _revoked(offline_login(client, 'alice', 'phone', mobile=True)) == 0
    assert _revoked(offline_login(client, 'alice', 'other-phone', mobile=True)) == 1

    assert is_valid(client, bob['token'])
    assert refresh_login(client, bob['refresh_token'], 'phone').status_code == 200


def test_non_mobile_offline_relogin_revokes_nothing(client, alice):
    first = offline_login(client, 'alice', 'laptop').get_json()['data']

    assert _revoked(offline_login(client, 'alice', 'laptop')) == 0
    assert is_valid(client, first['token'])


@pytest.fixture
def limited(make_config, db_uri, engine):
    """A client of an app allowing 3 concurrent sessions per user."""
    with running_app(make_config(db_uri=db_uri, max_user_concurrent_sessions=3), engine) as app:
        yield app.test_client()


def _sessions_of(engine, user_uuid) -> int:
    return rows(engine, 'SELECT count(*) FROM auth_session WHERE user_uuid = :u',
                u=user_uuid)[0][0]


@pytest.mark.parametrize('purpose', ['user', 'external_api'])
def test_login_beyond_the_session_limit_is_refused_with_429(limited, engine, make_user,
                                                            purpose):
    user = make_user('alice', purpose=purpose)
    for _ in range(3):
        token_of(limited, 'alice')

    response = limited.post('/0.1/token', json={}, headers=basic('alice', 's3cret'))

    assert_error(response, 429, 'too-many-sessions')
    assert _sessions_of(engine, user) == 3


def test_a_login_refused_at_the_session_limit_is_in_the_trail_but_not_a_guess(
        limited, engine, make_user, admin):
    user = str(make_user('alice'))
    for _ in range(3):
        token_of(limited, 'alice')
    outside = {'REMOTE_ADDR': '203.0.113.9'}  # not a trusted network: throttled if guessing

    def log_in():
        return limited.post('/0.1/token', json={}, headers=basic('alice', 's3cret'),
                            environ_base=outside)
    # More than the 5 failures an address may make before it is throttled.
    assert {log_in().get_json()['error_id'] for _ in range(8)} == {'too-many-sessions'}
    refused = named(admin, 'auth_login_failed', user_uuid=user)
    assert [(e['data']['login'], e['data']['address'], e['data']['reason'])
            for e in refused] == [('alice', '203.0.113.9', 'session_limit')] * 8
    # The password was right each time: none of it counted towards the guessing limits, so
    # once a session ends, the next login passes.
    execute(engine, 'DELETE FROM auth_session WHERE user_uuid = :u', u=user)
    assert log_in().status_code == 200


def test_internal_users_have_no_session_limit(limited, engine, make_user):
    user = make_user('alice', purpose='internal')

    for _ in range(5):
        token_of(limited, 'alice')

    assert _sessions_of(engine, user) == 5


def test_expired_sessions_do_not_count_towards_the_limit(limited, alice):
    first = token_of(limited, 'alice')
    token_of(limited, 'alice')
    token_of(limited, 'alice')
    expire_token(services_of(limited.application).engine, first)

    token_of(limited, 'alice')


def test_revoked_session_frees_a_slot(limited, alice):
    tokens = [token_of(limited, 'alice') for _ in range(3)]

    limited.delete(f'/0.1/token/{tokens[0]}')

    token_of(limited, 'alice')


def test_refresh_login_beyond_the_session_limit_is_refused(limited, engine, alice):
    value = offline_login(limited, 'alice', 'app').get_json()['data']['refresh_token']
    token_of(limited, 'alice')
    token_of(limited, 'alice')

    assert_error(refresh_login(limited, value, 'app'), 429, 'too-many-sessions')
    assert _sessions_of(engine, alice) == 3


def test_offline_login_refused_by_the_limit_creates_no_refresh_token(limited, engine, alice):
    for _ in range(3):
        token_of(limited, 'alice')

    assert_error(offline_login(limited, 'alice', 'app'), 429, 'too-many-sessions')
    assert refresh_rows(engine, alice) == []


def test_session_limit_is_per_user(limited, make_user, alice):
    make_user('bob')
    for _ in range(3):
        token_of(limited, 'alice')

    token_of(limited, 'bob')


def test_mobile_relogin_at_the_limit_replaces_its_own_session(limited, engine, alice):
    offline_login(limited, 'alice', 'phone', mobile=True)
    token_of(limited, 'alice')
    token_of(limited, 'alice')

    response = offline_login(limited, 'alice', 'phone', mobile=True)

    assert _revoked(response) == 1
    assert _sessions_of(engine, alice) == 3
