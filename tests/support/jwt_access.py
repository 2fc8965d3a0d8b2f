"""Helpers of the JWT access-token tests: a client registered with ``access_token_format:
jwt`` through the admin API, a JWT decoded with joserfc against the real ``certs`` document,
and the revocation feed read over HTTP."""
from __future__ import annotations

import base64
import json

import requests
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
