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

from tests.support.apps import running_app
from tests.support.browser import (browser, make_top_user, needs_browser,  # noqa: F401
                                   own_engine, wait_for)
from tests.support.live_server import LiveServer
from wazo_like_auth.app import services_of
from wazo_like_auth.config import load_config

DEVICE = 'urn:ietf:params:oauth:grant-type:device_code'

pytestmark = needs_browser


@pytest.fixture(scope='module')
def server(own_engine, tmp_path_factory):
    engine = own_engine
    state = tmp_path_factory.mktemp('state')
    empty = state / 'config.yml'
    empty.write_text('{}\n')
    config = load_config(config_file=str(empty), environ={}, flags={
        'db_uri': engine.url.render_as_string(hide_password=False), 'state_dir': str(state),
        'password_hash_rounds': 4, 'token_secret': 'e2e-secret-' + 'x' * 40,
        'oauth2': {'device_poll_interval': 1}})
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
