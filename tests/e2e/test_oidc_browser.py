"""The OpenID Connect sign-in in a real headless browser (Debian's chromium and chromedriver,
driven by selenium), with authlib's OAuth2 client as the relying party: the person signs in
on the real page, the relying party exchanges the code and validates the ID token against
``certs``; then a wrong password, silent sign-in (prompt=none), consent and logout.

Skips only when chromium or chromedriver is missing (`.ci/install-browser` installs them).
Screenshots of the pages are saved in a temporary directory whose path is printed.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

from tests.support.apps import page_config, running_app
from tests.support.browser import (browser, make_top_user, needs_browser,  # noqa: F401
                                   own_engine, wait_for)
from tests.support.live_server import LiveServer
from tests.support.plain_page import PlainPage
from wazo_like_auth.app import services_of
from wazo_like_auth.models import Tenant

pytestmark = needs_browser


@pytest.fixture(scope='module')
def rp():
    # The relying party's callback page: a plain page, so the browser lands somewhere.
    with PlainPage('RP', 'Relying party callback') as party:
        yield party


@pytest.fixture(scope='module')
def server(own_engine, tmp_path_factory, rp):
    config = page_config(own_engine, tmp_path_factory.mktemp('state'))
    with running_app(config, own_engine) as app:
        services = services_of(app)
        callback = rp.url + '/callback'
        services.client_service.reconcile([
            {'client_id': 'spa', 'client_secret': None, 'public': True, 'name': 'Team <Chat>',
             'grant_types': ['authorization_code', 'refresh_token'], 'acl': [],
             'policies': [], 'redirect_uris': [callback],
             'post_logout_redirect_uris': [rp.url + '/bye'], 'require_consent': False},
            {'client_id': 'partner', 'client_secret': None, 'public': True,
             'name': 'Partner app', 'grant_types': ['authorization_code'], 'acl': [],
             'policies': [], 'redirect_uris': [callback], 'post_logout_redirect_uris': [],
             'require_consent': True}])
        make_top_user(own_engine, 'alice', 's3cret', ['confd.users.me.read'])
        with LiveServer(app) as live:
            yield live


@pytest.fixture(scope='module')
def screenshots(tmp_path_factory):
    folder = tmp_path_factory.mktemp('oidc-screenshots')
    print(f'\nOpenID Connect screenshots: {folder}')
    return folder


def issuer(server, own_engine) -> str:
    """The realm of the top tenant (the clients declared in configuration live there)."""
    from sqlalchemy import select
    from wazo_like_auth import db
    with db.make_sessionmaker(own_engine)() as s:
        slug = s.scalars(select(Tenant.slug).where(Tenant.uuid == Tenant.parent_uuid)).one()
    return f'{server.url}/realms/{slug}'


def relying_party(server, own_engine, rp, client_id='spa'):
    metadata = requests.get(issuer(server, own_engine) + '/.well-known/openid-configuration',
                            timeout=10).json()
    session = OAuth2Session(client_id, redirect_uri=rp.url + '/callback',
                            scope='openid profile', code_challenge_method='S256',
                            token_endpoint_auth_method='none')
    return metadata, session


def authorization_url(metadata, session, **extra):
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = session.create_authorization_url(metadata['authorization_endpoint'],
                                                  code_verifier=verifier, nonce=nonce, **extra)
    return url, {'verifier': verifier, 'nonce': nonce, 'state': state}


def wait_for_callback(browser, rp) -> dict:
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(browser, 10, poll_frequency=0.1).until(
        lambda d: d.current_url.startswith(rp.url))
    return {k: v[0] for k, v in parse_qs(urlsplit(browser.current_url).query).items()}


def finish(metadata, session, request, params, client_id='spa') -> dict:
    assert params['state'] == request['state'] and params['iss'] == metadata['issuer']
    token = session.fetch_token(metadata['token_endpoint'], code=params['code'],
                                code_verifier=request['verifier'])
    keys = JsonWebKey.import_key_set(requests.get(metadata['jwks_uri'], timeout=10).json())
    claims = jwt.decode(token['id_token'], keys, claims_cls=CodeIDToken,
                        claims_options={'iss': {'value': metadata['issuer']}},
                        claims_params={'nonce': request['nonce'], 'client_id': client_id,
                                       'access_token': token['access_token']})
    claims.validate(leeway=5)
    return {'token': token, 'claims': claims}


def type_credentials(browser, password):
    from selenium.webdriver.common.by import By
    browser.find_element(By.ID, 'username').send_keys('alice')
    browser.find_element(By.ID, 'password').send_keys(password)
    browser.find_element(By.ID, 'sign_in').click()


def test_sign_in_prompt_none_and_logout_in_the_browser(server, own_engine, rp, browser,
                                                       screenshots):
    from selenium.webdriver.common.by import By
    browser.delete_all_cookies()
    metadata, session = relying_party(server, own_engine, rp)
    url, request = authorization_url(metadata, session)

    browser.get(url)
    assert 'Team <Chat>' in wait_for(browser, 'Sign in')  # the name, shown as text
    browser.save_screenshot(str(screenshots / '1-sign-in.png'))
    type_credentials(browser, 'wrong')
    wait_for(browser, 'Wrong username or password')
    browser.save_screenshot(str(screenshots / '2-wrong-password.png'))
    browser.find_element(By.ID, 'password').send_keys('s3cret')
    browser.find_element(By.ID, 'sign_in').click()
    signed_in = finish(metadata, session, request, wait_for_callback(browser, rp))
    browser.save_screenshot(str(screenshots / '3-signed-in.png'))
    assert signed_in['claims']['preferred_username'] == 'alice'

    url, request = authorization_url(metadata, session, prompt='none')
    browser.get(url)
    silent = finish(metadata, session, request, wait_for_callback(browser, rp))
    browser.save_screenshot(str(screenshots / '4-prompt-none.png'))
    assert silent['claims']['sid'] == signed_in['claims']['sid']

    browser.get(metadata['end_session_endpoint'] + '?client_id=spa&post_logout_redirect_uri='
                + rp.url + '/bye&state=s1')
    wait_for(browser, 'Sign out?')
    browser.save_screenshot(str(screenshots / '5-logout-confirm.png'))
    browser.find_element(By.ID, 'logout').click()
    assert wait_for_callback(browser, rp) == {'state': 's1'}
    assert requests.head(f'{server.url}/api/auth/0.1/token/'
                         f'{signed_in["token"]["access_token"]}', timeout=10).status_code == 404

    url, request = authorization_url(metadata, session, prompt='none')
    browser.get(url)
    assert wait_for_callback(browser, rp)['error'] == 'login_required'


def test_the_sign_in_answer_opened_again_from_the_address_bar_is_a_readable_page(
        server, own_engine, rp, browser, screenshots):
    """After a wrong password the address bar shows the form's target; Enter there (a GET)
    shows a page saying what to do, not JSON."""
    browser.delete_all_cookies()
    metadata, session = relying_party(server, own_engine, rp)
    url, _ = authorization_url(metadata, session)
    browser.get(url)
    wait_for(browser, 'Sign in')
    type_credentials(browser, 'wrong')
    wait_for(browser, 'Wrong username or password')
    assert browser.current_url.endswith('/auth/signin')

    browser.get(browser.current_url)

    shown = wait_for(browser, 'This page cannot be opened again')
    browser.save_screenshot(str(screenshots / '6-form-target-opened.png'))
    assert 'go back to the application' in shown and '{' not in shown


def test_consent_in_the_browser(server, own_engine, rp, browser, screenshots):
    from selenium.webdriver.common.by import By
    browser.delete_all_cookies()
    metadata, session = relying_party(server, own_engine, rp, client_id='partner')
    url, request = authorization_url(metadata, session)

    browser.get(url)
    wait_for(browser, 'Sign in')
    type_credentials(browser, 's3cret')
    page = wait_for(browser, 'Allow access?')
    assert 'See your name and username' in page and 'Partner app' in page
    browser.save_screenshot(str(screenshots / '6-consent.png'))
    browser.find_element(By.ID, 'approve').click()

    done = finish(metadata, session, request, wait_for_callback(browser, rp), 'partner')
    assert done['claims']['aud'] == 'partner'

    # Removing the consent ends the application's access ("until you remove its access"),
    # and the browser, still signed in, is asked again.
    api = f'{server.url}/api/auth/0.1'
    make_top_user(own_engine, 'consent-admin', 'adminpass', ['#'])
    admin = requests.Session()
    admin.headers['X-Auth-Token'] = admin.post(f'{api}/token', json={}, timeout=10,
                                               auth=('consent-admin', 'adminpass'),
                                               ).json()['data']['token']
    alice = done['claims']['sub']
    [consent] = admin.get(f'{api}/users/{alice}/consents', timeout=10).json()['items']
    assert admin.delete(f'{api}/users/{alice}/consents/{consent["client_uuid"]}',
                        timeout=10).status_code == 204
    assert requests.head(f'{api}/token/{done["token"]["access_token"]}',
                         timeout=10).status_code == 404
    browser.get(authorization_url(metadata, session)[0])
    assert 'Allow access?' in wait_for(browser, 'Allow access?')
    browser.save_screenshot(str(screenshots / '6b-consent-asked-again.png'))


def test_global_issuer_asks_for_an_account_the_client_serves(server, own_engine, rp, browser,
                                                             screenshots):
    """A client of a sub-tenant at the global issuer: alice (top tenant) is told on the page
    that her account cannot sign in to it; a user of that tenant then signs in."""
    from selenium.webdriver.common.by import By
    make_top_user(own_engine, 'root', 'rootpass', ['#'])
    admin = requests.Session()
    admin.headers['X-Auth-Token'] = admin.post(f'{server.url}/api/auth/0.1/token', json={},
                                               auth=('root', 'rootpass'),
                                               timeout=10).json()['data']['token']
    sales = admin.post(f'{server.url}/api/auth/0.1/tenants', timeout=10,
                       json={'name': 'Sales', 'slug': 'sales'}).json()['uuid']
    for path, body in (('/users', {'username': 'sam', 'password': 's4mpass'}),
                       ('/clients', {'client_id': 'salesapp', 'name': 'Sales desk',
                                     'public': True, 'grant_types': ['authorization_code'],
                                     'redirect_uris': [rp.url + '/callback']})):
        admin.post(f'{server.url}/api/auth/0.1{path}', json=body, timeout=10,
                   headers={'Wazo-Tenant': sales}).raise_for_status()
    browser.delete_all_cookies()
    metadata = requests.get(f'{server.url}/api/auth/0.1/.well-known/openid-configuration',
                            timeout=10).json()
    session = OAuth2Session('salesapp', redirect_uri=rp.url + '/callback', scope='openid',
                            code_challenge_method='S256', token_endpoint_auth_method='none')
    url, request = authorization_url(metadata, session)

    browser.get(url)
    wait_for(browser, 'Sign in')
    type_credentials(browser, 's3cret')
    wait_for(browser, 'This account cannot sign in to this application')
    browser.save_screenshot(str(screenshots / '7-account-outside-the-client.png'))
    username = browser.find_element(By.ID, 'username')
    username.clear()
    username.send_keys('sam')
    browser.find_element(By.ID, 'password').send_keys('s4mpass')
    browser.find_element(By.ID, 'sign_in').click()

    done = finish(metadata, session, request, wait_for_callback(browser, rp), 'salesapp')
    assert done['claims']['iss'] == metadata['issuer']
