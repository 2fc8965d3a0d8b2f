"""The shipped JWT-mode verifier against tokens the service really issues (issue 16): a ``jwt``
client registered through the admin API gets them from the client credentials grant (authlib)
and from the password grant of a public client (requests-oauthlib), at the global issuer and
at a realm's; ``JwtVerifier`` verifies them offline against the real discovery document and
``certs``, for the default audience (the issuer) or the configured one, and enforces the ACL
the service granted."""
from __future__ import annotations

import uuid

import pytest
from oauthlib.oauth2 import LegacyApplicationClient
from requests_oauthlib import OAuth2Session

from tests.integration.test_oidc_flow import discover
from tests.support.jwt_access import register_jwt_client, unverified_claims
from tests.support.jwt_verifier import (AUDIENCE, assert_refused, auth_server,  # noqa: F401
                                        backend, client_credentials, get, issue, issuer,
                                        make_verifier, mono, status)

SOMEONE = str(uuid.uuid4())


def test_client_credentials_jwt_for_the_default_audience(make_verifier, backend, issuer, api,
                                                         admin_token):
    client = register_jwt_client(api, admin_token, 'billing', acl=['confd.users.*.read'])
    token = client_credentials(api, 'billing', client['client_secret'])
    verifier = make_verifier(audience=issuer)  # the default audience: the issuer's URL
    server = backend(verifier)

    assert get(server, f'/users/{SOMEONE}/profile', token).status_code == 200
    assert_refused(get(server, f'/users/{SOMEONE}/settings', token), 403, 'forbidden')
    claims = verifier.verify(token, f'confd.users.{SOMEONE}.read')
    assert claims['sub'] == claims['client_id'] == 'billing' and claims['aud'] == issuer
    assert status(make_verifier(), token) == 401  # not for the backend 'confd'


@pytest.fixture
def realm_token(api, admin_token, make_user, realm, insecure_transport, monkeypatch):
    """bob of realm acme, his JWT from the password grant of the realm's public jwt client cli
    (requests-oauthlib, as a Keycloak-style caller), for the audiences confd and chat."""
    monkeypatch.setenv('OAUTHLIB_RELAX_TOKEN_SCOPE', '1')  # the granted scope is the ACL
    bob = make_user('bob', 'pa55word', tenant_uuid=realm['uuid'],
                    acl=['confd.users.me.read', 'confd.users.me.settings.#'])
    register_jwt_client(api, admin_token, 'cli', tenant_uuid=realm['uuid'], public=True,
                        grant_types=['password'], access_token_audience=[AUDIENCE, 'chat'])
    metadata = discover(f'{api.base}/realms/acme')
    session = OAuth2Session(client=LegacyApplicationClient(client_id='cli'))
    token = session.fetch_token(metadata['token_endpoint'], username='bob', password='pa55word',
                                client_id='cli', include_client_id=True)
    return {'user': str(bob), 'issuer': metadata['issuer'], 'token': token['access_token']}


def test_password_grant_of_a_public_client_at_a_realm(make_verifier, backend, realm_token,
                                                      issue):
    bob, token, realm_issuer = realm_token['user'], realm_token['token'], realm_token['issuer']
    verifier = make_verifier(issuer=realm_issuer)
    server = backend(verifier)

    assert get(server, f'/users/{bob}/profile', token).status_code == 200  # me: the subject
    settings = get(server, f'/users/{bob}/settings', Authorization=f'Bearer {token}').json()
    assert settings['caller'] == bob
    assert_refused(get(server, f'/users/{SOMEONE}/profile', token), 403, 'forbidden')
    own = f'confd.users.{bob}.read'
    assert verifier.verify(token, own)['iss'] == realm_issuer
    assert status(make_verifier(issuer=realm_issuer, audience='chat'), token, own) == 200
    # A configured audience replaces the default one.
    assert status(make_verifier(issuer=realm_issuer, audience=realm_issuer), token, own) == 401
    # Per-tenant issuers: the global issuer's verifier refuses the realm's token, and the
    # realm's refuses the global issuer's.
    assert status(make_verifier(), token, own) == 401
    assert status(verifier, issue(), own) == 401


def test_a_real_token_expires_offline_within_the_leeway(make_verifier, issue):
    token = issue()
    exp = unverified_claims(token)['exp']
    now = [exp + 29.0]
    verifier = make_verifier(leeway=30, wall_clock=lambda: now[0])
    assert status(verifier, token) == 200
    now[0] = exp + 30.0
    assert status(verifier, token) == 401
