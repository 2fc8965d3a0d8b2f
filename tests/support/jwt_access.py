"""Helpers of the JWT access-token tests: a client registered with ``access_token_format:
jwt`` through the admin API, a JWT decoded with joserfc against the real ``certs`` document,
the revocation feed read over HTTP, and a user's JWT with the ways to revoke it."""
from __future__ import annotations

import base64
import json

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.support.oauth_live import PREFIX

ISSUER_PATH = PREFIX  # the global issuer is {base}/api/auth/0.1


def register_jwt_client(api, admin_token: str, client_id: str, *, tenant_uuid=None,
                        **fields) -> dict:
    """POST /clients with ``access_token_format: jwt`` (and ``fields``); the answer."""
    body = {'client_id': client_id, 'access_token_format': 'jwt', **fields}
    headers = {'Wazo-Tenant': str(tenant_uuid)} if tenant_uuid else {}
    response = api.admin('POST', '/clients', admin_token, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def decoded(jwks_uri: str, value: str) -> tuple[dict, dict]:
    """(header, claims) of ``value``, its signature verified with joserfc against the JWK
    Set served at ``jwks_uri``."""
    keys = KeySet.import_key_set(requests.get(jwks_uri, timeout=10).json())
    token = jwt.decode(value, keys, algorithms=['RS256', 'ES256'])
    return token.header, token.claims


def unverified_claims(value: str) -> dict:
    """The payload of a JWT, read as a resource server without keys would (no check)."""
    payload = value.split('.')[1]
    return json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4)))


def feed(api, token: str, since: str | None = None) -> dict:
    """GET /tokens/revoked (200 expected); the answer."""
    params = {'since': since} if since is not None else {}
    response = api.session.get(f'{api.url}/tokens/revoked', params=params, timeout=10,
                               headers={'X-Auth-Token': token})
    assert response.status_code == 200, response.text
    return response.json()


def revoked_jtis(api, token: str, since: str | None = None) -> set[str]:
    return {item['jti'] for item in feed(api, token, since)['items']}


def introspect(api, client_id: str, secret: str, token: str) -> dict:
    response = api.post_form('/oauth2/introspect', {'token': token},
                             auth=(client_id, secret))
    assert response.status_code == 200, response.text
    return response.json()


SCOPE = 'confd.users.me.read'


def users_jwt(api, admin_token: str, make_user, realm: dict) -> dict:
    """alice of tenant acme (ACL SCOPE and ``auth.users.me.#``) with a JWT from the password
    grant (authlib) of the confidential jwt client webapp of the top tenant: a dict of what
    the revocation ways below need (``api``, ``admin``, ``alice``, ``realm``, ``token``,
    ``claims``, ``webapp``)."""
    alice = make_user('alice', 's3cret', tenant_uuid=realm['uuid'],
                      acl=[SCOPE, 'auth.users.me.#'])
    webapp = register_jwt_client(api, admin_token, 'webapp', grant_types=['password'])
    token = OAuth2Session('webapp', webapp['client_secret']).fetch_token(
        api.token_url(), username='alice', password='s3cret')['access_token']
    _, claims = decoded(f'{api.url}/oauth2/certs', token)
    return {'api': api, 'admin': admin_token, 'alice': alice, 'realm': realm, 'token': token,
            'claims': claims, 'webapp': webapp}


def _ok(response, status=(200, 204)):
    assert response.status_code in status, (response.status_code, response.text)


# The ways to revoke the JWT of ``users_jwt``, each through the HTTP API.

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
