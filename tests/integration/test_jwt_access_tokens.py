"""JWT access tokens (RFC 9068) for clients with ``access_token_format: jwt``: every grant
(client credentials, password, refresh, device, authorization code), driven by client
libraries nobody here wrote (authlib, requests-oauthlib), decoded with joserfc against the real
``certs``, and checked online like any Wazo token."""
from __future__ import annotations

import uuid

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from oauthlib.oauth2 import LegacyApplicationClient
from requests_oauthlib import OAuth2Session as RequestsOAuth2Session

from tests.integration.test_oidc_flow import discover, sign_in_with_authlib, validated_id_token
from tests.support.device_flow import Person, poll, start
from tests.support.jwt_access import decoded, introspect, register_jwt_client
from tests.support.oidc import REDIRECT

CLAIMS = {'iss', 'sub', 'aud', 'client_id', 'exp', 'iat', 'jti', 'scope', 'tenant_uuid',
          'session_uuid'}


@pytest.fixture
def alice(make_user):
    return make_user('alice', 's3cret', acl=['confd.users.me.read', 'auth.users.me.#'])


def global_issuer(api) -> str:
    return f'{api.base}/api/auth/0.1'


def assert_rfc9068(api, token: dict, issuer: str, jwks_uri: str) -> dict:
    """The access token of a token response is an RFC 9068 JWT of ``issuer``, signed with a
    key of ``jwks_uri``, expiring as ``expires_in`` says; returns its claims."""
    assert token['token_type'] == 'Bearer'
    header, claims = decoded(jwks_uri, token['access_token'])
    assert header['typ'] == 'at+jwt' and header['alg'] == 'RS256' and header['kid']
    assert CLAIMS <= set(claims)
    assert claims['iss'] == issuer
    assert claims['exp'] - claims['iat'] == token['expires_in']
    assert len(claims['jti']) >= 22
    uuid.UUID(claims['session_uuid'])
    return claims


def test_client_credentials_in_the_form_body_give_a_jwt(api, admin_token, top_tenant):
    """A Keycloak-style caller: client_id and client_secret in the form body."""
    client = register_jwt_client(api, admin_token, 'billing', acl=['confd.users.read'])
    session = OAuth2Session('billing', client['client_secret'],
                            token_endpoint_auth_method='client_secret_post')

    token = session.fetch_token(api.token_url(), grant_type='client_credentials')

    issuer = global_issuer(api)
    claims = assert_rfc9068(api, token, issuer, f'{issuer}/oauth2/certs')
    assert claims['sub'] == claims['client_id'] == 'billing'
    assert claims['aud'] == issuer  # the default audience: the issuer
    assert claims['scope'] == token['scope'] == 'confd.users.read'
    assert 'acl' not in claims  # the scope says it all
    assert claims['tenant_uuid'] == str(top_tenant)
    assert api.is_valid(token['access_token'], scope='confd.users.read')
    assert not api.is_valid(token['access_token'], scope='confd.users.delete')
    described = introspect(api, 'billing', client['client_secret'], token['access_token'])
    assert described['active'] and described['jti'] == claims['jti']
    assert described['sub'] == 'billing' and described['exp'] == claims['exp']


def test_password_grant_of_a_public_client_at_a_realm_and_refresh(api, admin_token, make_user,
                                                                  realm, insecure_transport,
                                                                  monkeypatch):
    """A Keycloak-style public client: username and password at the realm's token endpoint,
    with requests-oauthlib; its refresh gives a new JWT with a new jti."""
    monkeypatch.setenv('OAUTHLIB_RELAX_TOKEN_SCOPE', '1')  # the granted scope is the ACL
    bob = make_user('bob', 'pa55word', tenant_uuid=realm['uuid'], acl=['confd.users.me.read'])
    register_jwt_client(api, admin_token, 'cli', tenant_uuid=realm['uuid'], public=True,
                        grant_types=['password', 'refresh_token'])
    metadata = discover(f'{api.base}/realms/acme')
    session = RequestsOAuth2Session(client=LegacyApplicationClient(client_id='cli'),
                                    scope=['offline_access'])

    token = session.fetch_token(metadata['token_endpoint'], username='bob',
                                password='pa55word', client_id='cli', include_client_id=True,
                                scope='offline_access')

    claims = assert_rfc9068(api, token, metadata['issuer'], metadata['jwks_uri'])
    assert claims['sub'] == str(bob) and claims['client_id'] == 'cli'
    assert claims['tenant_uuid'] == realm['uuid'] and claims['scope'] == 'confd.users.me.read'
    assert api.is_valid(token['access_token'], scope='confd.users.me.read')
    refreshed = session.refresh_token(metadata['token_endpoint'],
                                      refresh_token=token['refresh_token'], client_id='cli',
                                      include_client_id=True)
    again = assert_rfc9068(api, refreshed, metadata['issuer'], metadata['jwks_uri'])
    assert again['sub'] == str(bob)
    assert (again['jti'], again['session_uuid']) != (claims['jti'], claims['session_uuid'])
    assert api.is_valid(refreshed['access_token']) and api.is_valid(token['access_token'])


def test_confidential_password_grant_with_authlib_and_configured_audiences(api, admin_token,
                                                                           alice):
    client = register_jwt_client(api, admin_token, 'webapp', grant_types=['password'],
                                 access_token_audience=['https://api.example.com', 'chat'])
    session = OAuth2Session('webapp', client['client_secret'])

    token = session.fetch_token(api.token_url(), username='alice', password='s3cret')

    issuer = global_issuer(api)
    claims = assert_rfc9068(api, token, issuer, f'{issuer}/oauth2/certs')
    assert claims['aud'] == ['https://api.example.com', 'chat']
    assert claims['sub'] == str(alice)
    # The bearer JWT works on the protected endpoints of the Wazo API.
    listed = session.get(f'{api.url}/users/me/tokens', timeout=10)
    assert listed.status_code == 200, listed.text


def test_device_grant_gives_a_jwt(api, admin_token, alice, clock):
    register_jwt_client(api, admin_token, 'tv', public=True, access_token_audience='media')
    device = OAuth2Session('tv', token_endpoint_auth_method='none')
    started = start(api, client_id='tv')
    person = Person()
    consent = person.sign_in(started['verification_uri_complete'], 'alice', 's3cret')
    assert person.decide(consent, 'approve').status_code == 200
    clock.advance(1)

    token = poll(api, device, started['device_code'])

    issuer = global_issuer(api)
    claims = assert_rfc9068(api, token, issuer, f'{issuer}/oauth2/certs')
    assert claims['aud'] == 'media' and claims['sub'] == str(alice)
    assert api.is_valid(token['access_token'], scope='confd.users.me.read')


def test_authorization_code_grant_gives_a_jwt_with_its_id_token(api, admin_token, make_user,
                                                               realm):
    carol = make_user('carol', 's3cret', tenant_uuid=realm['uuid'],
                      acl=['confd.users.me.read'])
    client = register_jwt_client(
        api, admin_token, 'webapp', tenant_uuid=realm['uuid'],
        grant_types=['authorization_code', 'refresh_token'], redirect_uris=[REDIRECT])
    metadata = discover(f'{api.base}/realms/acme')
    rp = OAuth2Session('webapp', client['client_secret'], redirect_uri=REDIRECT,
                       scope='openid profile offline_access', code_challenge_method='S256')

    token, nonce = sign_in_with_authlib(api, rp, metadata, requests.Session(),
                                        username='carol')

    claims = assert_rfc9068(api, token, metadata['issuer'], metadata['jwks_uri'])
    assert claims['sub'] == str(carol)
    assert claims['scope'].split() == ['confd.users.me.read', 'openid', 'profile',
                                       'offline_access']
    assert claims['acl'] == ['confd.users.me.read']  # the scope is more than the ACL
    # The ID token's at_hash is of this JWT (authlib checks it).
    assert validated_id_token(metadata, token, 'webapp', nonce)['sub'] == str(carol)
    refreshed = rp.refresh_token(metadata['token_endpoint'],
                                 refresh_token=token['refresh_token'])
    again = assert_rfc9068(api, refreshed, metadata['issuer'], metadata['jwks_uri'])
    assert again['scope'] == claims['scope']
    userinfo = rp.get(metadata['userinfo_endpoint'], timeout=10)
    assert userinfo.json()['sub'] == str(carol)
    # Introspection tells the same scope as the JWT (it left the OpenID scopes out).
    described = introspect(api, 'webapp', client['client_secret'], token['access_token'])
    assert described['scope'].split() == claims['scope'].split()


def test_opaque_is_the_default_and_the_wazo_api_stays_opaque(api, admin_token, make_client,
                                                             alice):
    opaque = make_client('plain', acl=['confd.users.read'])
    register_jwt_client(api, admin_token, 'mobile', public=True,
                        grant_types=['password', 'refresh_token'])

    token = OAuth2Session('plain', opaque['client_secret']).fetch_token(
        api.token_url(), grant_type='client_credentials')
    wazo = api.session.post(f'{api.url}/token', auth=('alice', 's3cret'), timeout=10,
                            json={'access_type': 'offline', 'client_id': 'mobile'})

    assert opaque['access_token_format'] == 'opaque' and len(token['access_token']) == 36
    # POST /token is the Wazo API: its tokens are opaque whatever the client_id names.
    assert len(wazo.json()['data']['token']) == 36
