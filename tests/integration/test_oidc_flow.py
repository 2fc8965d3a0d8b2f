"""The OpenID Connect authorization code flow, driven by authlib's OAuth2 client as the
relying party: discovery from nothing but the issuer URL, authorization URL with PKCE and
nonce, sign-in through the real form, code exchange, ID token validated against ``certs``,
userinfo, refresh (a new ID token), logout (the tokens stop validating)."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

from tests.support.oidc import (LOGOUT_REDIRECT, REDIRECT, callback_params,
                                            realm, register_client, submit)  # noqa: F401


def discover(issuer: str) -> dict:
    document = requests.get(issuer + '/.well-known/openid-configuration', timeout=10).json()
    assert document['issuer'] == issuer
    return document


def validated_id_token(metadata: dict, token: dict, client_id: str, nonce: str | None):
    keys = JsonWebKey.import_key_set(requests.get(metadata['jwks_uri'], timeout=10).json())
    claims = jwt.decode(token['id_token'], keys, claims_cls=CodeIDToken,
                        claims_options={'iss': {'essential': True,
                                                'value': metadata['issuer']}},
                        claims_params={'nonce': nonce, 'client_id': client_id,
                                       'access_token': token['access_token']})
    claims.validate(leeway=5)
    return claims


def sign_in_with_authlib(api, rp: OAuth2Session, metadata: dict, browser: requests.Session,
                         username='alice', password='s3cret', **extra):
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = rp.create_authorization_url(metadata['authorization_endpoint'],
                                             code_verifier=verifier, nonce=nonce, **extra)
    page = browser.get(url, timeout=10, allow_redirects=False)
    if page.status_code == 200:
        page = submit(browser, page, username=username, password=password)
    params = callback_params(page)
    assert params['state'] == state and params['iss'] == metadata['issuer']
    token = rp.fetch_token(metadata['token_endpoint'], code=params['code'],
                           code_verifier=verifier, redirect_uri=REDIRECT)
    return token, nonce


def test_relying_party_signs_in_refreshes_and_logs_out(api, admin_token, make_user, realm):
    alice = make_user('alice', 's3cret', tenant_uuid=realm['uuid'], email='alice@acme.test',
                      acl=['confd.users.me.read'])
    client = register_client(api, admin_token, realm['uuid'])
    issuer = f'{api.base}/realms/acme'
    metadata = discover(issuer)
    rp = OAuth2Session(client['client_id'], client['client_secret'], redirect_uri=REDIRECT,
                       scope='openid profile email offline_access',
                       code_challenge_method='S256')
    browser = requests.Session()

    token, nonce = sign_in_with_authlib(api, rp, metadata, browser)

    claims = validated_id_token(metadata, token, client['client_id'], nonce)
    assert claims['sub'] == str(alice) and claims['azp'] == client['client_id']
    assert claims['email'] == 'alice@acme.test' and claims['preferred_username'] == 'alice'
    assert {'auth_time', 'sid', 'at_hash', 'iat', 'exp'} <= set(claims)
    assert api.is_valid(token['access_token'], scope='confd.users.me.read')
    userinfo = rp.get(metadata['userinfo_endpoint'], timeout=10).json()
    assert userinfo['sub'] == str(alice) and userinfo['email'] == 'alice@acme.test'

    refreshed = rp.refresh_token(metadata['token_endpoint'],
                                 refresh_token=token['refresh_token'])
    again = validated_id_token(metadata, refreshed, client['client_id'], None)
    assert again['sub'] == str(alice) and again['sid'] == claims['sid']
    assert api.is_valid(refreshed['access_token'])

    logout = browser.get(metadata['end_session_endpoint'], params={
        'id_token_hint': token['id_token'], 'post_logout_redirect_uri': LOGOUT_REDIRECT,
        'state': 'bye'}, allow_redirects=False, timeout=10)
    assert logout.status_code == 302
    assert logout.headers['Location'] == LOGOUT_REDIRECT + '?state=bye'
    assert not api.is_valid(token['access_token'])
    assert not api.is_valid(refreshed['access_token'])


def test_second_authorization_skips_the_form_and_prompt_none_works(api, admin_token,
                                                                   make_user, realm):
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    client = register_client(api, admin_token, realm['uuid'], public=True)
    metadata = discover(f'{api.base}/realms/acme')
    rp = OAuth2Session(client['client_id'], redirect_uri=REDIRECT, scope='openid',
                       code_challenge_method='S256', token_endpoint_auth_method='none')
    browser = requests.Session()
    sign_in_with_authlib(api, rp, metadata, browser)

    token, nonce = sign_in_with_authlib(api, rp, metadata, browser, prompt='none')

    assert validated_id_token(metadata, token, client['client_id'], nonce)['nonce'] == nonce


def test_global_issuer_is_a_complete_openid_provider(api, admin_token, make_user):
    make_user('bob', 'pa55word', email='bob@example.com')
    client = register_client(api, admin_token, public=True)
    metadata = discover(f'{api.base}/api/auth/0.1')
    rp = OAuth2Session(client['client_id'], redirect_uri=REDIRECT, scope='openid profile',
                       code_challenge_method='S256', token_endpoint_auth_method='none')

    token, nonce = sign_in_with_authlib(api, rp, metadata, requests.Session(),
                                        username='bob', password='pa55word')

    claims = validated_id_token(metadata, token, client['client_id'], nonce)
    assert claims['preferred_username'] == 'bob' and 'email' not in claims
    userinfo = rp.get(metadata['userinfo_endpoint'], timeout=10).json()
    assert userinfo['preferred_username'] == 'bob' and 'email' not in userinfo  # no email scope


def test_realm_userinfo_refuses_tokens_of_other_tenants(api, make_user, realm):
    make_user('bob', 'pa55word')  # top tenant
    token = api.login('bob', 'pa55word')
    url = f'{api.base}/realms/acme/protocol/openid-connect/userinfo'

    refused = requests.get(url, headers={'Authorization': f'Bearer {token}'}, timeout=10)
    accepted = requests.get(f'{api.url}/oauth2/userinfo', timeout=10,
                            headers={'Authorization': f'Bearer {token}'})

    assert refused.status_code == 401 and refused.json()['error'] == 'invalid_token'
    assert accepted.status_code == 200 and accepted.json()['preferred_username'] == 'bob'



def test_a_native_application_signs_in_on_the_loopback_port_it_was_given(
        api, admin_token, make_user, realm):
    # RFC 8252 §7.3: registered once as http://127.0.0.1/callback, the application listens
    # on whatever port the system gives it at each start, and names it in the request.
    alice = make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    client = register_client(api, admin_token, realm['uuid'], client_id='cli', public=True,
                             redirect_uris=['http://127.0.0.1/callback'],
                             post_logout_redirect_uris=[])
    metadata = discover(f'{api.base}/realms/acme')
    for port in (53682, 40123):
        redirect = f'http://127.0.0.1:{port}/callback'
        rp = OAuth2Session(client['client_id'], redirect_uri=redirect, scope='openid',
                           code_challenge_method='S256', token_endpoint_auth_method='none')
        verifier = generate_token(48)
        url, state = rp.create_authorization_url(metadata['authorization_endpoint'],
                                                 code_verifier=verifier)
        browser = requests.Session()
        page = submit(browser, browser.get(url, timeout=10), username='alice',
                      password='s3cret')
        location = urlsplit(page.headers['Location'])
        assert location._replace(query='').geturl() == redirect
        params = {k: v[0] for k, v in parse_qs(location.query).items()}
        assert params['state'] == state
        token = rp.fetch_token(metadata['token_endpoint'], code=params['code'],
                               code_verifier=verifier, redirect_uri=redirect)
        assert api.is_valid(token['access_token'])
        assert validated_id_token(metadata, token, 'cli', None)['sub'] == str(alice)
    # Another host, or another path, is still not registered: an error page, no redirect.
    for other in ('http://localhost:53682/callback', 'http://127.0.0.1:53682/other'):
        rp = OAuth2Session('cli', redirect_uri=other, scope='openid',
                           code_challenge_method='S256')
        url, _ = rp.create_authorization_url(metadata['authorization_endpoint'],
                                             code_verifier=generate_token(48))
        answer = requests.get(url, timeout=10, allow_redirects=False)
        assert answer.status_code == 400 and 'Location' not in answer.headers
