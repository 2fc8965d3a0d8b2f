"""Security review of the browser-facing pages and the device flow (sign-in, consent, logout,
device verification): what another person at the same browser, or an attacker, can make them
do. Real HTTP through requests, the real forms filled in."""
from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import text

from tests.integration.test_review_oidc import _authorize
from tests.support.oidc import REDIRECT, realm, register_client, submit  # noqa: F401
from wazo_like_auth.app import create_app, shutdown
from tests.support.ports import free_port


def _consent_page(browser, api, username: str, **params) -> requests.Response:
    page = browser.get(_authorize(api, **params), timeout=10, allow_redirects=False)
    assert page.status_code == 200 and 'password' in page.text, page.text[:300]
    consent = submit(browser, page, username=username, password='s3cret')
    assert consent.status_code == 200 and 'Allow access?' in consent.text, consent.text[:300]
    assert f'<strong>{username}</strong>' in consent.text
    return consent


def test_a_consent_page_shown_for_one_user_cannot_approve_for_another(
        api, admin_token, make_user, realm, engine):
    """Alice's consent page, left open in a tab; the browser then signs in as Bob in another
    tab (prompt=login). Alice's "Allow" must not grant Bob's consent nor give Bob's code."""
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    bob = make_user('bob', 's3cret', tenant_uuid=realm['uuid'])
    register_client(api, admin_token, realm['uuid'], require_consent=True)
    browser = requests.Session()
    alices = _consent_page(browser, api, 'alice')
    _consent_page(browser, api, 'bob', prompt='login')  # Bob's page, left unanswered

    answer = submit(browser, alices, button='approve')

    assert answer.status_code == 400 and 'Location' not in answer.headers
    assert 'This form has expired' in answer.text
    with engine.connect() as db:
        granted = db.execute(text('SELECT count(*) FROM auth_consent WHERE user_uuid = :u'),
                             {'u': bob}).scalar()
    assert granted == 0


@pytest.fixture
def outage_app(make_config):
    """An app whose PostgreSQL is unreachable (nothing listens on its port)."""
    app = create_app(make_config(db_uri=f'postgresql://wla@127.0.0.1:{free_port()}/wla'))
    yield app
    shutdown(app)


@pytest.mark.parametrize('path', [
    '/api/auth/0.1/oauth2/authorize?client_id=webapp&redirect_uri=' + REDIRECT,
    '/realms/acme/protocol/openid-connect/auth?client_id=webapp',
    '/realms/acme/protocol/openid-connect/logout',
    '/0.1/oauth2/logout'])
def test_sign_in_and_logout_pages_answer_a_readable_page_when_the_database_is_down(
        outage_app, path):
    browser = outage_app.test_client()
    browser.set_cookie('wla_signin', 'a-sign-in', path='/')
    response = browser.get(path)
    assert response.status_code == 503
    assert response.mimetype == 'text/html'
    assert 'Please try again in a few minutes' in response.get_data(as_text=True)
    assert response.headers['X-Frame-Options'] == 'DENY'
    assert response.headers['Cache-Control'] == 'no-store'


def _guess_user_code(browser, address: str):
    """A wrong user code typed on the device page from ``address``."""
    page = browser.get('/api/auth/0.1/device', environ_base={'REMOTE_ADDR': address})
    csrf = re.search(r'name="csrf" value="([^"]*)"', page.get_data(as_text=True)).group(1)
    return browser.post('/api/auth/0.1/device', environ_base={'REMOTE_ADDR': address},
                        data={'csrf': csrf, 'user_code': 'BBBB-BBBB', 'username': 'alice',
                              'password': 's3cret'})


def test_user_code_guesses_from_one_ipv6_network_share_one_budget(client):
    """An IPv6 client holds a /64 at least: changing the address inside it is free, so the
    budget of wrong user codes (10 per window) is the network's, not each address's."""
    for n in range(1, 11):
        assert _guess_user_code(client, f'2001:db8:0:7::{n:x}').status_code == 400

    assert _guess_user_code(client, '2001:db8:0:7:ffff::1').status_code == 429
    assert _guess_user_code(client, '2001:db8:0:8::1').status_code == 400  # another network
    assert _guess_user_code(client, '203.0.113.9').status_code == 400


def test_user_code_guesses_sent_at_once_get_no_more_than_the_budget(api):
    """Wrong user codes sent together from one address: each is checked against the budget
    (10 per window) and counted one after the other, so no more than 10 are tried; sent
    before the first ones were counted, they all were."""
    browsers = []
    for _ in range(30):
        browser = requests.Session()
        page = browser.get(f'{api.url}/device', timeout=10)
        csrf = re.search(r'name="csrf" value="([^"]*)"', page.text).group(1)
        browsers.append((browser, csrf))
    barrier = threading.Barrier(len(browsers))

    def guess(browser_and_csrf) -> int:
        browser, csrf = browser_and_csrf
        barrier.wait()
        return browser.post(f'{api.url}/device', timeout=30, data={
            'csrf': csrf, 'user_code': 'BBBB-BBBB', 'username': 'alice',
            'password': 's3cret'}).status_code

    with ThreadPoolExecutor(len(browsers)) as pool:
        answers = list(pool.map(guess, browsers))

    assert sorted(answers) == [400] * 10 + [429] * 20


def test_a_consent_page_of_another_request_cannot_approve_a_prompt_login_request(
        api, admin_token, make_user, realm):
    """Someone at a browser signed in long ago, without the password: the client asks for a
    new sign-in (prompt=login, or max_age), and the consent page of another request of the
    browser (shown without one) must not approve it. It did: its form was bound to the user
    only, and the consent answer takes the browser's sign-in as it is."""
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'])
    register_client(api, admin_token, realm['uuid'], require_consent=True)
    browser = requests.Session()
    _consent_page(browser, api, 'alice')  # signed in; that consent left unanswered
    shown = browser.get(_authorize(api, state='other'), timeout=10, allow_redirects=False)
    assert 'Allow access?' in shown.text  # no sign-in asked: the browser's is reused

    for fresh in ({'prompt': 'login'}, {'max_age': '0'}):
        answer = submit(browser, shown, button='approve', state='fresh', **fresh)

        assert 'Location' not in answer.headers, answer.headers.get('Location')
        assert answer.status_code == 400 and 'This form has expired' in answer.text
