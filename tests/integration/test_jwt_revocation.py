"""JWT access tokens are revoked like opaque ones, by every path: the check (cached before,
evicted after), scopes check, introspection and protected endpoints refuse them at once, and
the revocation feed lists their jti for offline verifiers."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.support.jwt_access import (SCOPE, client_delete, feed, introspect, password_change,
                                      revoked_jtis, rfc7009, session_delete, tenant_delete,
                                      user_delete, user_disable, users_jwt, wazo_delete)
from tests.support.polling import wait_until
from wazo_like_auth.app import services_of


@pytest.fixture
def cache(oauth_app):
    cache = services_of(oauth_app).validation_cache
    assert wait_until(lambda: cache.enabled)
    return cache


@pytest.fixture
def world(api, admin_token, make_user, make_client, realm, cache):
    """alice of tenant acme with a JWT from the password grant of client webapp (top tenant),
    checked twice (the second time from the validation cache), and a client that
    introspects."""
    world = users_jwt(api, admin_token, make_user, realm)
    token = world['token']
    assert api.is_valid(token, scope=SCOPE)
    hits = cache.hits
    assert api.is_valid(token, scope=SCOPE) and cache.hits == hits + 1
    return {**world, 'inspector': make_client('inspector')}


@pytest.mark.parametrize('revoke', [wazo_delete, rfc7009, session_delete, user_disable,
                                    user_delete, password_change, tenant_delete,
                                    client_delete])
def test_a_revoked_jwt_is_refused_everywhere_and_listed_in_the_feed(world, revoke):
    api, token, claims = world['api'], world['token'], world['claims']
    before = feed(api, world['admin'])
    assert claims['jti'] not in {item['jti'] for item in before['items']}

    revoke(world)

    assert not api.is_valid(token, scope=SCOPE)
    assert api.session.get(f'{api.url}/token/{token}', timeout=10).status_code == 404
    scopes = api.session.post(f'{api.url}/token/{token}/scopes/check', timeout=10,
                              json={'scopes': [SCOPE]})
    assert scopes.status_code == 404
    inspector = world['inspector']
    assert introspect(api, 'inspector', inspector['client_secret'], token) == {'active': False}
    for header in ({'X-Auth-Token': token}, {'Authorization': f'Bearer {token}'}):
        me = api.session.get(f'{api.url}/users/me/tokens', headers=header, timeout=10)
        assert me.status_code == 401
    after = feed(api, world['admin'], since=before['cursor'])
    listed = {item['jti']: item['expires_at'] for item in after['items']}
    assert claims['jti'] in listed
    expires_at = dt.datetime.fromisoformat(listed[claims['jti']])
    assert expires_at.utcoffset() is not None
    assert int(expires_at.timestamp()) == claims['exp']


def test_a_live_jwt_is_a_credential_like_an_opaque_token(world):
    api, token = world['api'], world['token']
    for header in ({'X-Auth-Token': token}, {'Authorization': f'Bearer {token}'}):
        me = api.session.get(f'{api.url}/users/me/tokens', headers=header, timeout=10)
        assert me.status_code == 200, me.text
    checked = api.session.get(f'{api.url}/token/{token}', timeout=10).json()['data']
    assert checked['token'] == token and checked['auth_id'] == str(world['alice'])
    assert checked['session_uuid'] == world['claims']['session_uuid']
    scopes = api.session.post(f'{api.url}/token/{token}/scopes/check', timeout=10,
                              json={'scopes': [SCOPE, 'auth.tenants.read']}).json()
    assert scopes['scopes'] == {SCOPE: True, 'auth.tenants.read': False}
    assert world['claims']['jti'] not in revoked_jtis(api, world['admin'])


def test_a_jwt_is_listed_in_its_users_sessions(world):
    api = world['api']
    sessions = api.admin('GET', f"/users/{world['alice']}/sessions", world['admin']).json()
    assert [s['uuid'] for s in sessions['items']] == [world['claims']['session_uuid']]
