"""panva's openid-client (npm, OpenID Certified) against the real `wazo-like-auth serve`
(granian, two workers) with `public_url` set: discovery of a realm, the code flow with PKCE,
state and nonce (the sign-in posted through the form), the callback and ID token validated
by the library, userinfo, refresh, revocation and logout. The in-process variants of each
step are in tests/interop/test_openid_client.py; this one guards the served HTTP layer.

Skips when Node.js or the package is missing (tests/support/openid_client.py).
"""
from __future__ import annotations

import secrets

import pytest
import requests

from tests.interop.test_openid_client import sign_in, sign_out
from tests.support.hardened import ADMIN, settings
from tests.support.oauth_live import Api
from tests.support.oidc import register_client
from tests.support.openid_client import needs_openid_client, openid_client  # noqa: F401
from tests.support.served import free_port, serve_command, service, write_config

pytestmark = [pytest.mark.e2e, needs_openid_client]


def test_code_flow_of_a_served_realm_behind_its_public_url(tmp_path, db_uri, engine,
                                                           openid_client):
    port = free_port()
    base = f'http://127.0.0.1:{port}'
    config = write_config(tmp_path / 'config.yml', settings(
        db_uri, tmp_path / 'state', port, public_url=f'{base}/api/auth/0.1'))
    with service(serve_command('--config', config), port, tmp_path / 'logs') as svc:
        svc.wait_until_up()
        api = Api(base)
        admin = api.login(*ADMIN)
        slug = 'rp' + secrets.token_hex(4)  # the e2e database is shared, never emptied
        tenant = created(api.admin('POST', '/tenants', admin, json={'name': slug, 'slug': slug}))
        alice = created(api.admin('POST', '/users', admin, headers={'Wazo-Tenant': tenant['uuid']},
                                  json={'username': f'alice-{slug}', 'password': 's3cret'}))
        client = register_client(api, admin, tenant['uuid'])
        issuer = f'{base}/realms/{slug}'
        openid_client('discover', issuer=issuer, client_id='webapp',
                      client_secret=client['client_secret'])
        browser = requests.Session()

        tokens = sign_in(openid_client, browser, f'alice-{slug}', 's3cret')

        assert (tokens['claims']['iss'], tokens['claims']['sub']) == (issuer, alice['uuid'])
        assert openid_client('userinfo', access_token=tokens['access_token'],
                             sub=alice['uuid'])['sub'] == alice['uuid']
        refreshed = openid_client('refresh', refresh_token=tokens['refresh_token'])
        assert refreshed['claims']['sid'] == tokens['claims']['sid']
        sign_out(openid_client, browser, refreshed['id_token'])
        assert not api.is_valid(refreshed['access_token'])
        openid_client('revoke', token=refreshed['refresh_token'])
        assert openid_client.attempt('refresh', refresh_token=refreshed['refresh_token'])[
            'error']['error'] == 'invalid_grant'
        assert svc.terminate() == 0


def created(response: requests.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()
