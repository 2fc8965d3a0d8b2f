"""E-mail confirmation end to end: a real SMTP server receives the mail sent by the background
sender of a served app, and a person opens its link in headless Chromium (selenium).

Skips only when chromium or chromedriver is missing. Screenshots are saved in a temporary
directory whose path is printed.
"""
from __future__ import annotations

import shutil
import uuid

import pytest
import requests
from sqlalchemy import create_engine, select

from tests.integration.apps import running_app
from tests.integration.live_server import LiveServer
from tests.integration.smtp_server import Mailbox, free_port, link_in
from tests.postgres import Postgresql
from wazo_like_auth import db
from wazo_like_auth.config import load_config
from wazo_like_auth.models import Email, Policy, Tenant, User, UserPolicy
from wazo_like_auth.passwords import PasswordHasher

CHROMIUM, CHROMEDRIVER = shutil.which('chromium'), shutil.which('chromedriver')

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason='chromium or chromedriver not installed (run .ci/install-browser)')


class _Late:
    """The WSGI app, known only once the server's URL (its public_url) is."""
    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@pytest.fixture(scope='module')
def own_engine():
    with Postgresql() as pg:
        engine = create_engine(db.url(pg.url()))
        db.upgrade(engine)
        yield engine
        engine.dispose()


@pytest.fixture(scope='module')
def mailbox():
    box = Mailbox(free_port()).start()
    yield box
    box.stop()


@pytest.fixture(scope='module')
def server(own_engine, mailbox, tmp_path_factory):
    state = tmp_path_factory.mktemp('state')
    (state / 'config.yml').write_text('{}\n')
    late = _Late()
    with LiveServer(late) as live:
        config = load_config(config_file=str(state / 'config.yml'), environ={}, flags={
            'db_uri': own_engine.url.render_as_string(hide_password=False),
            'state_dir': str(state), 'password_hash_rounds': 4,
            'token_secret': 'e2e-secret-' + 'y' * 40,
            'public_url': f'{live.url}/api/auth/0.1',
            'smtp': {'host': '127.0.0.1', 'port': mailbox.port},
            'mail': {'poll_interval': 1}})
        with running_app(config, own_engine) as app:
            app.extensions['wazo_like_auth']['mail_sender'].start()
            late.app = app
            yield live


@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    options = Options()
    options.binary_location = CHROMIUM
    for argument in ('--headless=new', '--no-sandbox', '--disable-gpu',
                     '--disable-dev-shm-usage', '--disable-background-networking',
                     '--disable-component-update', '--disable-sync', '--no-first-run',
                     '--window-size=420,860',
                     f'--user-data-dir={tmp_path_factory.mktemp("chromium-profile")}'):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


def _make_user(engine, username: str, address: str, acl: list[str]) -> tuple[str, str]:
    with db.make_sessionmaker(engine).begin() as s:
        top = s.scalars(select(Tenant.uuid).where(Tenant.uuid == Tenant.parent_uuid)).one()
        user = User(uuid=uuid.uuid4(), username=username, tenant_uuid=top,
                    password_hash=PasswordHasher(rounds=4).hash('s3cret'))
        email = Email(uuid=uuid.uuid4(), user_uuid=user.uuid, address=address, main=True,
                      confirmed=False)
        policy = Policy(tenant_uuid=top, name=f'p-{username}', slug=f'p-{username}', acl=acl)
        s.add_all([user, policy])
        s.flush()
        s.add_all([email, UserPolicy(user_uuid=user.uuid, policy_uuid=policy.uuid)])
        return str(user.uuid), str(email.uuid)


def _login(server, login: str) -> requests.Response:
    return requests.post(f'{server.url}/api/auth/0.1/token', json={},
                         auth=(login, 's3cret'), timeout=10)


def test_person_confirms_an_address_from_the_mailed_link(server, browser, mailbox, own_engine,
                                                         tmp_path_factory):
    from selenium.webdriver.common.by import By
    screenshots = tmp_path_factory.mktemp('email-confirmation-screenshots')
    print(f'\ne-mail confirmation screenshots: {screenshots}')
    user, email = _make_user(own_engine, 'zoe', 'zoe@example.com',
                             ['auth.users.me.emails.#'])
    token = _login(server, 'zoe').json()['data']['token']
    assert _login(server, 'zoe@example.com').status_code == 401
    asked = requests.get(f'{server.url}/api/auth/0.1/users/{user}/emails/{email}/confirm',
                         headers={'X-Auth-Token': token}, timeout=10)
    assert asked.status_code == 204

    link = link_in(mailbox.wait(1, timeout=15)[0])  # sent by the background sender
    assert link.startswith(f'{server.url}/api/auth/0.1/emails/{email}/confirm?token=')
    browser.get(link)
    assert browser.find_element(By.TAG_NAME, 'h1').text == 'Address confirmed'
    assert browser.find_elements(By.TAG_NAME, 'script') == []
    browser.save_screenshot(str(screenshots / 'confirmed.png'))
    assert _login(server, 'zoe@example.com').status_code == 200

    browser.get(link)  # the link served once
    assert browser.find_element(By.TAG_NAME, 'h1').text == 'Link not valid'
    browser.save_screenshot(str(screenshots / 'used-link.png'))
    again = requests.get(link, timeout=10)
    assert again.status_code == 401
    assert "default-src 'none'" in again.headers['Content-Security-Policy']
    assert again.headers['X-Frame-Options'] == 'DENY'
    assert again.headers['Referrer-Policy'] == 'no-referrer'
