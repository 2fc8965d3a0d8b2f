"""Which redirect URIs a client may register (RFC 6749 §3.1.2, RFC 8252 §7, RFC 9700 §4.1):
https, http, and the private-use schemes of native applications; never a scheme that runs or
reads something in the browser itself (javascript:, data:, vbscript:, file:), never a fragment.
A registration stored before the rule existed is not redirected to either."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest
import requests
from sqlalchemy import text

from tests.support.oidc import REDIRECT, realm, register_client  # noqa: F401
from wazo_like_auth.oidc.pkce import s256

UNSAFE = ['javascript:alert(document.cookie)', 'JavaScript://%0aalert(1)',
          'data:text/html,<script>alert(1)</script>', 'vbscript:msgbox(1)',
          'file:///etc/passwd', 'FILE://host/share']
ALLOWED = ['https://rp.example.com/cb', 'http://localhost:8080/cb', 'http://127.0.0.1:5000/cb',
           'http://rp.example.com/cb', 'com.example.app:/callback', 'com.example.app:/cb?x=1']


@pytest.mark.parametrize('field', ['redirect_uris', 'post_logout_redirect_uris'])
@pytest.mark.parametrize('uri', [*UNSAFE, 'https://rp.example.com/cb#frag'])
def test_registration_refuses_uris_a_browser_would_not_leave_the_page_for(api, admin_token,
                                                                          field, uri):
    body = {'client_id': 'webapp', 'grant_types': ['authorization_code'],
            'redirect_uris': [REDIRECT], field: [REDIRECT, uri]}

    created = api.admin('POST', '/clients', admin_token, json=body)

    assert created.status_code == 400, created.text
    assert created.json()['error_id'] == 'invalid-data'
    assert list(created.json()['details']) == [field]
    assert api.admin('GET', '/clients', admin_token).json()['total'] == 0


def test_update_refuses_an_unsafe_redirect_uri_and_keeps_the_registration(api, admin_token):
    client = register_client(api, admin_token)

    updated = api.admin('PUT', f'/clients/{client["uuid"]}', admin_token, json={
        'grant_types': ['authorization_code'], 'redirect_uris': ['javascript:alert(1)']})

    assert updated.status_code == 400 and 'redirect_uris' in updated.json()['details']
    shown = api.admin('GET', f'/clients/{client["uuid"]}', admin_token).json()
    assert shown['redirect_uris'] == [REDIRECT]


def test_https_http_and_native_app_schemes_are_registered(api, admin_token):
    client = register_client(api, admin_token, redirect_uris=ALLOWED,
                             post_logout_redirect_uris=ALLOWED)
    assert client['redirect_uris'] == ALLOWED
    assert client['post_logout_redirect_uris'] == ALLOWED


def test_an_unsafe_uri_stored_before_the_rule_is_never_redirected_to(api, admin_token, realm,
                                                                      engine):
    register_client(api, admin_token, realm['uuid'])
    unsafe = 'javascript:alert(document.domain)//'
    with engine.begin() as conn:  # as a registration made by an earlier version left it
        conn.execute(text("UPDATE auth_client SET redirect_uris = array_append(redirect_uris, "
                          ":u), post_logout_redirect_uris = ARRAY[:u] "
                          "WHERE client_id = 'webapp'"), {'u': unsafe})
    query = {'client_id': 'webapp', 'redirect_uri': unsafe, 'response_type': 'code',
             'scope': 'openid', 'code_challenge': s256('k' * 50),
             'code_challenge_method': 'S256'}
    realm_url = f'{api.base}/realms/acme/protocol/openid-connect'

    authorize = requests.get(f'{realm_url}/auth?{urlencode(query)}', timeout=10,
                             allow_redirects=False)
    logout = requests.get(f'{realm_url}/logout', timeout=10, allow_redirects=False, params={
        'client_id': 'webapp', 'post_logout_redirect_uri': unsafe})

    assert authorize.status_code == 400 and 'Location' not in authorize.headers
    assert 'javascript:' not in authorize.text
    assert logout.status_code in (200, 400) and 'Location' not in logout.headers
    assert 'javascript:' not in logout.text
