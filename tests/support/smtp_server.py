"""A real SMTP server for tests (aiosmtpd on 127.0.0.1, a free port) and the fixtures of the
mail tests: an app configured to send to it, and helpers reading the delivered messages.

The server can refuse recipients for good (``refuse``: 550) and be started after the app, on a
port chosen in advance, to play "SMTP down, then back".
"""
from __future__ import annotations

import email
import email.policy
import logging
import re
import threading
import time
import urllib.parse
from email.message import EmailMessage

import pytest

from tests.support.polling import wait_until
from tests.support.ports import free_port  # noqa: F401 - what tests import from here
from wazo_like_auth.app import services_of


# aiosmtpd logs each session's end from its own thread, often after the test that opened it
# is over and pytest has closed the stream that test's logging wrote to ("--- Logging error
# ---" in the suite's output). What the tests check is what the server received.
logging.getLogger('mail.log').setLevel(logging.CRITICAL)


class _Handler:
    def __init__(self, box: 'Mailbox'):
        self._box = box

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self._box.refused:
            return '550 5.1.1 mailbox unavailable'
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self._box.add(list(envelope.rcpt_tos), envelope.content, message)
        return '250 Message accepted'


class Mailbox:
    """What the server received: (recipients, raw bytes, parsed message) per mail."""

    def __init__(self, port: int):
        self.port = port
        self.refused: set[str] = set()
        self.received: list[tuple[list[str], bytes, EmailMessage]] = []
        self._lock = threading.Lock()
        self._controller = None

    def add(self, recipients, raw, message) -> None:
        with self._lock:
            self.received.append((recipients, raw, message))

    def start(self, **options) -> 'Mailbox':
        """``options`` go to aiosmtpd's Controller (tls_context, require_starttls,
        authenticator, ssl_context, enable_SMTPUTF8 (default True)...)."""
        from aiosmtpd.controller import Controller
        self._controller = Controller(_Handler(self), hostname='127.0.0.1', port=self.port,
                                      **{'enable_SMTPUTF8': True, **options})
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        assert wait_until(lambda: len(self.received) >= count, timeout), \
            f'{len(self.received)} mails received, {count} expected'
        return [message for _, _, message in self.received]

    def last(self) -> EmailMessage:
        return self.wait()[-1]


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=('plain',)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=('html',)).get_content()


def link_in(message: EmailMessage) -> str:
    """The one http(s) link of the plain-text part."""
    links = re.findall(r'https?://\S+', text_of(message))
    assert len(links) == 1, links
    return links[0]


def path_of(link: str) -> str:
    """The link's path and query, to follow it with the Flask test client."""
    parts = urllib.parse.urlsplit(link)
    return parts.path + ('?' + parts.query if parts.query else '')


def api_of(reset_link: str) -> str:
    """The API URL (POST /users/password/reset) for a mailed reset link, which opens the
    reset page: same query, the page's path without ``/page``."""
    parts = urllib.parse.urlsplit(reset_link)
    assert parts.path.endswith('/users/password/reset/page'), reset_link
    return parts.path.removesuffix('/page') + '?' + parts.query


def query_of(link: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(link).query))


PUBLIC_URL = 'https://auth.example.com/api/auth/0.1'


@pytest.fixture
def mailbox():
    box = Mailbox(free_port()).start()
    yield box
    box.stop()


@pytest.fixture
def mail_config(make_config, db_uri):
    """A config sending to ``port``; retries after 1 s, polls every second."""
    def make(port: int, **flags):
        return make_config(db_uri=db_uri, public_url=PUBLIC_URL, validation_cache=False,
                           smtp={'host': '127.0.0.1', 'port': port, 'timeout': 5,
                                 **flags.pop('smtp', {})},
                           mail={'retry_initial_delay': 1, 'retry_max_delay': 2,
                                 'poll_interval': 1, **flags.pop('mail', {})},
                           **flags)
    return make


def deliver(app, timeout: float = 10.0) -> None:
    """Run the app's mail sender until the outbox has nothing due (in the test's thread)."""
    sender = services_of(app).mail.sender
    deadline = time.monotonic() + timeout
    while sender.run_once() is None:  # another sender holds the lock: wait for it
        assert time.monotonic() < deadline
        time.sleep(0.05)
