"""ID tokens of the password grant (Keycloak's "direct access grants") and of its refreshes:
a token request with the ``openid`` scope answers an ID token (OIDC Core §3.1.3.3), signed as
the authorization code flow's, with the issuer the request came to. Driven by authlib and
requests-oauthlib against the served app; ID tokens validated by authlib against ``certs``."""
from __future__ import annotations

import requests
from authlib.integrations.requests_client import OAuth2Session
from oauthlib.oauth2 import LegacyApplicationClient
from requests_oauthlib import OAuth2Session as RequestsOAuth2Session

from tests.integration.test_oidc_flow import discover, validated_id_token
from tests.support.oidc import realm, register_client  # noqa: F401

GRANTS = ['password', 'refresh_token']
ID_CLAIMS = {'iss', 'sub', 'aud', 'azp', 'exp', 'iat', 'auth_time', 'sid', 'at_hash'}


def session_of(api, admin_token, access_token: str) -> str:
    response = api.admin('GET', f'/token/{access_token}', admin_token)
    assert response.status_code == 200, response.text
    return response.json()['data']['session_uuid']


def test_password_grant_with_openid_answers_an_id_token_of_the_realm(api, admin_token,
                                                                     make_user, realm):
    alice = make_user('alice', 's3cret', tenant_uuid=realm['uuid'], email='alice@acme.test',
                      acl=['confd.users.me.read'])
    register_client(api, admin_token, realm['uuid'], client_id='cli', public=True,
                    redirect_uris=[], grant_types=GRANTS)
    metadata = discover(f'{api.base}/realms/acme')
    rp = OAuth2Session('cli', scope='openid profile email offline_access',
                       token_endpoint_auth_method='none')

    token = rp.fetch_token(metadata['token_endpoint'], username='alice', password='s3cret')

    claims = validated_id_token(metadata, token, 'cli', None)
    assert ID_CLAIMS <= set(claims) and 'nonce' not in claims
    assert claims['iss'] == f'{api.base}/realms/acme' and claims['sub'] == str(alice)
    assert claims['aud'] == 'cli' and claims['azp'] == 'cli'
    assert claims['preferred_username'] == 'alice' and claims['email'] == 'alice@acme.test'
    assert claims['exp'] - claims['iat'] == token['expires_in']
    assert claims['sid'] == session_of(api, admin_token, token['access_token'])
    assert token['scope'].split()[:4] == ['openid', 'profile', 'email', 'offline_access']
    assert api.is_valid(token['access_token'], scope='confd.users.me.read')
    # userinfo answers the claims of the same scopes as the ID token.
    userinfo = rp.get(metadata['userinfo_endpoint'], timeout=10).json()
    assert userinfo['sub'] == str(alice) and userinfo['email'] == 'alice@acme.test'


def test_refresh_of_an_openid_password_grant_answers_a_new_id_token(api, admin_token,
                                                                    make_user, realm):
    alice = make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    register_client(api, admin_token, realm['uuid'], client_id='cli', public=True,
                    redirect_uris=[], grant_types=GRANTS)
    metadata = discover(f'{api.base}/realms/acme')
    rp = OAuth2Session('cli', scope='openid offline_access', token_endpoint_auth_method='none')
    token = rp.fetch_token(metadata['token_endpoint'], username='alice', password='s3cret')
    first = validated_id_token(metadata, token, 'cli', None)

    refreshed = rp.refresh_token(metadata['token_endpoint'],
                                 refresh_token=token['refresh_token'])

    # OIDC Core §12.2: same iss, sub, aud, auth_time; at_hash of the new access token.
    again = validated_id_token(metadata, refreshed, 'cli', None)
    assert again['sub'] == str(alice) and again['iss'] == first['iss']
    assert (again['auth_time'], again['sid']) == (first['auth_time'], first['sid'])
    assert 'preferred_username' not in again  # no profile scope asked
    assert refreshed['scope'].split()[:2] == ['openid', 'offline_access']
    assert api.is_valid(refreshed['access_token'])


def test_global_issuer_password_grant_with_requests_oauthlib(api, admin_token, make_user,
                                                             insecure_transport):
    bob = make_user('bob', 'pa55word')
    client = register_client(api, admin_token, client_id='legacy', redirect_uris=[],
                             grant_types=['password'])
    metadata = discover(f'{api.base}/api/auth/0.1')
    # requests-oauthlib sends the scope of the oauthlib client in the password grant.
    rp = RequestsOAuth2Session(client=LegacyApplicationClient(client_id='legacy',
                                                              scope=['openid']))

    token = rp.fetch_token(metadata['token_endpoint'], username='bob', password='pa55word',
                           client_id='legacy', client_secret=client['client_secret'])

    claims = validated_id_token(metadata, token, 'legacy', None)
    assert claims['iss'] == f'{api.base}/api/auth/0.1' and claims['sub'] == str(bob)
    assert 'preferred_username' not in claims and 'refresh_token' not in token


def test_password_grant_without_openid_answers_no_id_token(api, admin_token, make_user):
    make_user('bob', 'pa55word', email='bob@example.com')
    register_client(api, admin_token, client_id='cli', public=True, redirect_uris=[],
                    grant_types=GRANTS)
    rp = OAuth2Session('cli', scope='profile email offline_access',
                       token_endpoint_auth_method='none')

    token = rp.fetch_token(api.token_url(), username='bob', password='pa55word')
    refreshed = rp.refresh_token(api.token_url(), refresh_token=token['refresh_token'])

    assert 'id_token' not in token and 'id_token' not in refreshed
    assert 'openid' not in token['scope'].split()
    # Not an OpenID grant: userinfo keeps the claims it always gave such tokens.
    userinfo = rp.get(f'{api.url}/oauth2/userinfo', timeout=10).json()
    assert userinfo['preferred_username'] == 'bob' and 'tenant_uuid' in userinfo


def test_openid_password_grant_of_a_user_of_another_tenant_fails_at_the_realm(
        api, admin_token, make_user, realm):
    make_user('bob', 'pa55word')  # top tenant
    register_client(api, admin_token, realm['uuid'], client_id='cli', public=True,
                    redirect_uris=[], grant_types=GRANTS)

    refused = requests.post(f'{api.base}/realms/acme/protocol/openid-connect/token',
                            data={'grant_type': 'password', 'client_id': 'cli',
                                  'username': 'bob', 'password': 'pa55word',
                                  'scope': 'openid'}, timeout=10)

    assert refused.status_code == 400 and refused.json()['error'] == 'invalid_grant'
    assert 'id_token' not in refused.json()
