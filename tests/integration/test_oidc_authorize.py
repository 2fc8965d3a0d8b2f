"""The authorization endpoint, its pages and codes, through real HTTP requests: what a
browser or an attacker can send, and what a relying party gets back."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest
import requests
from sqlalchemy import text

from tests.support.oidc import (REDIRECT, callback_params, forms_of, realm,  # noqa: F401
                                            register_client, submit)
from wazo_like_auth.oidc.pkce import s256

VERIFIER = 'v' * 43 + '-._~0123456789'
CHALLENGE = s256(VERIFIER)


@pytest.fixture
def issuer(api, realm):
    return f'{api.base}/realms/acme'


@pytest.fixture
def alice(make_user, realm):
    return make_user('alice', 's3cret', tenant_uuid=realm['uuid'], acl=['confd.users.me.read'])


@pytest.fixture
def webapp(api, admin_token, realm):
    return register_client(api, admin_token, realm['uuid'])


def auth_url(issuer: str, **params) -> str:
    query = {'client_id': 'webapp', 'redirect_uri': REDIRECT, 'response_type': 'code',
             'scope': 'openid', 'state': 'st', 'code_challenge': CHALLENGE,
             'code_challenge_method': 'S256', **params}
    return f'{issuer}/protocol/openid-connect/auth?' + urlencode(
        {k: v for k, v in query.items() if v is not None})


def sign_in(browser, url, username='alice', password='s3cret'):
    page = browser.get(url, timeout=10, allow_redirects=False)
    assert page.status_code == 200, page.text[:300]
    return submit(browser, page, username=username, password=password)


def exchange(issuer, client, code, verifier=VERIFIER, redirect_uri=REDIRECT):
    data = {'grant_type': 'authorization_code', 'code': code, 'redirect_uri': redirect_uri,
            'code_verifier': verifier}
    return requests.post(f'{issuer}/protocol/openid-connect/token', data=data,
                         auth=(client['client_id'], client['client_secret']), timeout=10)


@pytest.mark.parametrize('redirect_uri', [
    REDIRECT + '/', REDIRECT.replace('rp.example.com', 'rp.example.com:8443'),
    REDIRECT.replace('callback', 'Callback'), REDIRECT.upper(), REDIRECT + '?next=/admin',
    'https://evil.example.com/callback', REDIRECT + '#x', 'javascript:alert(1)'])
def test_near_miss_redirect_uri_is_an_error_page_never_a_redirect(api, issuer, webapp,
                                                                  redirect_uri):
    response = requests.get(auth_url(issuer, redirect_uri=redirect_uri), timeout=10,
                            allow_redirects=False)
    assert response.status_code == 400
    assert 'Location' not in response.headers
    assert 'not registered' in response.text
    assert response.headers['X-Frame-Options'] == 'DENY'


@pytest.mark.parametrize('client_id', [None, 'unknown', 'x' * 300])
def test_unknown_or_missing_client_is_an_error_page(api, issuer, webapp, client_id):
    response = requests.get(auth_url(issuer, client_id=client_id), timeout=10,
                            allow_redirects=False)
    assert response.status_code == 400 and 'Location' not in response.headers


def test_client_of_another_tenant_is_unknown_in_the_realm(api, admin_token, issuer, realm):
    register_client(api, admin_token)  # in the top tenant
    response = requests.get(auth_url(issuer), timeout=10, allow_redirects=False)
    assert response.status_code == 400 and 'Location' not in response.headers


@pytest.mark.parametrize('params, error', [
    ({'code_challenge': None, 'code_challenge_method': None}, 'invalid_request'),
    ({'code_challenge_method': 'plain'}, 'invalid_request'),
    ({'code_challenge': 'short'}, 'invalid_request'),
    ({'response_type': 'token'}, 'unsupported_response_type'),
    ({'prompt': 'none login'}, 'invalid_request'),
    ({'max_age': '-1'}, 'invalid_request'),
    ({'prompt': 'none'}, 'login_required'),
])
def test_later_errors_redirect_with_error_state_and_iss(api, admin_token, realm, issuer,
                                                        params, error):
    register_client(api, admin_token, realm['uuid'], public=True)
    response = requests.get(auth_url(issuer, **params), timeout=10, allow_redirects=False)
    answer = callback_params(response)
    assert answer['error'] == error and answer['state'] == 'st' and answer['iss'] == issuer
    assert 'error_description' in answer and 'code' not in answer


def test_sign_in_page_is_safe_and_escapes_what_it_shows(api, issuer, webapp, alice):
    markup = '"><script>alert(1)</script>'
    page = requests.get(auth_url(issuer, state=markup, nonce=markup, login_hint=markup),
                        timeout=10)
    assert page.status_code == 200
    assert '<script>alert(1)' not in page.text and '&lt;script&gt;' in page.text
    assert 'Web &lt;App&gt;' in page.text  # the client's name, escaped
    policy = page.headers['Content-Security-Policy']
    assert "default-src 'none'" in policy and "script-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy and 'https://rp.example.com' in policy
    assert page.headers['X-Frame-Options'] == 'DENY'
    assert page.headers['Cache-Control'] == 'no-store'
    assert '<label for="username">' in page.text and '<label for="password">' in page.text


def test_markup_in_state_and_nonce_comes_back_verbatim(api, issuer, webapp, alice):
    markup = '"><script>alert(1)</script>&x=1'
    browser = requests.Session()
    answer = callback_params(sign_in(browser, auth_url(issuer, state=markup, nonce=markup)))
    assert answer['state'] == markup and set(answer) == {'code', 'state', 'iss'}
    token = exchange(issuer, webapp, answer['code']).json()
    from joserfc import jwt
    claims = jwt.decode(token['id_token'], _keys(issuer)).claims
    assert claims['nonce'] == markup


def _keys(issuer):
    from joserfc.jwk import KeySet
    return KeySet.import_key_set(requests.get(
        f'{issuer}/protocol/openid-connect/certs', timeout=10).json())


def test_sign_in_cookie_is_httponly_lax_and_scoped_to_the_realm(api, issuer, webapp, alice):
    response = sign_in(requests.Session(), auth_url(issuer))
    cookies = response.raw.headers.getlist('Set-Cookie')
    signin = next(c for c in cookies if c.startswith('wla_signin='))
    assert 'HttpOnly' in signin and 'SameSite=Lax' in signin and 'Path=/realms/acme/' in signin


def test_wrong_password_wrong_tenant_and_unknown_user_look_alike(api, issuer, webapp, alice,
                                                                make_user):
    make_user('bob', 'b0bpass')  # top tenant, not the realm's
    answers = []
    for username, password in [('alice', 'wrong'), ('bob', 'b0bpass'), ('nobody', 'x')]:
        response = sign_in(requests.Session(), auth_url(issuer), username, password)
        answers.append((response.status_code, forms_of(response.text)[0]['action'],
                        'Wrong username or password.' in response.text))
    assert answers == [(401, '/realms/acme/protocol/openid-connect/auth/signin', True)] * 3


def test_forged_csrf_value_signs_nobody_in(api, issuer, webapp, alice):
    browser = requests.Session()
    page = browser.get(auth_url(issuer), timeout=10)
    response = submit(browser, page, username='alice', password='s3cret', csrf='0' * 64)
    assert response.status_code == 400 and 'This form has expired' in response.text
    assert 'wla_signin' not in browser.cookies


def test_second_authorization_skips_the_form_and_prompt_login_forces_it(api, issuer, webapp,
                                                                        alice):
    browser = requests.Session()
    callback_params(sign_in(browser, auth_url(issuer)))

    again = browser.get(auth_url(issuer), timeout=10, allow_redirects=False)
    forced = browser.get(auth_url(issuer, prompt='login'), timeout=10, allow_redirects=False)
    too_old = browser.get(auth_url(issuer, max_age='0'), timeout=10, allow_redirects=False)

    assert 'code' in callback_params(again)
    assert forced.status_code == 200 and 'Sign in' in forced.text
    assert too_old.status_code == 200 and 'Sign in' in too_old.text
    assert 'code' in callback_params(submit(browser, forced, username='alice',
                                            password='s3cret'))


def test_disabled_user_with_a_live_sign_in_is_asked_again(api, issuer, webapp, alice, engine):
    browser = requests.Session()
    callback_params(sign_in(browser, auth_url(issuer)))
    with engine.begin() as conn:
        conn.execute(text('UPDATE auth_user SET enabled = false WHERE uuid = :u'), {'u': alice})

    again = browser.get(auth_url(issuer), timeout=10, allow_redirects=False)
    silent = browser.get(auth_url(issuer, prompt='none'), timeout=10, allow_redirects=False)

    assert again.status_code == 200 and 'Sign in' in again.text
    assert callback_params(silent)['error'] == 'login_required'


def test_code_is_single_use_and_a_replay_revokes_what_it_gave(api, issuer, webapp, alice):
    code = callback_params(sign_in(requests.Session(), auth_url(issuer)))['code']
    first = exchange(issuer, webapp, code)
    assert first.status_code == 200, first.text
    assert api.is_valid(first.json()['access_token'])

    second = exchange(issuer, webapp, code)

    assert second.status_code == 400 and second.json()['error'] == 'invalid_grant'
    assert not api.is_valid(first.json()['access_token'])


@pytest.mark.parametrize('verifier', [None, 'w' * 43, VERIFIER + 'x', 'short'])
def test_missing_or_wrong_verifier_is_invalid_grant(api, issuer, webapp, alice, verifier):
    code = callback_params(sign_in(requests.Session(), auth_url(issuer)))['code']
    response = exchange(issuer, webapp, code, verifier=verifier)
    assert response.status_code == 400 and response.json()['error'] == 'invalid_grant'


def test_expired_code_and_other_redirect_uri_are_invalid_grant(api, issuer, webapp, alice,
                                                               engine):
    browser = requests.Session()
    code = callback_params(sign_in(browser, auth_url(issuer)))['code']
    other = callback_params(browser.get(auth_url(issuer), timeout=10,
                                        allow_redirects=False))['code']
    with engine.begin() as conn:
        conn.execute(text("UPDATE auth_authorization_code SET expires_at = now() "
                          "- interval '1 second' WHERE used_at IS NULL AND "
                          "code_hash = sha256(convert_to(:c, 'UTF8'))"), {'c': code})

    expired = exchange(issuer, webapp, code)
    wrong_uri = exchange(issuer, webapp, other, redirect_uri=REDIRECT + '/')

    assert expired.json()['error'] == 'invalid_grant'
    assert wrong_uri.json()['error'] == 'invalid_grant'


def test_code_of_another_client_is_invalid_grant(api, admin_token, issuer, webapp, alice,
                                                 realm):
    other = register_client(api, admin_token, realm['uuid'], client_id='other')
    code = callback_params(sign_in(requests.Session(), auth_url(issuer)))['code']
    stolen = exchange(issuer, other, code)
    assert stolen.status_code == 400 and stolen.json()['error'] == 'invalid_grant'
    assert exchange(issuer, webapp, code).status_code == 200  # still the owner's


def test_code_answers_only_at_its_issuers_token_endpoint(api, issuer, webapp, alice):
    code = callback_params(sign_in(requests.Session(), auth_url(issuer)))['code']
    global_token = requests.get(f'{api.base}/api/auth/0.1/.well-known/openid-configuration',
                                timeout=10).json()['token_endpoint']
    data = {'grant_type': 'authorization_code', 'code': code, 'redirect_uri': REDIRECT,
            'code_verifier': VERIFIER}

    elsewhere = requests.post(global_token, data=data, timeout=10,
                              auth=(webapp['client_id'], webapp['client_secret']))

    assert elsewhere.status_code == 400 and elsewhere.json()['error'] == 'invalid_grant'
    # Still usable at its realm's endpoint, even by another name for the same server (the
    # realm is what counts, not the Host a back end uses).
    assert '127.0.0.1' in issuer
    answered = exchange(issuer.replace('127.0.0.1', 'localhost'), webapp, code)
    assert answered.status_code == 200, answered.text
    assert api.is_valid(answered.json()['access_token'])


def test_very_long_parameters_never_fail_the_server(api, issuer, webapp, alice):
    for params in ({'state': 's' * 5000}, {'nonce': 'n' * 5000}, {'scope': 'openid ' * 400},
                   {'login_hint': 'h' * 3000}, {'redirect_uri': REDIRECT + 'x' * 3000}):
        response = requests.get(auth_url(issuer, **params), timeout=10, allow_redirects=False)
        assert response.status_code in (302, 400), (params.keys(), response.status_code)
        assert response.headers.get('Location', REDIRECT).startswith(REDIRECT)
    huge = requests.get(auth_url(issuer, state='s' * 20000), timeout=10)
    assert huge.status_code == 414


@pytest.mark.parametrize('path', [
    '/realms/nope/.well-known/openid-configuration',
    '/.well-known/oauth-authorization-server/realms/nope',
    '/realms/nope/protocol/openid-connect/certs',
    '/realms/nope/protocol/openid-connect/auth?client_id=webapp'])
def test_unknown_realm_is_404_in_the_envelope(api, path):
    response = requests.get(api.base + path, timeout=10)
    assert response.status_code == 404
    body = response.json()
    assert body['error_id'] == 'unknown-realm' and body['status_code'] == 404


def test_unknown_realm_token_endpoint_is_404_in_the_envelope(api):
    response = requests.post(api.base + '/realms/nope/protocol/openid-connect/token',
                             data={'grant_type': 'password'}, timeout=10)
    assert response.status_code == 404 and response.json()['error_id'] == 'unknown-realm'


def test_form_post_answers_an_html_form_to_the_client(api, issuer, webapp, alice):
    response = sign_in(requests.Session(), auth_url(issuer, response_mode='form_post'))
    assert response.status_code == 200
    form = forms_of(response.text)[0]
    assert form['action'] == REDIRECT and form['fields']['state'] == 'st'
    assert set(form['fields']) == {'code', 'state', 'iss'}
    assert "script-src 'sha256-" in response.headers['Content-Security-Policy']


def test_nul_and_odd_bytes_in_parameters_never_fail_the_server(api, issuer, webapp, alice):
    for params in ({'nonce': 'a\x00b'}, {'state': 'a\x00b'}, {'scope': 'openid\x00'},
                   {'login_hint': '\x00'}, {'client_id': 'web\x00app'}):
        response = requests.get(auth_url(issuer, **params), timeout=10, allow_redirects=False)
        assert response.status_code in (302, 400), (params, response.status_code)
    browser = requests.Session()
    page = browser.get(auth_url(issuer), timeout=10)
    for username, password in [('ali\x00ce', 's3cret'), ('alice', 'x\x00y'),
                               ('alice', 'é' * 100), ('a' * 5000, 'x')]:
        response = submit(browser, page, username=username, password=password)
        assert response.status_code == 401, (username[:10], response.status_code)


def test_nul_in_the_realm_name_is_an_unknown_realm(api):
    response = requests.get(f'{api.base}/realms/ac%00me/.well-known/openid-configuration',
                            timeout=10)
    assert response.status_code == 404 and response.json()['error_id'] == 'unknown-realm'


def test_prompt_consent_asks_even_a_first_party_client(api, issuer, webapp, alice):
    browser = requests.Session()
    page = browser.get(auth_url(issuer, prompt='consent'), timeout=10)
    consent = submit(browser, page, username='alice', password='s3cret')
    assert consent.status_code == 200 and 'Allow access?' in consent.text
    assert 'code' in callback_params(submit(browser, consent, button='approve'))


def test_authorization_request_may_be_posted(api, issuer, webapp, alice):
    browser = requests.Session()
    query = dict(part.split('=', 1) for part in auth_url(issuer).split('?', 1)[1].split('&'))
    from urllib.parse import unquote
    page = browser.post(f'{issuer}/protocol/openid-connect/auth', timeout=10,
                        data={k: unquote(v) for k, v in query.items()})
    assert page.status_code == 200 and 'Sign in' in page.text
    assert 'code' in callback_params(submit(browser, page, username='alice', password='s3cret'))


def test_sign_in_cookie_is_secure_under_tls(oauth_app, webapp, alice, realm):
    client = oauth_app.test_client()
    https = 'https://auth.example.com'
    page = client.get(auth_url(https + '/realms/acme'), base_url=https)
    form = forms_of(page.get_data(as_text=True))[0]
    csrf_cookie = page.headers.getlist('Set-Cookie')[0]
    assert 'Secure' in csrf_cookie and 'SameSite=Lax' in csrf_cookie
    answer = client.post(form['action'], base_url=https, data={
        **form['fields'], 'username': 'alice', 'password': 's3cret'})
    assert answer.status_code == 302
    signin = next(c for c in answer.headers.getlist('Set-Cookie') if 'wla_signin' in c)
    assert 'Secure' in signin and 'HttpOnly' in signin and 'SameSite=Lax' in signin
