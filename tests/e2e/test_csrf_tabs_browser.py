"""Two tabs of one browser on the same form pages (a real headless Chromium, Debian's chromium
and chromedriver driven by selenium): each tab's form still posts, while a forged cross-site
POST is still refused with the readable "This form has expired" page.

The tabs are opened the way people open them: from a relying party's page on another site
(``localhost`` against the service's ``127.0.0.1``), a cross-site navigation, which is when a
browser holds back SameSite=Strict cookies. Skips only when chromium or chromedriver is
missing (`.ci/install-browser` installs them). Screenshots go to a printed temporary folder.
"""
from __future__ import annotations

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from tests.support.apps import page_config, running_app
from tests.support.browser import (browser, make_top_user, needs_browser,  # noqa: F401
                                   own_engine, wait_for)
from tests.support.live_server import LiveServer
from tests.support.plain_page import PlainPage
from wazo_like_auth.app import services_of

pytestmark = needs_browser

DEVICE = 'urn:ietf:params:oauth:grant-type:device_code'
EXPIRED = 'This form has expired'


@pytest.fixture(scope='module')
def rp():
    with PlainPage('RP', 'Relying party') as party:
        yield party


@pytest.fixture(scope='module')
def server(own_engine, tmp_path_factory, rp):
    config = page_config(own_engine, tmp_path_factory.mktemp('state'))
    with running_app(config, own_engine) as app:
        common = {'client_secret': None, 'public': True, 'acl': [], 'policies': [],
                  'post_logout_redirect_uris': []}
        services_of(app).client_service.reconcile([
            {**common, 'client_id': 'spa', 'name': 'Team chat',
             'grant_types': ['authorization_code'], 'redirect_uris': [rp.url + '/callback'],
             'require_consent': False},
            {**common, 'client_id': 'partner', 'name': 'Partner app',
             'grant_types': ['authorization_code'], 'redirect_uris': [rp.url + '/callback'],
             'require_consent': True},
            {**common, 'client_id': 'tv', 'name': 'Living room TV', 'grant_types': [DEVICE]}])
        make_top_user(own_engine, 'alice', 's3cret', [])
        with LiveServer(app) as live:
            yield live


@pytest.fixture(scope='module')
def screenshots(tmp_path_factory):
    folder = tmp_path_factory.mktemp('csrf-tabs-screenshots')
    print(f'\ntwo-tab screenshots: {folder}')
    return folder


@pytest.fixture
def tabs(browser):
    """The browser with no cookies and one tab; extra tabs are closed afterwards."""
    clear_cookies(browser)
    first = browser.current_window_handle
    yield browser
    for handle in browser.window_handles:
        if handle != first:
            browser.switch_to.window(handle)
            browser.close()
    browser.switch_to.window(first)


def clear_cookies(browser) -> None:
    """Every cookie of every site (selenium's delete_all_cookies forgets only the current
    page's)."""
    browser.execute_cdp_cmd('Network.clearBrowserCookies', {})


def other_site(rp) -> str:
    """The relying party's page by another site's name than the service's 127.0.0.1."""
    return rp.url.replace('127.0.0.1', 'localhost')


def open_from_other_site(browser, rp, url: str, new_tab: bool) -> None:
    """Open ``url`` as a link of another site does (a cross-site navigation)."""
    if new_tab:
        browser.switch_to.new_window('tab')
    browser.get(other_site(rp) + '/start')
    wait_for(browser, 'Relying party')
    browser.execute_script('window.location.href = arguments[0];', url)


def authorization_url(server, client_id: str, rp) -> str:
    session = OAuth2Session(client_id, redirect_uri=rp.url + '/callback', scope='openid',
                            code_challenge_method='S256', token_endpoint_auth_method='none')
    url, _ = session.create_authorization_url(
        f'{server.url}/api/auth/0.1/oauth2/authorize', code_verifier=generate_token(48),
        nonce=generate_token(20))
    return url


def landed_with_code(browser, rp) -> bool:
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(browser, 10, poll_frequency=0.1).until(
        lambda d: d.current_url.startswith(rp.url + '/callback'))
    return 'code=' in browser.current_url


def sign_in(browser) -> None:
    from selenium.webdriver.common.by import By
    browser.find_element(By.ID, 'username').send_keys('alice')
    browser.find_element(By.ID, 'password').send_keys('s3cret')
    browser.find_element(By.ID, 'sign_in').click()


def test_two_tabs_on_the_sign_in_page_both_sign_in(server, rp, tabs, screenshots):
    url = authorization_url(server, 'spa', rp)
    open_from_other_site(tabs, rp, url, new_tab=False)
    wait_for(tabs, 'Sign in')
    first = tabs.current_window_handle
    open_from_other_site(tabs, rp, url, new_tab=True)
    wait_for(tabs, 'Sign in')
    second = tabs.current_window_handle

    tabs.switch_to.window(first)
    sign_in(tabs)
    assert landed_with_code(tabs, rp)
    tabs.save_screenshot(str(screenshots / 'first-tab-signed-in.png'))
    tabs.switch_to.window(second)
    sign_in(tabs)  # already signed in by then: this tab's form posts as well
    assert landed_with_code(tabs, rp)


def test_two_tabs_on_the_consent_page_both_answer(server, rp, tabs, screenshots):
    from selenium.webdriver.common.by import By
    url = authorization_url(server, 'partner', rp)
    open_from_other_site(tabs, rp, url, new_tab=False)
    wait_for(tabs, 'Sign in')
    sign_in(tabs)
    wait_for(tabs, 'Allow access?')
    first = tabs.current_window_handle
    open_from_other_site(tabs, rp, authorization_url(server, 'partner', rp), new_tab=True)
    wait_for(tabs, 'Allow access?')

    tabs.switch_to.window(first)
    tabs.find_element(By.ID, 'approve').click()
    assert landed_with_code(tabs, rp)
    tabs.save_screenshot(str(screenshots / 'first-tab-consented.png'))


def test_two_tabs_on_the_device_page_both_sign_in(server, rp, tabs, screenshots):
    from selenium.webdriver.common.by import By
    started = [requests.post(f'{server.url}/api/auth/0.1/oauth2/device_authorization',
                             data={'client_id': 'tv'}, timeout=10).json() for _ in range(2)]
    open_from_other_site(tabs, rp, started[0]['verification_uri_complete'], new_tab=False)
    wait_for(tabs, 'Connect a device')
    first = tabs.current_window_handle
    open_from_other_site(tabs, rp, started[1]['verification_uri_complete'], new_tab=True)
    wait_for(tabs, 'Connect a device')

    tabs.switch_to.window(first)
    tabs.find_element(By.ID, 'username').send_keys('alice')
    tabs.find_element(By.ID, 'password').send_keys('s3cret')
    tabs.find_element(By.ID, 'continue').click()
    assert started[0]['user_code'] in wait_for(tabs, 'Allow access?')
    tabs.save_screenshot(str(screenshots / 'first-device-tab-consent.png'))


def test_a_forged_cross_site_post_is_refused_with_the_readable_page(server, rp, tabs,
                                                                    screenshots):
    """The forger has a valid form of its own (its own cookie, its own token): posted from
    its site into the victim's browser, which has a cookie of its own, or none, it is
    refused."""
    from tests.support.oidc import forms_of
    url = authorization_url(server, 'spa', rp)
    forger = requests.Session()
    form = forms_of(forger.get(url, timeout=10).text)[0]
    fields = {**form['fields'], 'username': 'alice', 'password': 's3cret'}
    action = server.url + form['action']
    forge = """
        const form = document.createElement('form');
        form.method = 'post'; form.action = arguments[0];
        for (const [name, value] of Object.entries(arguments[1])) {
            const input = document.createElement('input');
            input.type = 'hidden'; input.name = name; input.value = value;
            form.appendChild(input);
        }
        document.body.appendChild(form); form.submit();"""

    for victim_has_a_cookie in (False, True):
        clear_cookies(tabs)
        if victim_has_a_cookie:
            open_from_other_site(tabs, rp, url, new_tab=False)
            wait_for(tabs, 'Sign in')
        tabs.get(other_site(rp) + '/evil')
        wait_for(tabs, 'Relying party')
        tabs.execute_script(forge, action, fields)
        page = wait_for(tabs, EXPIRED)
        assert 'Sign in' in page and tabs.current_url.startswith(server.url)
        tabs.save_screenshot(str(screenshots / f'forged-{victim_has_a_cookie}.png'))
