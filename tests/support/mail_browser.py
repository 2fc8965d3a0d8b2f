"""Fixtures of the browser tests of the mail flows: a served app (its own PostgreSQL, its
background mail sender running) whose mail goes to a real SMTP server (aiosmtpd), and headless
Chromium driven by selenium.

Tests using them skip only when chromium or chromedriver is missing (``needs_browser``).
"""
from __future__ import annotations

import pytest

from tests.support.smtp_server import Mailbox, free_port
from tests.support.apps import running_app
from tests.support.browser import browser, needs_browser, own_engine  # noqa: F401
from tests.support.live_server import LiveServer
from wazo_like_auth.app import services_of
from wazo_like_auth.config import load_config


class _Late:
    """The WSGI app, known only once the server's URL (its public_url) is."""
    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


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
            services_of(app).mail.sender.start()
            late.app = app
            yield live
