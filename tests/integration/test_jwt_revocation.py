"""JWT access tokens are revoked like opaque ones, by every path: the check (cached before,
evicted after), scopes check, introspection and protected endpoints refuse them at once, and
the revocation feed lists their jti for offline verifiers."""
from __future__ import annotations

import datetime as dt

import pytest
from authlib.integrations.requests_client import OAuth2Session

from tests.support.jwt_access import (decoded, feed, introspect, register_jwt_client,
                                      revoked_jtis)
from tests.support.polling import wait_until
from wazo_like_auth.app import services_of

SCOPE = 'confd.users.me.read'


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
    alice = make_user('alice', 's3cret', tenant_uuid=realm['uuid'],
                      acl=[SCOPE, 'auth.users.me.#'])
    webapp = register_jwt_client(api, admin_token, 'webapp', grant_types=['password'])
    inspector = make_client('inspector')
    token = OAuth2Session('webapp', webapp['client_secret']).fetch_token(
        api.token_url(), username='alice', password='s3cret')['access_token']
    _, claims = decoded(f'{api.url}/oauth2/certs', token)
    assert api.is_valid(token, scope=SCOPE)
    hits = cache.hits
    assert api.is_valid(token, scope=SCOPE) and cache.hits == hits + 1
    return {'api': api, 'admin': admin_token, 'alice': alice, 'realm': realm, 'token': token,
            'claims': claims, 'webapp': webapp, 'inspector': inspector}


def _ok(response, status=(200, 204)):
    assert response.status_code in status, (response.status_code, response.text)


def wazo_delete(w):
    _ok(w['api'].session.delete(f"{w['api'].url}/token/{w['token']}", timeout=10))


def rfc7009(w):
    _ok(w['api'].post_form('/oauth2/revoke', {'token': w['token']},
                           auth=('webapp', w['webapp']['client_secret'])))


def session_delete(w):
    _ok(w['api'].admin('DELETE', f"/sessions/{w['claims']['session_uuid']}", w['admin'],
                       headers={'Wazo-Tenant': w['realm']['uuid']}))


def user_disable(w):
    _ok(w['api'].admin('PUT', f"/users/{w['alice']}", w['admin'],
                       json={'username': 'alice', 'enabled': False}))


def user_delete(w):
    _ok(w['api'].admin('DELETE', f"/users/{w['alice']}", w['admin']))


def password_change(w):
    _ok(w['api'].admin('PUT', f"/users/{w['alice']}/password", w['admin'],
                       json={'old_password': 's3cret', 'new_password': 'n3w-s3cret'}))


def tenant_delete(w):
    _ok(w['api'].admin('DELETE', f"/tenants/{w['realm']['uuid']}", w['admin']))


def client_delete(w):
    _ok(w['api'].admin('DELETE', f"/clients/{w['webapp']['uuid']}", w['admin']))


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
