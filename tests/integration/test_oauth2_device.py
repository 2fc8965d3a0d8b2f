"""The device authorization grant (RFC 8628) over HTTP: the device side through authlib and
requests-oauthlib, the person's side through the verification page's forms (the real browser
test is tests/e2e/test_device_flow_browser.py)."""
from __future__ import annotations

import re

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from oauthlib.oauth2 import DeviceClient
from requests_oauthlib import OAuth2Session as RequestsOAuth2Session
from sqlalchemy import text

from tests.support.device_flow import Person, action, hidden, poll, poll_error, start
from tests.support.oauth_live import assert_oauth_error


@pytest.fixture
def tv(make_client):
    make_client('tv', public=True, name='Living room TV')
    return OAuth2Session('tv', token_endpoint_auth_method='none')


@pytest.fixture
def alice(make_user):
    return make_user('alice', 's3cret', acl=['confd.users.me.read'])


def test_device_authorization_response(api, tv):
    started = start(api)

    assert re.fullmatch(r'[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}',
                        started['user_code'])
    assert started['verification_uri'] == f'{api.url}/device'
    assert started['verification_uri_complete'] == \
        f'{api.url}/device?user_code={started["user_code"]}'
    assert (started['expires_in'], started['interval']) == (600, 1)
    assert len(started['device_code']) >= 43


def test_approved_device_gets_a_wazo_token(api, tv, alice, clock):
    started = start(api, scope='offline_access')
    assert poll_error(api, tv, started['device_code']) == 'authorization_pending'
    person = Person()

    consent = person.sign_in(started['verification_uri_complete'], 'alice', 's3cret')
    assert consent.status_code == 200
    assert 'Living room TV' in consent.text and started['user_code'] in consent.text
    done = person.decide(consent, 'approve')
    assert done.status_code == 200 and 'Device connected' in done.text
    clock.advance(1)
    token = poll(api, tv, started['device_code'])

    assert api.is_valid(token['access_token'], scope='confd.users.me.read')
    assert token['refresh_token']
    assert tv.refresh_token(api.token_url(), refresh_token=token['refresh_token'])
    assert poll_error(api, tv, started['device_code']) == 'invalid_grant'  # used once


def test_polling_with_requests_oauthlib(api, tv, alice, insecure_transport):
    started = start(api)
    person = Person()
    person.decide(person.sign_in(started['verification_uri_complete'], 'alice', 's3cret'),
                  'approve')
    session = RequestsOAuth2Session(client=DeviceClient(client_id='tv'))

    token = session.fetch_token(api.token_url(), device_code=started['device_code'],
                                include_client_id=True)

    assert api.is_valid(token['access_token'])
    assert 'refresh_token' not in token


def test_denied_request_is_access_denied(api, tv, alice):
    started = start(api)
    person = Person()

    done = person.decide(person.sign_in(started['verification_uri_complete'], 'alice',
                                        's3cret'), 'deny')

    assert 'Request denied' in done.text
    assert poll_error(api, tv, started['device_code']) == 'access_denied'


def test_polling_faster_than_the_interval_is_slow_down(api, tv, clock):
    started = start(api)
    assert poll_error(api, tv, started['device_code']) == 'authorization_pending'

    assert poll_error(api, tv, started['device_code']) == 'slow_down'
    clock.advance(1.1)
    # The interval grew by 5 seconds (RFC 8628 §3.5): one second is now too fast.
    assert poll_error(api, tv, started['device_code']) == 'slow_down'


def test_expired_device_code(api, tv, alice, engine):
    started = start(api)
    with engine.begin() as conn:
        conn.execute(text("UPDATE auth_device_code SET expires_at = now() - interval '1 s'"))

    assert poll_error(api, tv, started['device_code']) == 'expired_token'
    page = Person().sign_in(started['verification_uri_complete'], 'alice', 's3cret')
    assert page.status_code == 400 and 'unknown or has expired' in page.text


def test_device_code_of_another_client_is_invalid_grant(api, tv, make_client):
    make_client('radio', public=True)
    started = start(api)
    assert poll_error(api, OAuth2Session('radio', token_endpoint_auth_method='none'),
                      started['device_code']) == 'invalid_grant'


def test_client_without_the_device_grant_is_unauthorized_client(api, make_client):
    make_client('mobile', public=True, grant_types=['refresh_token'])
    response = api.post_form('/oauth2/device_authorization', {'client_id': 'mobile'})
    assert_oauth_error(response, 400, 'unauthorized_client')


def test_confidential_client_asks_with_basic_credentials_and_no_parameters(api, make_client):
    # RFC 8628 §3.1 with client_secret_basic and no scope: the body is empty, and HTTP
    # clients (requests here) then send no Content-Type at all.
    kiosk = make_client('kiosk', grant_types=['urn:ietf:params:oauth:grant-type:device_code'])
    response = requests.post(f'{api.url}/oauth2/device_authorization',
                             auth=('kiosk', kiosk['client_secret']), timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers['Cache-Control'] == 'no-store'
    assert response.json()['verification_uri'] == f'{api.url}/device'


def test_wrong_password_on_the_page_is_refused(api, tv, alice):
    started = start(api)
    page = Person().sign_in(started['verification_uri_complete'], 'alice', 'wrong')
    assert page.status_code == 401 and 'Wrong username or password' in page.text
    assert 'name="consent"' not in page.text


def test_guessed_user_codes_are_throttled_per_address(api, tv, alice):
    started = start(api)
    person = Person()
    for _ in range(10):
        guess = person.sign_in(f'{api.url}/device', 'alice', 's3cret', user_code='BBBB-BBBB')
        assert guess.status_code == 400

    blocked = person.sign_in(started['verification_uri_complete'], 'alice', 's3cret')

    assert blocked.status_code == 429 and 'Too many failed attempts' in blocked.text


def test_forms_without_the_csrf_cookie_are_refused(api, tv, alice):
    started = start(api)
    page = Person().open(started['verification_uri_complete'])
    forged = requests.post(action(page.url), timeout=10, data={
        'csrf': hidden(page.text, 'csrf'), 'user_code': started['user_code'],
        'username': 'alice', 'password': 's3cret'})

    assert forged.status_code == 400 and 'form has expired' in forged.text
    assert poll_error(api, tv, started['device_code']) == 'authorization_pending'


def test_consent_cannot_be_forged_without_the_consent_value(api, tv, alice):
    started = start(api)
    person = Person()
    consent = person.sign_in(started['verification_uri_complete'], 'alice', 's3cret')
    form = {'csrf': hidden(consent.text, 'csrf'), 'decision': 'approve', 'consent': 'guess'}

    refused = person.http.post(action(consent.url) + '/decision', data=form, timeout=10)

    assert refused.status_code == 400
    assert poll_error(api, tv, started['device_code']) == 'authorization_pending'


def test_page_is_safe_and_readable_on_a_phone(api, tv):
    started = start(api)
    page = Person().open(started['verification_uri_complete'])

    assert page.status_code == 200 and page.headers['Content-Type'].startswith('text/html')
    assert '<meta name="viewport"' in page.text and '<script' not in page.text
    assert f'value="{started["user_code"]}"' in page.text
    assert page.headers['X-Frame-Options'] == 'DENY'
    assert "frame-ancestors 'none'" in page.headers['Content-Security-Policy']
    assert page.headers['Referrer-Policy'] == 'no-referrer'
    cookie = page.headers['Set-Cookie']
    assert 'HttpOnly' in cookie and 'SameSite=Lax' in cookie
