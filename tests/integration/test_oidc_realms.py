"""Realms: the Keycloak-style requests verbatim, tenant isolation of the OAuth 2.0 endpoints,
discovery documents against OpenID Connect Discovery 1.0, consent, and logout."""
from __future__ import annotations

import json
import subprocess
from urllib.parse import urlencode

import pytest
import requests

from tests.support.device_flow import Person
from tests.support.oidc import (LOGOUT_REDIRECT, REDIRECT, callback_params,  # noqa: F401
                                            realm, register_client, submit)
from wazo_like_auth.app import services_of
from wazo_like_auth.oidc.pkce import s256

# OpenID Connect Discovery 1.0 §3: REQUIRED metadata (and RECOMMENDED ones we serve).
REQUIRED = ('issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri',
            'response_types_supported', 'subject_types_supported',
            'id_token_signing_alg_values_supported')
VERIFIER = 'k' * 50


def curl(*args: str) -> str:
    return subprocess.run(['curl', '-s', *args], capture_output=True, text=True, timeout=20,
                          check=True).stdout


@pytest.mark.parametrize('path', ['/realms/acme/.well-known/openid-configuration',
                                  '/.well-known/oauth-authorization-server/realms/acme',
                                  '/api/auth/0.1/.well-known/openid-configuration',
                                  '/.well-known/openid-configuration'])
def test_discovery_has_every_field_oidc_discovery_requires(api, realm, path):
    document = requests.get(api.base + path, timeout=10).json()
    assert all(document.get(key) for key in REQUIRED), [k for k in REQUIRED if k not in document]
    assert document['response_types_supported'] == ['code']
    assert 'public' in document['subject_types_supported']
    assert 'RS256' in document['id_token_signing_alg_values_supported']
    assert document['code_challenge_methods_supported'] == ['S256']
    assert document['authorization_response_iss_parameter_supported'] is True
    assert document['userinfo_endpoint'] and document['end_session_endpoint']
    if 'realms' in path:
        issuer = f'{api.base}/realms/acme'
        assert document['issuer'] == issuer
        assert document['token_endpoint'] == f'{issuer}/protocol/openid-connect/token'
    for key in ('jwks_uri', 'authorization_endpoint'):
        assert requests.get(document[key], timeout=10).status_code in (200, 400), key


def test_certs_publish_the_signing_key_with_cache_headers(api, realm):
    response = requests.get(f'{api.base}/realms/acme/protocol/openid-connect/certs', timeout=10)
    assert response.status_code == 200
    assert response.headers['Cache-Control'] == 'public, max-age=300'
    keys = response.json()['keys']
    assert keys and all(k['use'] == 'sig' and k['kid'] for k in keys)
    assert all('d' not in k and 'p' not in k for k in keys)  # public members only


def test_keycloak_style_requests_work_verbatim(api, admin_token, make_user, realm):
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'], acl=['confd.users.me.read'])
    register_client(api, admin_token, realm['uuid'], client_id='cli', public=True,
                    grant_types=['password'], redirect_uris=[])
    backend = register_client(api, admin_token, realm['uuid'], client_id='backend',
                              grant_types=['client_credentials'], redirect_uris=[],
                              acl=['confd.users.read'])
    host = api.base.removeprefix('http://')

    password = curl('-X', 'POST', f'http://{host}/realms/acme/protocol/openid-connect/token',
                    '-d', 'client_id=cli', '-d', 'username=alice', '-d', 'password=s3cret',
                    '-d', 'grant_type=password')
    credentials = curl('-X', 'POST',
                       f'http://{host}/realms/acme/protocol/openid-connect/token',
                       '-d', 'client_id=backend',
                       '-d', f'client_secret={backend["client_secret"]}',
                       '-d', 'grant_type=client_credentials')

    assert api.is_valid(json.loads(password)['access_token'], scope='confd.users.me.read')
    assert api.is_valid(json.loads(credentials)['access_token'], scope='confd.users.read')


def test_realm_refuses_users_and_clients_of_other_tenants(api, admin_token, make_user, realm):
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    make_user('bob', 'b0bpass')  # top tenant
    mine = register_client(api, admin_token, realm['uuid'], client_id='mine',
                           grant_types=['password'])
    theirs = register_client(api, admin_token, client_id='theirs', grant_types=['password'])
    url = f'{api.base}/realms/acme/protocol/openid-connect/token'

    def token(client, username, password):
        return requests.post(url, data={'grant_type': 'password', 'username': username,
                                        'password': password, 'client_id': client['client_id'],
                                        'client_secret': client['client_secret']}, timeout=10)

    other_user, wrong_password = token(mine, 'bob', 'b0bpass'), token(mine, 'alice', 'nope')
    other_client = token(theirs, 'alice', 's3cret')

    assert other_user.status_code == wrong_password.status_code == 400
    assert other_user.json() == wrong_password.json()
    assert other_client.status_code == 401 and other_client.json()['error'] == 'invalid_client'
    assert token(mine, 'alice', 's3cret').status_code == 200


def _authorize(api, **params) -> str:
    query = {'client_id': 'webapp', 'redirect_uri': REDIRECT, 'response_type': 'code',
             'scope': 'openid profile', 'state': 'st', 'code_challenge': s256(VERIFIER),
             'code_challenge_method': 'S256', **params}
    return f'{api.base}/realms/acme/protocol/openid-connect/auth?' + urlencode(query)


def test_consent_is_asked_once_remembered_and_revocable(api, admin_token, make_user, realm):
    alice = make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    client = register_client(api, admin_token, realm['uuid'], require_consent=True)
    browser = requests.Session()
    page = browser.get(_authorize(api), timeout=10)
    consent = submit(browser, page, username='alice', password='s3cret')
    assert consent.status_code == 200 and 'Allow access?' in consent.text
    assert 'See your name and username' in consent.text and 'Web &lt;App&gt;' in consent.text

    assert 'code' in callback_params(submit(browser, consent, button='approve'))
    assert 'code' in callback_params(browser.get(_authorize(api, prompt='none'), timeout=10,
                                                 allow_redirects=False))
    more = browser.get(_authorize(api, scope='openid email', prompt='none'), timeout=10,
                       allow_redirects=False)
    assert callback_params(more)['error'] == 'consent_required'

    consents = api.admin('GET', f'/users/{alice}/consents', admin_token).json()
    assert [c['client_id'] for c in consents['items']] == ['webapp']
    revoked = api.admin('DELETE', f'/users/{alice}/consents/{client["uuid"]}', admin_token)
    assert revoked.status_code == 204
    again = browser.get(_authorize(api), timeout=10, allow_redirects=False)
    assert again.status_code == 200 and 'Allow access?' in again.text
    denied = callback_params(submit(browser, again, button='deny'))
    assert denied['error'] == 'access_denied' and denied['state'] == 'st'


def _signed_in_tokens(api, admin_token, make_user, realm):
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    client = register_client(api, admin_token, realm['uuid'])
    browser = requests.Session()
    page = browser.get(_authorize(api), timeout=10)
    code = callback_params(submit(browser, page, username='alice', password='s3cret'))['code']
    token = requests.post(f'{api.base}/realms/acme/protocol/openid-connect/token', data={
        'grant_type': 'authorization_code', 'code': code, 'redirect_uri': REDIRECT,
        'code_verifier': VERIFIER}, auth=(client['client_id'], client['client_secret']),
        timeout=10).json()
    return browser, token


def test_logout_without_hint_asks_to_confirm(api, admin_token, make_user, realm):
    browser, token = _signed_in_tokens(api, admin_token, make_user, realm)
    logout_url = f'{api.base}/realms/acme/protocol/openid-connect/logout'

    page = browser.get(logout_url, params={'client_id': 'webapp', 'state': 'x',
                                           'post_logout_redirect_uri': LOGOUT_REDIRECT},
                       timeout=10, allow_redirects=False)
    assert page.status_code == 200 and 'Sign out?' in page.text
    assert api.is_valid(token['access_token'])  # nothing ended yet

    done = submit(browser, page, button='logout')
    assert done.status_code == 302 and done.headers['Location'] == LOGOUT_REDIRECT + '?state=x'
    assert not api.is_valid(token['access_token'])
    assert browser.get(_authorize(api), timeout=10, allow_redirects=False).status_code == 200


def test_logout_never_redirects_to_an_unregistered_uri(api, admin_token, make_user, realm):
    browser, token = _signed_in_tokens(api, admin_token, make_user, realm)
    response = browser.get(f'{api.base}/realms/acme/protocol/openid-connect/logout', params={
        'id_token_hint': token['id_token'], 'post_logout_redirect_uri': 'https://evil.test/'},
        timeout=10, allow_redirects=False)
    assert response.status_code == 400 and 'Location' not in response.headers
    assert api.is_valid(token['access_token'])


@pytest.mark.parametrize('params, says', [
    ({'client_id': 'webapp', 'post_logout_redirect_uri': 'https://evil.test/'},
     'not registered for this application'),
    ({'client_id': 'no-such-app', 'post_logout_redirect_uri': LOGOUT_REDIRECT},
     'not known to this service'),
    ({'post_logout_redirect_uri': LOGOUT_REDIRECT}, 'could not be identified'),
])
def test_a_logout_that_cannot_return_says_why(api, admin_token, make_user, realm, params, says):
    """Each page used to say the address 'is not registered for this application', even when
    no application, or an unknown one, was named (what to fix differs for its developer)."""
    browser, token = _signed_in_tokens(api, admin_token, make_user, realm)
    response = browser.get(f'{api.base}/realms/acme/protocol/openid-connect/logout',
                           params=params, timeout=10, allow_redirects=False)
    assert response.status_code == 400 and 'Location' not in response.headers
    assert 'Cannot sign out' in response.text and says in response.text
    assert api.is_valid(token['access_token'])


def test_logout_with_a_forged_hint_asks_to_confirm(api, admin_token, make_user, realm):
    browser, token = _signed_in_tokens(api, admin_token, make_user, realm)
    header, payload, signature = token['id_token'].split('.')
    forged = '.'.join([header, payload, signature[::-1]])
    response = browser.get(f'{api.base}/realms/acme/protocol/openid-connect/logout',
                           params={'id_token_hint': forged}, timeout=10, allow_redirects=False)
    assert response.status_code == 200 and 'Sign out?' in response.text
    assert api.is_valid(token['access_token'])


def test_sign_in_session_is_listed_and_deleting_it_ends_the_sign_in(api, admin_token,
                                                                    make_user, realm):
    browser, token = _signed_in_tokens(api, admin_token, make_user, realm)
    sessions = api.admin('GET', '/sessions?recurse=true', admin_token,
                         headers={'Wazo-Tenant': realm['uuid']}).json()['items']
    assert len(sessions) == 2  # the sign-in's own session, and the one issued through it
    for session in sessions:
        api.admin('DELETE', f'/sessions/{session["uuid"]}', admin_token,
                  headers={'Wazo-Tenant': realm['uuid']})
    assert not api.is_valid(token['access_token'])
    assert browser.get(_authorize(api), timeout=10, allow_redirects=False).status_code == 200


@pytest.mark.parametrize('fields', [
    {'redirect_uris': []}, {'redirect_uris': ['not a uri']},
    {'redirect_uris': ['https://a.test/#f']}, {'post_logout_redirect_uris': ['x' * 3000]},
    {'redirect_uris': ['https://a.test/'] * 21}])
def test_client_registration_refuses_bad_redirect_uris(api, admin_token, fields):
    body = {'client_id': 'webapp', 'grant_types': ['authorization_code'],
            'redirect_uris': ['https://a.test/cb'], **fields}
    response = api.admin('POST', '/clients', admin_token, json=body)
    assert response.status_code == 400 and response.json()['error_id'] == 'invalid-data'


def test_client_redirect_uris_are_updated_and_shown(api, admin_token):
    created = register_client(api, admin_token)
    updated = api.admin('PUT', f'/clients/{created["uuid"]}', admin_token, json={
        'name': 'x', 'grant_types': ['authorization_code'],
        'redirect_uris': ['https://new.test/cb'], 'require_consent': True}).json()
    assert updated['redirect_uris'] == ['https://new.test/cb']
    assert updated['post_logout_redirect_uris'] == [] and updated['require_consent'] is True


def test_realm_introspection_describes_only_the_realms_tokens(api, admin_token, make_user,
                                                              realm):
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    make_user('bob', 'b0bpass')  # top tenant
    checker = register_client(api, admin_token, realm['uuid'], client_id='checker',
                              grant_types=['client_credentials'], redirect_uris=[])
    url = f'{api.base}/realms/acme/protocol/openid-connect/token/introspect'

    def introspect(token):
        return requests.post(url, data={'token': token}, timeout=10,
                             auth=('checker', checker['client_secret'])).json()

    assert introspect(api.login('alice', 's3cret'))['active'] is True
    assert introspect(api.login('bob', 'b0bpass')) == {'active': False}


def test_logout_reaches_the_cache_of_every_node(api, admin_token, make_user, realm,
                                                oauth_config, engine):
    from tests.support.apps import running_app
    from tests.support.polling import wait_until
    browser, token = _signed_in_tokens(api, admin_token, make_user, realm)
    with running_app(oauth_config, engine) as other_node:
        cache = services_of(other_node).validation_cache
        assert wait_until(lambda: cache.enabled)
        check = other_node.test_client()
        path = f'/0.1/token/{token["access_token"]}'
        assert check.head(path).status_code == 204
        hits = cache.hits
        assert check.head(path).status_code == 204 and cache.hits == hits + 1  # cached there

        browser.get(f'{api.base}/realms/acme/protocol/openid-connect/logout',
                    params={'id_token_hint': token['id_token']}, timeout=10)

        assert wait_until(lambda: check.head(path).status_code == 404, 2.0)


def test_refresh_and_device_grants_of_a_realm_refuse_users_of_other_tenants(
        api, admin_token, make_user, realm):
    # A sub-tenant's user: the client of the realm's tenant serves it at /oauth2/token (its
    # tenant tree), but the realm accepts its own tenant's users only.
    east = api.admin('POST', '/tenants', admin_token, headers={'Wazo-Tenant': realm['uuid']},
                     json={'name': 'Acme East', 'slug': 'acme_east'}).json()
    bob = make_user('bob', 'b0bpass', tenant_uuid=east['uuid'])
    register_client(api, admin_token, realm['uuid'], client_id='tv', public=True,
                    redirect_uris=[], grant_types=[
                        'password', 'refresh_token',
                        'urn:ietf:params:oauth:grant-type:device_code'])
    realm_token = f'{api.base}/realms/acme/protocol/openid-connect/token'
    refresh = requests.post(api.token_url(), timeout=10, data={
        'grant_type': 'password', 'client_id': 'tv', 'username': 'bob',
        'password': 'b0bpass', 'scope': 'offline_access'}).json()['refresh_token']

    refused = requests.post(realm_token, timeout=10, data={
        'grant_type': 'refresh_token', 'client_id': 'tv', 'refresh_token': refresh})
    assert refused.status_code == 400 and refused.json()['error'] == 'invalid_grant'
    assert requests.post(api.token_url(), timeout=10, data={
        'grant_type': 'refresh_token', 'client_id': 'tv',
        'refresh_token': refresh}).status_code == 200

    started = requests.post(f'{api.base}/realms/acme/protocol/openid-connect/auth/device',
                            data={'client_id': 'tv'}, timeout=10).json()
    assert started['verification_uri'] == f'{api.base}/realms/acme/device'
    # The realm's page takes its own tenant's users only, as its sign-in page does: bob's
    # password reads as wrong there, and the device keeps waiting for someone of the realm.
    refused_page = Person().sign_in(started['verification_uri_complete'], 'bob', 'b0bpass')
    assert refused_page.status_code == 401 and 'name="consent"' not in refused_page.text
    polled = requests.post(realm_token, timeout=10, data={
        'grant_type': 'urn:ietf:params:oauth:grant-type:device_code', 'client_id': 'tv',
        'device_code': started['device_code']})
    assert polled.status_code == 400 and polled.json()['error'] == 'authorization_pending'
    sessions = api.admin('GET', f'/users/{bob}/sessions', admin_token).json()
    assert sessions['total'] == 2  # the password grant and the global refresh, nothing else
