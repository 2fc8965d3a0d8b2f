"""Second conformance review of the OpenID Connect provider (OIDC Core 1.0, Discovery 1.0,
RFC 6749): deviations a certified relying party would hit, each pinned by the test that found
it."""
from __future__ import annotations

from urllib.parse import urlencode

import requests

from tests.support.oidc import (LOGOUT_REDIRECT, REDIRECT, callback_params, forms_of, realm,  # noqa: F401
                                register_client, submit)
from wazo_like_auth.oidc.pkce import s256

VERIFIER = 'r' * 50


def _authorize(api, **params) -> str:
    query = {'client_id': 'webapp', 'redirect_uri': REDIRECT, 'response_type': 'code',
             'scope': 'openid profile', 'state': 'st', 'code_challenge': s256(VERIFIER),
             'code_challenge_method': 'S256', **params}
    return f'{api.base}/realms/acme/protocol/openid-connect/auth?' + urlencode(
        {k: v for k, v in query.items() if v is not None})


def _signed_in_browser(api, admin_token, make_user, realm) -> requests.Session:
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    register_client(api, admin_token, realm['uuid'])
    browser = requests.Session()
    page = browser.get(_authorize(api), timeout=10, allow_redirects=False)
    callback_params(submit(browser, page, username='alice', password='s3cret'))
    return browser


def test_missing_response_type_is_invalid_request(api, admin_token, realm):
    # RFC 6749 §4.1.2.1: a missing required parameter is invalid_request;
    # unsupported_response_type is for a response type the server does not support.
    register_client(api, admin_token, realm['uuid'])
    response = requests.get(_authorize(api, response_type=None), timeout=10,
                            allow_redirects=False)
    answer = callback_params(response)
    assert answer['error'] == 'invalid_request' and answer['state'] == 'st'


def test_prompt_select_account_asks_the_signed_in_browser_which_account(api, admin_token,
                                                                         make_user, realm):
    # OIDC Core §3.1.2.1 defines select_account: a relying party sending it (MSAL and
    # Google-style libraries do) must not get invalid_request. The sign-in form is where
    # the user chooses the account, as with prompt=login.
    browser = _signed_in_browser(api, admin_token, make_user, realm)

    page = browser.get(_authorize(api, prompt='select_account'), timeout=10,
                       allow_redirects=False)

    assert page.status_code == 200 and forms_of(page.text)[0]['fields']['prompt'] \
        == 'select_account'
    answer = callback_params(submit(browser, page, username='alice', password='s3cret'))
    assert 'code' in answer and answer['state'] == 'st'


def test_prompt_select_account_is_advertised_and_refused_with_none(api, admin_token, realm):
    register_client(api, admin_token, realm['uuid'])
    metadata = requests.get(f'{api.base}/realms/acme/.well-known/openid-configuration',
                            timeout=10).json()
    assert 'select_account' in metadata['prompt_values_supported']
    response = requests.get(_authorize(api, prompt='none select_account'), timeout=10,
                            allow_redirects=False)
    assert callback_params(response)['error'] == 'invalid_request'


def _code_flow_token(api, admin_token, make_user, realm, scope='openid profile') -> dict:
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    client = register_client(api, admin_token, realm['uuid'])
    browser = requests.Session()
    page = browser.get(_authorize(api, scope=scope), timeout=10, allow_redirects=False)
    code = callback_params(submit(browser, page, username='alice', password='s3cret'))['code']
    return requests.post(f'{api.base}/realms/acme/protocol/openid-connect/token', data={
        'grant_type': 'authorization_code', 'code': code, 'redirect_uri': REDIRECT,
        'code_verifier': VERIFIER}, auth=(client['client_id'], client['client_secret']),
        timeout=10).json()


def test_userinfo_takes_the_token_in_a_form_encoded_post_body(api, admin_token, make_user,
                                                              realm):
    # OIDC Core §5.3.1: the token is sent "per Section 2 of RFC 6750", which includes the
    # form-encoded body parameter (§2.2); the OpenID conformance suite's
    # oidcc-userinfo-post-body sends it so, and Keycloak accepts it.
    token = _code_flow_token(api, admin_token, make_user, realm)
    for path in ('/realms/acme/protocol/openid-connect/userinfo',
                 '/api/auth/0.1/oauth2/userinfo'):
        response = requests.post(api.base + path, data={'access_token': token['access_token']},
                                 timeout=10)
        assert response.status_code == 200, response.text
        assert response.json()['preferred_username'] == 'alice'
        assert response.headers['Cache-Control'] == 'no-store'


def test_userinfo_refuses_a_token_given_two_ways(api, admin_token, make_user, realm):
    # RFC 6750 §2: clients MUST NOT use more than one method; §3.1: invalid_request, 400.
    token = _code_flow_token(api, admin_token, make_user, realm)['access_token']
    response = requests.post(f'{api.base}/realms/acme/protocol/openid-connect/userinfo',
                             data={'access_token': token},
                             headers={'Authorization': f'Bearer {token}'}, timeout=10)
    assert response.status_code == 400 and response.json()['error'] == 'invalid_request'
    assert 'error="invalid_request"' in response.headers['WWW-Authenticate']


def test_userinfo_never_reads_the_token_from_the_query(api, admin_token, make_user, realm):
    # RFC 9700 §2.1 / RFC 6750 §5.3: tokens in URIs leak into logs; the body only in a POST.
    token = _code_flow_token(api, admin_token, make_user, realm)['access_token']
    url = f'{api.base}/realms/acme/protocol/openid-connect/userinfo'
    assert requests.get(url, params={'access_token': token}, timeout=10).status_code == 401
    assert requests.post(url, params={'access_token': token}, timeout=10).status_code == 401


def test_a_jwt_access_token_is_not_an_id_token_hint(api, admin_token, make_user, realm):
    # RFC 8725 §2.8, RFC 9068 §4: an access token (typ at+jwt), signed by the same keys with
    # the same iss, must not pass for an ID token. As a logout hint it named its audience as
    # the client whose post_logout_redirect_uri is then trusted, with no client_id given.
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    client = register_client(api, admin_token, realm['uuid'], access_token_format='jwt',
                             access_token_audience='webapp',
                             grant_types=['authorization_code', 'password'])
    access = requests.post(f'{api.base}/realms/acme/protocol/openid-connect/token', data={
        'grant_type': 'password', 'username': 'alice', 'password': 's3cret'},
        auth=(client['client_id'], client['client_secret']), timeout=10).json()['access_token']
    assert access.count('.') == 2

    page = requests.get(f'{api.base}/realms/acme/protocol/openid-connect/logout', params={
        'id_token_hint': access, 'post_logout_redirect_uri': LOGOUT_REDIRECT}, timeout=10,
        allow_redirects=False)

    assert page.status_code == 400 and 'could not be identified' in page.text
