"""Review of the OpenID Connect pages and endpoints: defects a relying party or a browser
would hit, each pinned by the test that found it."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest
import requests

from tests.support.oidc import (LOGOUT_REDIRECT, REDIRECT, callback_params,  # noqa: F401
                                realm, register_client, submit)
from wazo_like_auth.oidc.pkce import s256

VERIFIER = 'k' * 50


def _authorize(api, **params) -> str:
    query = {'client_id': 'webapp', 'redirect_uri': REDIRECT, 'response_type': 'code',
             'scope': 'openid profile', 'state': 'st', 'code_challenge': s256(VERIFIER),
             'code_challenge_method': 'S256', **params}
    return f'{api.base}/realms/acme/protocol/openid-connect/auth?' + urlencode(query)


def _logout_url(api) -> str:
    return f'{api.base}/realms/acme/protocol/openid-connect/logout'


def _signed_in(api, client, browser, username='alice', password='s3cret') -> dict:
    """Sign ``browser`` in through the form and exchange the code: the token response."""
    page = browser.get(_authorize(api), timeout=10, allow_redirects=False)
    code = callback_params(submit(browser, page, username=username, password=password))['code']
    return requests.post(f'{api.base}/realms/acme/protocol/openid-connect/token', data={
        'grant_type': 'authorization_code', 'code': code, 'redirect_uri': REDIRECT,
        'code_verifier': VERIFIER}, auth=(client['client_id'], client['client_secret']),
        timeout=10).json()


def _alice_signed_in_bob_known(api, admin_token, make_user, realm):
    """Alice and Bob in the realm, a client, and a browser where Alice signed in: (client,
    browser, Alice's token response)."""
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    make_user('bob', 'b0bpass', tenant_uuid=realm['uuid'])
    client = register_client(api, admin_token, realm['uuid'])
    browser = requests.Session()
    return client, browser, _signed_in(api, client, browser)


def _still_signed_in(api, browser) -> bool:
    """Whether the browser's next authorization skips the sign-in form."""
    return browser.get(_authorize(api), timeout=10, allow_redirects=False).status_code == 302


def test_stay_signed_in_on_the_logout_page_keeps_the_browser_signed_in(api, admin_token,
                                                                       make_user, realm):
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    client = register_client(api, admin_token, realm['uuid'])
    browser = requests.Session()
    token = _signed_in(api, client, browser)
    page = browser.get(_logout_url(api), timeout=10)

    stay = submit(browser, page, button='stay')

    assert stay.status_code == 200 and 'signed out' not in stay.text
    assert 'wla_signin=;' not in stay.headers.get('Set-Cookie', '')
    assert _still_signed_in(api, browser)
    assert api.is_valid(token['access_token'])


def test_id_token_hint_of_the_same_user_signs_out_without_asking(api, admin_token, make_user,
                                                                 realm):
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    client = register_client(api, admin_token, realm['uuid'])
    browser = requests.Session()
    first = _signed_in(api, client, browser)
    # A second sign-in of the same person in this browser (prompt=login): the hint names the
    # first one, the browser holds the second.
    page = browser.get(_authorize(api, prompt='login'), timeout=10, allow_redirects=False)
    callback_params(submit(browser, page, username='alice', password='s3cret'))

    done = browser.get(_logout_url(api), params={'id_token_hint': first['id_token']},
                       timeout=10, allow_redirects=False)

    assert done.status_code == 200 and 'You are signed out.' in done.text
    assert not _still_signed_in(api, browser) and not api.is_valid(first['access_token'])
def test_id_token_hint_of_another_user_does_not_sign_the_browser_out(api, admin_token,
                                                                     make_user, realm):
    # Mallory's own ID token in a link must not sign Alice's browser out unasked: it only
    # proves Mallory's sign-in, not that Alice wants to leave.
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    make_user('mallory', 'm4llory', tenant_uuid=realm['uuid'])
    client = register_client(api, admin_token, realm['uuid'])
    victim = requests.Session()
    alices = _signed_in(api, client, victim)
    mallorys = _signed_in(api, client, requests.Session(), 'mallory', 'm4llory')

    page = victim.get(_logout_url(api), timeout=10, allow_redirects=False, params={
        'id_token_hint': mallorys['id_token'], 'post_logout_redirect_uri': LOGOUT_REDIRECT})

    assert page.status_code == 200 and 'Sign out?' in page.text
    assert _still_signed_in(api, victim) and api.is_valid(alices['access_token'])
    assert not api.is_valid(mallorys['access_token'])  # the sign-in the hint names ends
    # Confirming goes back to the application the hint named (the form has no hint).
    done = submit(victim, page, button='logout')
    assert done.status_code == 302 and done.headers['Location'] == LOGOUT_REDIRECT
    assert not _still_signed_in(api, victim) and not api.is_valid(alices['access_token'])




def test_request_objects_are_refused_not_silently_ignored(api, admin_token, make_user, realm):
    # OIDC Core §6.1, §6.2: an OP without request objects MUST answer these errors; ignoring
    # them drops what the object asks (here max_age=0: a fresh sign-in) and issues a code.
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    client = register_client(api, admin_token, realm['uuid'])
    browser = requests.Session()
    _signed_in(api, client, browser)
    unsigned = 'eyJhbGciOiJub25lIn0.eyJtYXhfYWdlIjowfQ.'

    by_value = browser.get(_authorize(api, request=unsigned), timeout=10,
                           allow_redirects=False)
    by_reference = browser.get(_authorize(api, request_uri='https://rp.example.com/r'),
                               timeout=10, allow_redirects=False)

    for response, error in [(by_value, 'request_not_supported'),
                            (by_reference, 'request_uri_not_supported')]:
        answer = callback_params(response)
        assert answer['error'] == error and 'code' not in answer and answer['state'] == 'st'


def test_id_token_hint_of_another_user_is_not_answered_with_this_browsers_user(
        api, admin_token, make_user, realm):
    # OIDC Core §3.1.2.1: with id_token_hint, a positive answer only for the user it names.
    # A silent re-authentication for Bob must not come back with a code for Alice.
    client, browser, alices = _alice_signed_in_bob_known(api, admin_token, make_user, realm)
    bobs = _signed_in(api, client, requests.Session(), 'bob', 'b0bpass')

    silent = browser.get(_authorize(api, prompt='none', id_token_hint=bobs['id_token']),
                         timeout=10, allow_redirects=False)
    asked = browser.get(_authorize(api, id_token_hint=bobs['id_token']), timeout=10,
                        allow_redirects=False)
    same = browser.get(_authorize(api, prompt='none', id_token_hint=alices['id_token']),
                       timeout=10, allow_redirects=False)

    assert callback_params(silent)['error'] == 'login_required'
    assert 'code' in callback_params(same)
    assert asked.status_code == 200 and 'Sign in' in asked.text
    assert 'code' in callback_params(submit(browser, asked, username='bob',
                                            password='b0bpass'))
    again = browser.get(_authorize(api, prompt='none', id_token_hint=bobs['id_token']),
                        timeout=10, allow_redirects=False)
    assert 'code' in callback_params(again)


@pytest.mark.parametrize('extra, page', [
    ('&client_id=other', True), (f'&redirect_uri={REDIRECT}', True),
    ('&state=other', False), ('&scope=openid%20email', False),
    ('&code_challenge_method=S256', False)])
def test_repeated_authorization_parameters_are_refused(api, admin_token, make_user, realm,
                                                      extra, page):
    # RFC 6749 §3.1: parameters MUST NOT be repeated; §4.1.2.1 invalid_request. Until
    # client_id and redirect_uri are unambiguous, an error page and never a redirect.
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    client = register_client(api, admin_token, realm['uuid'])
    register_client(api, admin_token, realm['uuid'], client_id='other')
    browser = requests.Session()
    _signed_in(api, client, browser)

    response = browser.get(_authorize(api) + extra, timeout=10, allow_redirects=False)

    if page:
        assert response.status_code == 400 and 'Location' not in response.headers
    else:
        answer = callback_params(response)
        assert answer['error'] == 'invalid_request' and 'code' not in answer


SPA = 'https://spa.example.com'


def test_a_single_page_application_may_call_the_json_endpoints_from_its_origin(
        api, admin_token, make_user, realm):
    # A public client with PKCE running in a browser (the README's single-page application)
    # fetches discovery, certs, token and userinfo from its own origin: without CORS headers
    # the browser hides every answer from it.
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    register_client(api, admin_token, realm['uuid'], client_id='spa', public=True,
                    grant_types=['authorization_code', 'password'])
    issuer = f'{api.base}/realms/acme'
    protocol = issuer + '/protocol/openid-connect'
    origin = {'Origin': SPA}

    preflight = requests.options(protocol + '/userinfo', timeout=10, headers={
        **origin, 'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'authorization'})
    token = requests.post(protocol + '/token', headers=origin, timeout=10, data={
        'grant_type': 'password', 'client_id': 'spa', 'username': 'alice',
        'password': 's3cret', 'scope': 'openid'})
    userinfo = requests.get(protocol + '/userinfo', timeout=10, headers={
        **origin, 'Authorization': f'Bearer {token.json()["access_token"]}'})
    refused = requests.post(protocol + '/token', headers=origin, timeout=10,
                            data={'grant_type': 'password', 'client_id': 'nobody'})
    documents = [requests.get(url, headers=origin, timeout=10) for url in (
        issuer + '/.well-known/openid-configuration', protocol + '/certs',
        f'{api.url}/.well-known/openid-configuration', f'{api.url}/oauth2/certs')]

    assert preflight.status_code in (200, 204)
    assert preflight.headers['Access-Control-Allow-Origin'] == '*'
    assert 'GET' in preflight.headers['Access-Control-Allow-Methods']
    assert 'authorization' in preflight.headers['Access-Control-Allow-Headers'].lower()
    for response in [token, userinfo, refused, *documents]:
        assert response.headers.get('Access-Control-Allow-Origin') == '*', response.url
    assert userinfo.status_code == 200 and refused.status_code == 401
    # No credentials are ever allowed: the pages and their cookies stay same-origin.
    assert 'Access-Control-Allow-Credentials' not in token.headers
    page = requests.get(protocol + '/auth', headers=origin, timeout=10)
    assert 'Access-Control-Allow-Origin' not in page.headers


def test_logout_with_the_id_token_of_a_password_grant_ends_its_session(api, admin_token,
                                                                       make_user, realm):
    # Its sid names the session of its access token (there is no browser sign-in): the
    # logout said "signed out" and went back to the application, the token still valid.
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    make_user('bob', 'b0bpass', tenant_uuid=realm['uuid'])
    register_client(api, admin_token, realm['uuid'], public=True, grant_types=['password'])
    token_url = f'{api.base}/realms/acme/protocol/openid-connect/token'

    def password_grant(username, password):
        return requests.post(token_url, timeout=10, data={
            'grant_type': 'password', 'client_id': 'webapp', 'username': username,
            'password': password, 'scope': 'openid'}).json()

    alices, bobs = password_grant('alice', 's3cret'), password_grant('bob', 'b0bpass')
    elsewhere = requests.get(f'{api.url}/oauth2/logout', timeout=10, allow_redirects=False,
                             params={'id_token_hint': alices['id_token']})
    assert api.is_valid(alices['access_token'])  # another issuer's hint: not this one's

    done = requests.get(_logout_url(api), timeout=10, allow_redirects=False, params={
        'id_token_hint': alices['id_token'], 'post_logout_redirect_uri': LOGOUT_REDIRECT})

    assert elsewhere.status_code == 200 and 'Sign out?' in elsewhere.text
    assert done.status_code == 302 and done.headers['Location'] == LOGOUT_REDIRECT
    assert not api.is_valid(alices['access_token'])
    assert api.is_valid(bobs['access_token'])


def test_device_page_refuses_an_account_the_client_does_not_serve(api, admin_token,
                                                                  make_user, realm):
    # A client of the realm's tenant serves that tenant's users (and below) only: the page
    # said "Device connected" to a user of the top tenant, then the device got invalid_grant.
    from tests.support.device_flow import Person, start
    make_user('bob', 'b0bpass')  # top tenant
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    register_client(api, admin_token, realm['uuid'], client_id='tv', public=True,
                    redirect_uris=[],
                    grant_types=['urn:ietf:params:oauth:grant-type:device_code'])
    started = start(api, client_id='tv')

    refused = Person().sign_in(started['verification_uri_complete'], 'bob', 'b0bpass')
    wrong = Person().sign_in(started['verification_uri_complete'], 'bob', 'wrong')
    accepted = Person().sign_in(started['verification_uri_complete'], 'alice', 's3cret')

    assert refused.status_code == 403 and 'cannot' in refused.text
    assert 'name="consent"' not in refused.text
    assert wrong.status_code == 401 and 'Wrong username or password.' in wrong.text
    assert accepted.status_code == 200 and 'name="consent"' in accepted.text


def _exchange(api, client, response) -> dict:
    return requests.post(f'{api.base}/realms/acme/protocol/openid-connect/token', data={
        'grant_type': 'authorization_code', 'code': callback_params(response)['code'],
        'redirect_uri': REDIRECT, 'code_verifier': VERIFIER},
        auth=(client['client_id'], client['client_secret']), timeout=10).json()


def test_signing_out_after_a_fresh_sign_in_ends_what_the_earlier_one_gave(
        api, admin_token, make_user, realm):
    # prompt=login (or max_age) makes the person sign in again: that renews the browser's
    # sign-in; a second sign-in beside it outlived "Sign out", with its tokens, unreachable.
    from joserfc import jwt
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    client = register_client(api, admin_token, realm['uuid'])
    browser = requests.Session()
    first = _signed_in(api, client, browser)
    page = browser.get(_authorize(api, prompt='login'), timeout=10, allow_redirects=False)
    again = _exchange(api, client, submit(browser, page, username='alice', password='s3cret'))

    def claims(token):
        return jwt.decode(token['id_token'], _certs(api)).claims

    assert claims(again)['sid'] == claims(first)['sid']
    assert claims(again)['auth_time'] >= claims(first)['auth_time']
    confirm = browser.get(_logout_url(api), timeout=10)
    submit(browser, confirm, button='logout')
    assert not api.is_valid(again['access_token'])
    assert not api.is_valid(first['access_token'])


def test_another_person_signing_in_in_the_same_browser_gets_a_sign_in_of_their_own(
        api, admin_token, make_user, realm):
    client, browser, alices = _alice_signed_in_bob_known(api, admin_token, make_user, realm)
    page = browser.get(_authorize(api, prompt='login'), timeout=10, allow_redirects=False)
    bobs = _exchange(api, client, submit(browser, page, username='bob', password='b0bpass'))

    confirm = browser.get(_logout_url(api), timeout=10)
    submit(browser, confirm, button='logout')

    assert not api.is_valid(bobs['access_token'])
    assert api.is_valid(alices['access_token'])  # Alice's sign-out is hers to ask


def _certs(api):
    from joserfc.jwk import KeySet
    return KeySet.import_key_set(requests.get(
        f'{api.base}/realms/acme/protocol/openid-connect/certs', timeout=10).json())
