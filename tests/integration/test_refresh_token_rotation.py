"""Refresh tokens of public OAuth 2.0 clients rotate (RFC 9700 §4.14.2, OAuth 2.1): each
exchange answers the next refresh token and the one presented stops working; presented again,
it shows that a copy is in other hands, and the grant is revoked with the sessions created from
it. Each grant (a phone, a laptop) has its own. The Wazo API's refresh tokens, and a
confidential client's, keep working as they are. authlib plays the public client."""
from __future__ import annotations

import threading

import pytest
import requests
from alembic import command
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.integration.test_oidc_flow import discover, sign_in_with_authlib
from tests.support.oauth_live import assert_oauth_error
from tests.support.oidc import REDIRECT, realm, register_client  # noqa: F401
from tests.support.scratch_db import migrate, scratch  # noqa: F401

SCOPE = 'openid offline_access'


@pytest.fixture
def spa(api, admin_token, make_user, realm):  # noqa: F811
    """alice of realm acme, and ``sign_in()``: her token response from a sign-in of the public
    client ``spa`` through the code flow with PKCE (a new grant each time)."""
    alice = make_user('alice', 's3cret', tenant_uuid=realm['uuid'], acl=['confd.users.me.read'])
    register_client(api, admin_token, realm['uuid'], client_id='spa', public=True,
                    grant_types=['authorization_code', 'refresh_token', 'password'])
    metadata = discover(f'{api.base}/realms/acme')

    def sign_in() -> dict:
        token, _ = sign_in_with_authlib(api, _rp(), metadata, requests.Session())
        return token
    return {'sign_in': sign_in, 'token_endpoint': metadata['token_endpoint'], 'alice': alice}


def _rp() -> OAuth2Session:
    return OAuth2Session('spa', redirect_uri=REDIRECT, scope=SCOPE,
                         code_challenge_method='S256', token_endpoint_auth_method='none')


def _refresh(spa, refresh_token: str) -> dict:
    return _rp().refresh_token(spa['token_endpoint'], refresh_token=refresh_token)


def _refused(spa, refresh_token: str) -> None:
    with pytest.raises(OAuthError) as refused:
        _refresh(spa, refresh_token)
    assert refused.value.error == 'invalid_grant'


def test_each_exchange_answers_the_next_refresh_token_and_retires_the_one_presented(api, spa):
    first = spa['sign_in']()

    second = _refresh(spa, first['refresh_token'])
    third = _refresh(spa, second['refresh_token'])

    assert len({first['refresh_token'], second['refresh_token'], third['refresh_token']}) == 3
    assert api.is_valid(second['access_token']) and api.is_valid(third['access_token'])
    assert 'id_token' in third  # still an OpenID grant
    fourth = _refresh(spa, third['refresh_token'])
    assert api.is_valid(fourth['access_token'])


def test_a_refresh_token_used_twice_revokes_its_grant(api, spa):
    first = spa['sign_in']()
    second = _refresh(spa, first['refresh_token'])  # the client rotates...

    _refused(spa, first['refresh_token'])  # ...and someone else replays the old value

    _refused(spa, second['refresh_token'])  # the grant is gone for both
    assert not api.is_valid(second['access_token'])  # with the sessions it created
    assert not api.is_valid(first['access_token'])
    assert api.is_valid(spa['sign_in']()['access_token'])  # signing in again works


def test_the_thief_rotating_first_loses_the_grant_when_the_client_comes_back(api, spa):
    first = spa['sign_in']()
    stolen = _refresh(spa, first['refresh_token'])  # the copy is used first

    _refused(spa, first['refresh_token'])  # the client's next exchange

    _refused(spa, stolen['refresh_token'])
    assert not api.is_valid(stolen['access_token'])


def test_a_value_rotated_away_long_ago_still_revokes_the_grant(api, spa):
    first = spa['sign_in']()
    second = _refresh(spa, first['refresh_token'])  # the thief redeems the copy...
    third = _refresh(spa, second['refresh_token'])  # ...and rotates once more

    _refused(spa, first['refresh_token'])  # the client comes back, two rotations behind

    _refused(spa, third['refresh_token'])  # before: the thief kept the grant
    assert not api.is_valid(third['access_token'])


def test_0018_keeps_the_value_0017_remembered_and_downgrades_to_the_latest(scratch):  # noqa: F811
    migrate(scratch, command.upgrade, '0017')
    with scratch.begin() as conn:
        conn.execute(text(_CAROL))
        conn.execute(text(_ROW.format(hash="'\\x02'", extra=", true, '\\x01'").replace(
            'metadata)', 'metadata, rotates, previous_hash)')))

    migrate(scratch, command.upgrade, '0018')
    with scratch.begin() as conn:
        retired = conn.execute(text('SELECT token_hash FROM auth_refresh_token_retired'))
        assert [bytes(d) for d in retired.scalars()] == [b'\x01']
        conn.execute(text("INSERT INTO auth_refresh_token_retired (token_hash, "
                          "refresh_token_uuid, retired_at) SELECT '\\x03', uuid, "
                          "now() + interval '1 minute' FROM auth_refresh_token"))

    migrate(scratch, command.downgrade, '0017')
    with scratch.connect() as conn:
        kept = conn.execute(text('SELECT previous_hash FROM auth_refresh_token')).scalar()
        assert bytes(kept) == b'\x03'


def test_each_grant_rotates_on_its_own(api, admin_token, spa):
    phone, laptop = spa['sign_in'](), spa['sign_in']()
    assert phone['refresh_token'] != laptop['refresh_token']

    _refresh(spa, _refresh(spa, phone['refresh_token'])['refresh_token'])

    assert api.is_valid(_refresh(spa, laptop['refresh_token'])['access_token'])
    user = spa['alice']
    listed = api.admin('GET', f'/users/{user}/tokens', admin_token).json()
    assert [item['client_id'] for item in listed['items']] == ['spa', 'spa']
    # Deleting the user's refresh token of the client (Wazo API) deletes every grant's.
    assert api.admin('DELETE', f'/users/{user}/tokens/spa', admin_token).status_code == 204
    assert api.admin('GET', f'/users/{user}/tokens', admin_token).json()['total'] == 0


def test_concurrent_exchanges_of_one_value_answer_one_token_and_revoke_the_grant(api, spa):
    """Two exchanges of the same value at once (two tabs, or a thief racing the client): one
    gets the next token, the other is a reuse; never two grants, never a 500."""
    first = spa['sign_in']()
    start, answers = threading.Barrier(2), []

    def exchange():
        start.wait()
        answers.append(requests.post(spa['token_endpoint'], timeout=10, data={
            'grant_type': 'refresh_token', 'client_id': 'spa',
            'refresh_token': first['refresh_token']}))
    threads = [threading.Thread(target=exchange) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert sorted(answer.status_code for answer in answers) == [200, 400]
    [refused] = [answer for answer in answers if answer.status_code == 400]
    assert_oauth_error(refused, 400, 'invalid_grant')
    [granted] = [answer.json() for answer in answers if answer.status_code == 200]
    _refused(spa, granted['refresh_token'])


def test_the_wazo_api_does_not_redeem_a_rotating_refresh_token(api, spa):
    first = spa['sign_in']()

    wazo = requests.post(f'{api.url}/token', timeout=10, auth=('', ''), json={
        'refresh_token': first['refresh_token'], 'client_id': 'spa'})

    assert wazo.status_code == 401
    assert api.is_valid(_refresh(spa, first['refresh_token'])['access_token'])


def test_wazo_and_confidential_refresh_tokens_do_not_rotate(api, admin_token, make_user):
    make_user('bob', 'b0bpass', acl=['confd.users.me.read'])
    confidential = register_client(api, admin_token, client_id='backend',
                                   grant_types=['password', 'refresh_token'])
    register_client(api, admin_token, client_id='app', public=True, redirect_uris=[],
                    grant_types=['refresh_token'])
    session = OAuth2Session('backend', confidential['client_secret'], scope='offline_access')
    token = session.fetch_token(api.token_url(), username='bob', password='b0bpass')
    wazo = requests.post(f'{api.url}/token', timeout=10, auth=('bob', 'b0bpass'), json={
        'access_type': 'offline', 'client_id': 'app'}).json()['data']['refresh_token']
    app = OAuth2Session('app', token_endpoint_auth_method='none')

    for _ in range(2):  # the same values keep working (authlib keeps a value not renewed)
        assert session.refresh_token(api.token_url(), refresh_token=token['refresh_token'])[
            'refresh_token'] == token['refresh_token']
        assert app.refresh_token(api.token_url(), refresh_token=wazo)['refresh_token'] == wazo
    assert requests.post(f'{api.url}/token', timeout=10, auth=('', ''), json={
        'refresh_token': wazo, 'client_id': 'app'}).status_code == 200


def test_0017_keeps_existing_refresh_tokens_and_downgrades_without_the_rotating_ones(
        scratch):  # noqa: F811
    migrate(scratch, command.upgrade, '0016')
    with scratch.begin() as conn:
        conn.execute(text(_CAROL))
        conn.execute(text(_ROW.format(hash="'\\x01'", extra='')))

    migrate(scratch, command.upgrade, '0017')
    with scratch.begin() as conn:
        kept = conn.execute(text('SELECT rotates, generation, previous_hash '
                                 'FROM auth_refresh_token')).one()
        assert tuple(kept) == (False, 0, None)  # the same value, not rotating
        for digest in ("'\\x02'", "'\\x03'"):  # two grants of one client
            conn.execute(text(_ROW.format(hash=digest, extra=', true').replace(
                'metadata)', 'metadata, rotates)')))

    migrate(scratch, command.downgrade, '0016')
    with scratch.connect() as conn:
        kept = conn.execute(text('SELECT token_hash FROM auth_refresh_token')).scalars()
        assert [bytes(digest) for digest in kept] == [b'\x01']
        with pytest.raises(IntegrityError):  # one per (user, client_id) again
            conn.execute(text(_ROW.format(hash="'\\x04'", extra='')))


_CAROL = ("INSERT INTO auth_user (uuid, tenant_uuid, username, purpose, enabled) "
          "SELECT gen_random_uuid(), uuid, 'carol', 'user', true FROM tenant "
          "WHERE uuid = parent_uuid")
_ROW = ("INSERT INTO auth_refresh_token (uuid, token_hash, client_id, user_uuid, login, "
        "metadata) SELECT gen_random_uuid(), {hash}, 'app', uuid, 'carol', '{{}}'{extra} "
        "FROM auth_user")
