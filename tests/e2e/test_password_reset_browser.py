"""Password reset end to end: a real SMTP server receives the reset mail sent by the background
sender of a served app; a person opens its link in headless Chromium (selenium), types a new
password, and then logs in with it through the API.

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
from tests.integration.smtp_server import Mailbox, free_port, link_in, query_of
from tests.postgres import Postgresql
from wazo_like_auth import db
from wazo_like_auth.config import load_config
from wazo_like_auth.models import Email, Tenant, User
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


def _make_user(engine, username: str, address: str) -> str:
    with db.make_sessionmaker(engine).begin() as s:
        top = s.scalars(select(Tenant.uuid).where(Tenant.uuid == Tenant.parent_uuid)).one()
        user = User(uuid=uuid.uuid4(), username=username, tenant_uuid=top,
                    password_hash=PasswordHasher(rounds=4).hash('s3cret'))
        s.add(user)
        s.flush()
        s.add(Email(uuid=uuid.uuid4(), user_uuid=user.uuid, address=address, main=True,
                    confirmed=True))
        return str(user.uuid)


def _login(server, login: str, password: str) -> requests.Response:
    return requests.post(f'{server.url}/api/auth/0.1/token', json={},
                         auth=(login, password), timeout=10)


def test_person_resets_a_password_from_the_mailed_link(server, browser, mailbox, own_engine,
                                                       tmp_path_factory):
    from selenium.webdriver.common.by import By
    screenshots = tmp_path_factory.mktemp('password-reset-screenshots')
    print(f'\npassword reset screenshots: {screenshots}')
    user = _make_user(own_engine, 'yann', 'yann@example.com')
    session = _login(server, 'yann', 's3cret').json()['data']['token']
    asked = requests.get(f'{server.url}/api/auth/0.1/users/password/reset',
                         params={'username': 'yann'}, timeout=10)
    assert asked.status_code == 204

    link = link_in(mailbox.wait(1, timeout=15)[0])  # sent by the background sender
    assert link.startswith(f'{server.url}/api/auth/0.1/users/password/reset/page?')
    assert query_of(link)['user_uuid'] == user
    browser.get(link)
    assert browser.find_element(By.TAG_NAME, 'h1').text == 'Choose a new password'
    assert browser.find_elements(By.TAG_NAME, 'script') == []
    browser.save_screenshot(str(screenshots / 'form.png'))

    _fill(browser, 'n3w-s3cret', 'n3w-s3creT')  # a typo in the confirmation
    assert 'not the same' in browser.find_element(By.ID, 'message').text
    browser.save_screenshot(str(screenshots / 'mismatch.png'))
    _fill(browser, 'n3w-s3cret', 'n3w-s3cret')
    assert browser.find_element(By.TAG_NAME, 'h1').text == 'Password changed'
    browser.save_screenshot(str(screenshots / 'changed.png'))

    assert _login(server, 'yann', 's3cret').status_code == 401
    assert _login(server, 'yann', 'n3w-s3cret').status_code == 200
    assert requests.get(f'{server.url}/api/auth/0.1/token/{session}',
                        timeout=10).status_code == 404
    browser.get(link)  # the link served once
    assert browser.find_element(By.TAG_NAME, 'h1').text == 'Link not valid'
    browser.save_screenshot(str(screenshots / 'used-link.png'))


def _fill(browser, password: str, confirmation: str) -> None:
    """Type into the labelled fields, as a person would, and submit."""
    from selenium.webdriver.common.by import By
    for label, value in (('New password', password), ('Confirm the new password',
                                                      confirmation)):
        field_id = browser.find_element(
            By.XPATH, f'//label[text()="{label}"]').get_attribute('for')
        field = browser.find_element(By.ID, field_id)
        field.clear()
        field.send_keys(value)
    browser.find_element(By.ID, 'change').click()
