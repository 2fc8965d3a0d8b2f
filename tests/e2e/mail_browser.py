"""Fixtures of the browser tests of the mail flows: a served app (its own PostgreSQL, its
background mail sender running) whose mail goes to a real SMTP server (aiosmtpd), and headless
Chromium driven by selenium.

Tests using them skip only when chromium or chromedriver is missing (``needs_browser``).
"""
from __future__ import annotations

import shutil

import pytest
from sqlalchemy import create_engine

from tests.integration.apps import running_app
from tests.integration.live_server import LiveServer
from tests.integration.smtp_server import Mailbox, free_port
from tests.postgres import Postgresql
from wazo_like_auth import db
from wazo_like_auth.config import load_config

CHROMIUM, CHROMEDRIVER = shutil.which('chromium'), shutil.which('chromedriver')

needs_browser = pytest.mark.skipif(
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
