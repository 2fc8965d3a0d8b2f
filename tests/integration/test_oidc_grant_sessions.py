"""What an OpenID grant's sessions are: logout with a refreshed ID token of a password grant,
a refresh token of its own for each browser's sign-in, a refresh racing the sign-out."""
from __future__ import annotations

from urllib.parse import urlencode

import requests

from tests.support.oidc import (LOGOUT_REDIRECT, REDIRECT, callback_params, realm,  # noqa: F401
                                register_client, submit)
from wazo_like_auth.oidc.pkce import s256

VERIFIER = 'q' * 50


def _protocol(api) -> str:
    return f'{api.base}/realms/acme/protocol/openid-connect'


def _authorize(api, **params) -> str:
    query = {'client_id': 'webapp', 'redirect_uri': REDIRECT, 'response_type': 'code',
             'scope': 'openid profile', 'state': 'st', 'code_challenge': s256(VERIFIER),
             'code_challenge_method': 'S256', **params}
    return _protocol(api) + '/auth?' + urlencode({k: v for k, v in query.items()
                                                  if v is not None})


def test_logout_with_a_refreshed_id_token_of_a_password_grant_ends_the_current_token(
        api, admin_token, make_user, realm):
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    register_client(api, admin_token, realm['uuid'], public=True,
                    grant_types=['password', 'refresh_token'])
    first = requests.post(_protocol(api) + '/token', timeout=10, data={
        'grant_type': 'password', 'client_id': 'webapp', 'username': 'alice',
        'password': 's3cret', 'scope': 'openid offline_access'}).json()
    refreshed = requests.post(_protocol(api) + '/token', timeout=10, data={
        'grant_type': 'refresh_token', 'client_id': 'webapp',
        'refresh_token': first['refresh_token']}).json()
    assert 'id_token' in refreshed

    done = requests.get(_protocol(api) + '/logout', timeout=10, allow_redirects=False,
                        params={'id_token_hint': refreshed['id_token'],
                                'post_logout_redirect_uri': LOGOUT_REDIRECT})

    assert done.status_code == 302 and done.headers['Location'] == LOGOUT_REDIRECT
    assert not api.is_valid(refreshed['access_token'])


def _certs(api):
    from joserfc.jwk import KeySet
    return KeySet.import_key_set(requests.get(_protocol(api) + '/certs', timeout=10).json())


def _claims(api, token: dict) -> dict:
    from joserfc import jwt
    return jwt.decode(token['id_token'], _certs(api)).claims


def _signed_in(api, client, browser, **params) -> dict:
    """Sign ``browser`` in as Alice through the form and exchange the code."""
    page = browser.get(_authorize(api, **params), timeout=10, allow_redirects=False)
    code = callback_params(submit(browser, page, username='alice', password='s3cret'))['code']
    return requests.post(_protocol(api) + '/token', data={
        'grant_type': 'authorization_code', 'code': code, 'redirect_uri': REDIRECT,
        'code_verifier': VERIFIER}, auth=(client['client_id'], client['client_secret']),
        timeout=10).json()


def test_a_refresh_keeps_its_own_sign_in_when_the_user_signs_in_on_another_browser(
        api, admin_token, make_user, realm):
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    client = register_client(api, admin_token, realm['uuid'])
    laptop, phone = requests.Session(), requests.Session()
    on_laptop = _signed_in(api, client, laptop, scope='openid offline_access')
    on_phone = _signed_in(api, client, phone, scope='openid offline_access')

    refreshed = requests.post(_protocol(api) + '/token', timeout=10, data={
        'grant_type': 'refresh_token', 'refresh_token': on_laptop['refresh_token']},
        auth=(client['client_id'], client['client_secret'])).json()
    confirm = laptop.get(_protocol(api) + '/logout', timeout=10)
    submit(laptop, confirm, button='logout')

    assert _claims(api, refreshed)['sid'] == _claims(api, on_laptop)['sid']
    assert not api.is_valid(refreshed['access_token'])  # issued through the laptop's sign-in
    assert api.is_valid(on_phone['access_token'])


def test_a_refresh_racing_the_sign_out_of_its_sign_in_is_answered(api, admin_token, make_user,
                                                                  realm, engine):
    from sqlalchemy import text

    from tests.integration.test_client_delete_races import (finished, in_background,
                                                            waiting_on_a_lock)
    from tests.support.polling import wait_until
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    register_client(api, admin_token, realm['uuid'], public=True)
    browser = requests.Session()
    page = browser.get(_authorize(api, scope='openid offline_access'), timeout=10,
                       allow_redirects=False)
    code = callback_params(submit(browser, page, username='alice', password='s3cret'))['code']
    first = requests.post(_protocol(api) + '/token', timeout=10, data={
        'grant_type': 'authorization_code', 'code': code, 'redirect_uri': REDIRECT,
        'code_verifier': VERIFIER, 'client_id': 'webapp'}).json()
    sid = _claims(api, first)['sid']

    # The browser signs out (its sign-in's own session goes, and the sign-in with it) at the
    # moment the refresh links its new session to the sign-in it found alive.
    with engine.connect() as conn:
        conn.execute(text('DELETE FROM auth_session WHERE uuid = (SELECT session_uuid FROM '
                          'auth_signin WHERE uuid = :sid)'), {'sid': sid})
        refresh = in_background(lambda: requests.post(
            _protocol(api) + '/token', timeout=30, data={
                'grant_type': 'refresh_token', 'client_id': 'webapp',
                'refresh_token': first['refresh_token']}))
        assert wait_until(lambda: waiting_on_a_lock(engine))
        conn.commit()
    answer = finished(refresh)

    # It answered 409 in the Wazo envelope after rotating the refresh token: the client, a
    # public one, never got the new value, and the one it holds is refused (offline access
    # is meant to survive sign-out).
    assert answer.status_code == 200, answer.text
    assert 'refresh_token' in answer.json() and 'id_token' in answer.json()
