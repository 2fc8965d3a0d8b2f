"""Interoperability with panva's openid-client (npm, OpenID Certified relying party), at a
realm and at the global issuer: discovery from the issuer URL alone (OIDC and RFC 8414),
the authorization code flow with PKCE S256, state and nonce (the sign-in posted through the
real form), the callback validated by the library (RFC 9207 ``iss``, state, the ID token's
signature against ``certs``, nonce, at_hash, aud, exp/iat), userinfo, refresh, client
credentials, introspection, revocation, the device grant and the end-session URL.

Skips when Node.js or the package is missing (tests/support/openid_client.py says how to
install them). One Node process per test, a few seconds each.
"""
from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.support.apps import running_app
from tests.support.device_flow import Person
from tests.support.live_server import LiveServer
from tests.support.oauth_live import Api
from tests.support.oidc import (LOGOUT_REDIRECT, REDIRECT, callback_params, forms_of,
                                realm, register_client, submit)  # noqa: F401
from tests.support.openid_client import needs_openid_client, openid_client  # noqa: F401
from wazo_like_auth.server import prepare_database

pytestmark = needs_openid_client

SCOPE = 'openid profile email offline_access'


def sign_in(rp, browser: requests.Session, username='alice', password='s3cret',
            scope=SCOPE, bare=False, **params) -> dict:
    """The authorization request of openid-client, the form posted, and the callback as
    openid-client validates it (the code exchanged): its token answer with the ID token's
    claims. ``bare``: without state and nonce, as openid-client's own example."""
    request = rp('authorize', redirect_uri=REDIRECT, scope=scope, params=params, bare=bare)
    page = browser.get(request['url'], timeout=10, allow_redirects=False)
    if page.status_code == 200:
        page = submit(browser, page, username=username, password=password)
    callback_params(page)  # a redirect to the registered URI
    tokens = rp('callback', url=page.headers['Location'], state=request['state'])
    assert tokens['claims'].get('nonce') == request['nonce']
    return tokens


def sign_out(rp, browser: requests.Session, id_token: str) -> None:
    url = rp('end_session', id_token_hint=id_token, post_logout_redirect_uri=LOGOUT_REDIRECT,
             state='bye')
    logout = browser.get(url, allow_redirects=False, timeout=10)
    assert logout.status_code == 302, logout.text[:500]
    assert logout.headers['Location'] == LOGOUT_REDIRECT + '?state=bye'


def test_code_flow_at_a_realm_with_a_confidential_client(api, admin_token, make_user, realm,
                                                         openid_client):
    alice = make_user('alice', 's3cret', tenant_uuid=realm['uuid'], email='alice@acme.test',
                      acl=['confd.users.me.read'])
    client = register_client(api, admin_token, realm['uuid'])
    issuer = f'{api.base}/realms/acme'
    metadata = openid_client('discover', issuer=issuer, client_id='webapp',
                             client_secret=client['client_secret'])
    assert metadata['issuer'] == issuer
    browser = requests.Session()

    tokens = sign_in(openid_client, browser)

    claims = tokens['claims']
    assert (claims['iss'], claims['sub'], claims['aud']) == (issuer, str(alice), 'webapp')
    assert claims['email'] == 'alice@acme.test' and 'at_hash' in claims
    assert api.is_valid(tokens['access_token'], scope='confd.users.me.read')
    userinfo = openid_client('userinfo', access_token=tokens['access_token'], sub=str(alice))
    assert userinfo['preferred_username'] == 'alice'
    refreshed = openid_client('refresh', refresh_token=tokens['refresh_token'])
    again = refreshed['claims']  # OIDC Core §12.2: the same person, client and sign-in
    assert [again.get(c) for c in ('iss', 'sub', 'aud', 'auth_time', 'sid')] == \
        [claims.get(c) for c in ('iss', 'sub', 'aud', 'auth_time', 'sid')]
    assert again.get('nonce') in (None, claims['nonce'])
    assert refreshed['refresh_token'] != tokens['refresh_token']  # it rotates
    sign_out(openid_client, browser, tokens['id_token'])
    assert not api.is_valid(refreshed['access_token'])


def test_code_flow_at_the_global_issuer_with_a_public_client(api, admin_token, make_user,
                                                             openid_client):
    bob = make_user('bob', 'pa55word', email='bob@example.com')
    register_client(api, admin_token, public=True)
    issuer = f'{api.base}/api/auth/0.1'
    openid_client('discover', issuer=issuer, client_id='webapp')
    browser = requests.Session()

    tokens = sign_in(openid_client, browser, 'bob', 'pa55word', scope='openid profile')

    assert (tokens['claims']['iss'], tokens['claims']['sub']) == (issuer, str(bob))
    assert 'email' not in tokens['claims'] and 'refresh_token' not in tokens
    userinfo = openid_client('userinfo', access_token=tokens['access_token'], sub=str(bob))
    assert userinfo['preferred_username'] == 'bob'
    silent = sign_in(openid_client, browser, scope='openid', prompt='none')
    assert silent['claims']['sid'] == tokens['claims']['sid']
    sign_out(openid_client, browser, tokens['id_token'])
    assert not api.is_valid(tokens['access_token'])


def test_an_error_sent_back_to_the_application_is_read_by_openid_client(
        api, admin_token, make_user, realm, openid_client):
    # prompt=none without a sign-in: login_required, with state and iss (RFC 9207).
    register_client(api, admin_token, realm['uuid'], public=True)
    openid_client('discover', issuer=f'{api.base}/realms/acme', client_id='webapp')
    request = openid_client('authorize', redirect_uri=REDIRECT, scope='openid',
                            params={'prompt': 'none'})
    page = requests.get(request['url'], timeout=10, allow_redirects=False)

    answer = openid_client.attempt('callback', url=page.headers['Location'],
                                   state=request['state'])

    assert not answer['ok'] and answer['error']['error'] == 'login_required', answer


def test_a_denied_consent_is_read_by_openid_client(api, admin_token, make_user, realm,
                                                  openid_client):
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    register_client(api, admin_token, realm['uuid'], public=True, require_consent=True)
    openid_client('discover', issuer=f'{api.base}/realms/acme', client_id='webapp')
    request = openid_client('authorize', redirect_uri=REDIRECT, scope='openid profile')
    browser = requests.Session()
    consent = submit(browser, browser.get(request['url'], timeout=10), username='alice',
                     password='s3cret')
    denied = submit(browser, consent, button='deny')

    answer = openid_client.attempt('callback', url=denied.headers['Location'],
                                   state=request['state'])

    assert not answer['ok'] and answer['error']['error'] == 'access_denied', answer


def test_rfc8414_discovery_finds_both_issuers(api, admin_token, realm, openid_client):
    for issuer in (f'{api.base}/realms/acme', f'{api.base}/api/auth/0.1'):
        metadata = openid_client('discover', issuer=issuer, client_id='any',
                                 algorithm='oauth2')
        assert metadata['issuer'] == issuer


@pytest.mark.parametrize('path', ['/realms/acme', '/api/auth/0.1'])
def test_client_credentials_introspection_and_revocation(api, admin_token, realm, path,
                                                         openid_client):
    client = register_client(api, admin_token, realm['uuid'], client_id='backend',
                             grant_types=['client_credentials'], redirect_uris=[],
                             post_logout_redirect_uris=[], acl=['confd.users.read'])
    for auth in ('client_secret_basic', 'client_secret_post'):
        openid_client('discover', issuer=api.base + path, client_id='backend',
                      client_secret=client['client_secret'], auth=auth)

        tokens = openid_client('client_credentials', scope='confd.users.read')

        assert tokens['scope'] == 'confd.users.read' and tokens['claims'] is None
        described = openid_client('introspect', token=tokens['access_token'])
        assert described['active'] is True and described['client_id'] == 'backend'
        openid_client('revoke', token=tokens['access_token'], token_type_hint='access_token')
        assert openid_client('introspect', token=tokens['access_token']) == {'active': False}


def test_basic_credentials_are_form_encoded_as_rfc6749_says(make_config, db_uri, engine, clock,
                                                            openid_client):
    # openid-client form-urlencodes the id and secret before Basic (RFC 6749 §2.3.1).
    secret = 'a secret+with %41 :colon & ünïcode'
    config = make_config(db_uri=db_uri, clients=[{
        'client_id': 'billing.eu~west', 'client_secret': secret, 'acl': ['confd.users.read'],
        'grant_types': ['client_credentials']}])
    prepare_database(config)  # declares the configuration's clients
    with running_app(config, engine, clock=clock) as app, LiveServer(app) as live:
        for auth in ('client_secret_basic', 'client_secret_post'):
            openid_client('discover', issuer=f'{live.url}/api/auth/0.1', auth=auth,
                          client_id='billing.eu~west', client_secret=secret)

            tokens = openid_client('client_credentials')

            assert tokens['scope'] == 'confd.users.read'


def test_code_flow_with_jwt_access_tokens(api, admin_token, make_user, realm, openid_client):
    alice = make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    client = register_client(api, admin_token, realm['uuid'], access_token_format='jwt')
    openid_client('discover', issuer=f'{api.base}/realms/acme', client_id='webapp',
                  client_secret=client['client_secret'])

    tokens = sign_in(openid_client, requests.Session(), scope='openid profile')

    assert tokens['access_token'].count('.') == 2
    assert tokens['claims']['at_hash'] == at_hash(tokens['access_token'])
    assert openid_client('userinfo', access_token=tokens['access_token'],
                         sub=str(alice))['preferred_username'] == 'alice'
    assert openid_client('introspect', token=tokens['access_token'])['active'] is True
    openid_client('revoke', token=tokens['access_token'])
    assert openid_client('introspect', token=tokens['access_token']) == {'active': False}


def at_hash(access_token: str) -> str:
    """OIDC Core §3.1.3.6 for RS256 and ES256 (SHA-256): openid-client does not check it."""
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b'=').decode()


@pytest.mark.parametrize('path', ['/realms/acme', '/api/auth/0.1'])
def test_device_grant(api, admin_token, make_user, realm, path, openid_client):
    alice = make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    register_client(api, admin_token, realm['uuid'], client_id='tv', public=True,
                    redirect_uris=[], post_logout_redirect_uris=[],
                    grant_types=['urn:ietf:params:oauth:grant-type:device_code',
                                 'refresh_token'])
    openid_client('discover', issuer=api.base + path, client_id='tv')
    started = openid_client('device_start', scope='openid offline_access')
    person = Person()
    consent = person.sign_in(started['verification_uri_complete'], 'alice', 's3cret')
    assert person.decide(consent, 'approve').status_code == 200

    tokens = openid_client('device_poll', response=started)

    assert tokens['claims']['sub'] == str(alice) and tokens['claims']['aud'] == 'tv'
    refreshed = openid_client('refresh', refresh_token=tokens['refresh_token'])
    assert refreshed['claims']['sid'] == tokens['claims']['sid']
    openid_client('revoke', token=refreshed['refresh_token'], token_type_hint='refresh_token')
    assert openid_client.attempt('refresh', refresh_token=refreshed['refresh_token'])[
        'error']['error'] == 'invalid_grant'
    assert parse_qs(urlsplit(started['verification_uri_complete']).query)['user_code']


def test_max_age_and_form_post_are_checked_by_openid_client(api, admin_token, make_user,
                                                            realm, openid_client):
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    register_client(api, admin_token, realm['uuid'], public=True)
    openid_client('discover', issuer=f'{api.base}/realms/acme', client_id='webapp')
    browser = requests.Session()
    request = openid_client('authorize', redirect_uri=REDIRECT, scope='openid',
                            params={'max_age': '300', 'response_mode': 'form_post'})
    page = submit(browser, browser.get(request['url'], timeout=10),
                  username='alice', password='s3cret')
    assert page.status_code == 200, page.text[:500]
    [form] = forms_of(page.text)
    assert form['action'] == REDIRECT

    tokens = openid_client('callback', url=REDIRECT, state=request['state'],
                           form=form['fields'])

    assert tokens['claims']['nonce'] == request['nonce'] and 'auth_time' in tokens['claims']


def test_userinfo_refusal_is_a_bearer_challenge_openid_client_reads(
        api, admin_token, make_user, realm, openid_client):
    alice = make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    register_client(api, admin_token, realm['uuid'], public=True)
    openid_client('discover', issuer=f'{api.base}/realms/acme', client_id='webapp')
    tokens = sign_in(openid_client, requests.Session(), scope='openid')
    openid_client('revoke', token=tokens['access_token'])

    refused = openid_client.attempt('userinfo', access_token=tokens['access_token'],
                                    sub=str(alice))

    assert refused['error']['name'] == 'WWWAuthenticateChallengeError', refused
    assert refused['error']['cause'][0]['parameters']['error'] == 'invalid_token'


def test_password_grant_with_openid_and_its_refresh(api, admin_token, make_user,
                                                              realm, openid_client):
    alice = make_user('alice', 's3cret', tenant_uuid=realm['uuid'], email='alice@acme.test')
    register_client(api, admin_token, realm['uuid'], client_id='cli', public=True,
                    grant_types=['password', 'refresh_token'], redirect_uris=[],
                    post_logout_redirect_uris=[])
    openid_client('discover', issuer=f'{api.base}/realms/acme', client_id='cli')

    tokens = openid_client('grant', grant_type='password', params={
        'username': 'alice', 'password': 's3cret', 'scope': SCOPE})

    assert tokens['claims']['sub'] == str(alice) and tokens['claims']['email']
    refreshed = openid_client('refresh', refresh_token=tokens['refresh_token'])
    assert refreshed['claims']['sid'] == tokens['claims']['sid']
    assert refreshed['refresh_token'] != tokens['refresh_token']  # a public client's rotates


def test_device_grant_polled_before_the_approval(api, admin_token, make_user, realm,
                                                 openid_client):
    alice = make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    register_client(api, admin_token, realm['uuid'], client_id='tv', public=True,
                    redirect_uris=[], post_logout_redirect_uris=[],
                    grant_types=['urn:ietf:params:oauth:grant-type:device_code'])
    openid_client('discover', issuer=f'{api.base}/realms/acme', client_id='tv')
    started = openid_client('device_start', scope='openid')
    openid_client.send('device_poll', response=started)  # polls: authorization_pending
    person = Person()
    consent = person.sign_in(started['verification_uri_complete'], 'alice', 's3cret')
    assert person.decide(consent, 'approve').status_code == 200

    answer = openid_client.receive('device_poll', timeout=30)

    assert answer['ok'] and answer['result']['claims']['sub'] == str(alice), answer


def test_es256_id_tokens(make_config, db_uri, engine, clock, make_user, openid_client):
    config = make_config(db_uri=db_uri, oidc={'signing_algorithm': 'ES256'})
    with running_app(config, engine, clock=clock) as app, LiveServer(app) as live:
        api = Api(live.url)
        make_user('root', 'rootpass', acl=['#'])
        make_user('bob', 'pa55word')
        register_client(api, api.login('root', 'rootpass'), public=True)
        openid_client('discover', issuer=f'{api.base}/api/auth/0.1', client_id='webapp')

        tokens = sign_in(openid_client, requests.Session(), 'bob', 'pa55word', scope='openid')

    header = json.loads(base64.urlsafe_b64decode(tokens['id_token'].split('.')[0] + '=='))
    assert header['alg'] == 'ES256'
    assert tokens['claims']['at_hash'] == at_hash(tokens['access_token'])


def test_code_flow_without_state_and_nonce_as_openid_client_documents_it(
        api, admin_token, make_user, realm, openid_client):
    # openid-client's example sends neither when the server supports PKCE S256: the answer
    # must then carry no state (the library refuses an unexpected one) and the ID token no
    # nonce.
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    register_client(api, admin_token, realm['uuid'], public=True)
    metadata = openid_client('discover', issuer=f'{api.base}/realms/acme', client_id='webapp')
    assert 'S256' in metadata['code_challenge_methods_supported']

    tokens = sign_in(openid_client, requests.Session(), scope='openid', bare=True)

    assert 'nonce' not in tokens['claims']
