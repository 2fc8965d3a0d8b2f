"""The device authorization grant end to end in a real headless browser (Debian's chromium
and chromedriver, driven by selenium): a person opens verification_uri_complete, signs in,
approves or denies, and the polling device gets its token or its refusal.

Skips only when chromium or chromedriver is missing (`.ci/install-browser` installs them).
Screenshots of the pages are saved in a temporary directory whose path is printed.
"""
from __future__ import annotations

import time

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from sqlalchemy import text

from tests.support.apps import page_config, running_app
from tests.support.browser import (browser, make_top_user, needs_browser,  # noqa: F401
                                   own_engine, wait_for)
from tests.support.live_server import LiveServer
from wazo_like_auth.app import services_of

DEVICE = 'urn:ietf:params:oauth:grant-type:device_code'

pytestmark = needs_browser


@pytest.fixture(scope='module')
def server(own_engine, tmp_path_factory):
    engine = own_engine
    config = page_config(engine, tmp_path_factory.mktemp('state'),
                         oauth2={'device_poll_interval': 1})
    with running_app(config, engine) as app:
        services = services_of(app)
        services.client_service.reconcile([{
            'client_id': 'tv', 'client_secret': None, 'public': True, 'name': 'Living room TV',
            'grant_types': [DEVICE, 'refresh_token'], 'acl': [], 'policies': []}])
        make_top_user(engine, 'alice', 's3cret', ['confd.users.me.read'])
        with LiveServer(app) as live:
            yield live


@pytest.fixture(scope='module')
def screenshots(tmp_path_factory):
    folder = tmp_path_factory.mktemp('device-flow-screenshots')
    print(f'\ndevice flow screenshots: {folder}')
    return folder


def start(server) -> dict:
    response = requests.post(f'{server.url}/api/auth/0.1/oauth2/device_authorization',
                             data={'client_id': 'tv'}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def poll(server, device_code: str) -> dict:
    return OAuth2Session('tv', token_endpoint_auth_method='none').fetch_token(
        f'{server.url}/api/auth/0.1/oauth2/token', grant_type=DEVICE, device_code=device_code)


def poll_error(server, device_code: str) -> str:
    with pytest.raises(OAuthError) as refused:
        poll(server, device_code)
    return refused.value.error


def sign_in(browser, started: dict, password: str = 's3cret') -> None:
    from selenium.webdriver.common.by import By
    browser.get(started['verification_uri_complete'])
    code = browser.find_element(By.ID, 'user_code')
    assert code.get_attribute('value') == started['user_code']  # pre-filled from the link
    browser.find_element(By.ID, 'username').send_keys('alice')
    browser.find_element(By.ID, 'password').send_keys(password)
    browser.find_element(By.ID, 'continue').click()


def test_person_approves_in_the_browser_and_the_device_gets_a_token(server, browser,
                                                                    screenshots):
    from selenium.webdriver.common.by import By
    started = start(server)
    assert poll_error(server, started['device_code']) == 'authorization_pending'

    sign_in(browser, started)
    assert started['user_code'] in wait_for(browser, 'Living room TV')
    browser.save_screenshot(str(screenshots / 'consent.png'))
    browser.find_element(By.ID, 'approve').click()
    wait_for(browser, 'Device connected')
    browser.save_screenshot(str(screenshots / 'approved.png'))
    time.sleep(1)
    token = poll(server, started['device_code'])

    check = requests.head(f'{server.url}/api/auth/0.1/token/{token["access_token"]}',
                          params={'scope': 'confd.users.me.read'}, timeout=10)
    assert check.status_code == 204


def test_person_denies_in_the_browser(server, browser, screenshots):
    from selenium.webdriver.common.by import By
    started = start(server)

    sign_in(browser, started)
    wait_for(browser, 'Allow access?')
    browser.find_element(By.ID, 'deny').click()

    wait_for(browser, 'Request denied')
    browser.save_screenshot(str(screenshots / 'denied.png'))
    assert poll_error(server, started['device_code']) == 'access_denied'


def test_expired_code_is_refused_in_the_browser(server, browser, own_engine, screenshots):
    started = start(server)
    with own_engine.begin() as conn:
        conn.execute(text("UPDATE auth_device_code SET expires_at = now() - interval '1 s'"))

    sign_in(browser, started)

    wait_for(browser, 'unknown or has expired')
    browser.save_screenshot(str(screenshots / 'expired.png'))
    assert poll_error(server, started['device_code']) == 'expired_token'


def test_a_realms_code_is_unknown_on_another_issuers_page(server, browser, own_engine,
                                                          screenshots):
    """A code requested at a realm (its own verification page, /realms/{slug}/device): the
    global issuer's page reads it as a mistyped code; the realm's page connects the device,
    whose token answers only at the realm's token endpoint and names the realm."""
    from selenium.webdriver.common.by import By
    api = f'{server.url}/api/auth/0.1'
    make_top_user(own_engine, 'device-admin', 'adminpass', ['#'])
    admin = requests.Session()
    admin.headers['X-Auth-Token'] = admin.post(f'{api}/token', json={}, timeout=10,
                                               auth=('device-admin', 'adminpass'),
                                               ).json()['data']['token']
    den = admin.post(f'{api}/tenants', json={'name': 'Den', 'slug': 'den'},
                     timeout=10).json()['uuid']
    for path, body in (('/users', {'username': 'dora', 'password': 'd0rapass'}),
                       ('/clients', {'client_id': 'den-tv', 'name': 'Den TV', 'public': True,
                                     'grant_types': [DEVICE], 'access_token_format': 'jwt'})):
        admin.post(f'{api}{path}', json=body, timeout=10,
                   headers={'Wazo-Tenant': den}).raise_for_status()
    realm = f'{server.url}/realms/den'
    started = requests.post(f'{realm}/protocol/openid-connect/auth/device',
                            data={'client_id': 'den-tv'}, timeout=10).json()
    assert started['verification_uri'] == f'{realm}/device'

    browser.get(f'{api}/device?user_code={started["user_code"]}')
    for field, value in (('username', 'dora'), ('password', 'd0rapass')):
        browser.find_element(By.ID, field).send_keys(value)
    browser.find_element(By.ID, 'continue').click()
    wait_for(browser, 'unknown or has expired')
    browser.save_screenshot(str(screenshots / 'realm-code-on-global-page.png'))

    browser.get(started['verification_uri_complete'])
    for field, value in (('username', 'dora'), ('password', 'd0rapass')):
        browser.find_element(By.ID, field).send_keys(value)
    browser.find_element(By.ID, 'continue').click()
    assert 'Den TV' in wait_for(browser, 'Allow access?')
    browser.find_element(By.ID, 'approve').click()
    wait_for(browser, 'Device connected')

    tv = OAuth2Session('den-tv', token_endpoint_auth_method='none')
    with pytest.raises(OAuthError) as elsewhere:
        tv.fetch_token(f'{api}/oauth2/token', grant_type=DEVICE,
                       device_code=started['device_code'])
    assert elsewhere.value.error == 'invalid_grant'
    token = tv.fetch_token(f'{realm}/protocol/openid-connect/token', grant_type=DEVICE,
                           device_code=started['device_code'])
    from joserfc import jwt
    from joserfc.jwk import KeySet
    keys = KeySet.import_key_set(requests.get(f'{realm}/protocol/openid-connect/certs',
                                              timeout=10).json())
    assert jwt.decode(token['access_token'], keys).claims['iss'] == realm
