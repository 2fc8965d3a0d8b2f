"""SMTP over TLS with authentication, against aiosmtpd with a certificate of a test CA:
STARTTLS and implicit TLS deliver when the CA is configured (``smtp.ca_file``), and a server
whose certificate cannot be verified gets nothing (the mail waits for a retry)."""
from __future__ import annotations

from sqlalchemy import text

from tests.support.apps import running_app
from tests.support.smtp_server import Mailbox, deliver, free_port, mail_config  # noqa: F401
from tests.support.tls import certificate, server_context  # noqa: F401 (a fixture)

RESET = '/0.1/users/password/reset'


class Authenticator:
    def __init__(self):
        self.logins: list[bytes] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult
        ok = (auth_data.login, auth_data.password) == (b'relay-user', b'relay-pass')
        if ok:
            self.logins.append(auth_data.login)
        return AuthResult(success=ok)


def ask_reset(app) -> None:
    assert app.test_client().get(RESET, query_string={'username': 'alice'}).status_code == 204
    deliver(app)


def test_starttls_with_authentication(mail_config, engine, make_user, certificate):  # noqa
    make_user('alice', 's3cret', email='alice@example.com')
    authenticator = Authenticator()
    box = Mailbox(free_port()).start(tls_context=server_context(certificate),
                                     require_starttls=True, authenticator=authenticator,
                                     auth_required=True)
    config = mail_config(box.port, smtp={
        'host': '127.0.0.1', 'port': box.port, 'security': 'starttls',
        'ca_file': str(certificate[0]), 'username': 'relay-user', 'password': 'relay-pass'})
    try:
        with running_app(config, engine) as app:
            ask_reset(app)
        assert box.wait(1)[0]['To'].addresses[0].addr_spec == 'alice@example.com'
        assert authenticator.logins == [b'relay-user']
    finally:
        box.stop()


def test_implicit_tls(mail_config, engine, make_user, certificate):  # noqa: F811
    make_user('alice', 's3cret', email='alice@example.com')
    box = Mailbox(free_port()).start(ssl_context=server_context(certificate))
    config = mail_config(box.port, smtp={'host': '127.0.0.1', 'port': box.port,
                                         'security': 'tls', 'ca_file': str(certificate[0])})
    try:
        with running_app(config, engine) as app:
            ask_reset(app)
        assert len(box.wait(1)) == 1
    finally:
        box.stop()


def test_an_unverifiable_certificate_gets_no_mail(mail_config, engine, make_user,  # noqa
                                                   certificate):
    make_user('alice', 's3cret', email='alice@example.com')
    box = Mailbox(free_port()).start(tls_context=server_context(certificate),
                                     require_starttls=True)
    config = mail_config(box.port, smtp={'host': '127.0.0.1', 'port': box.port,
                                         'security': 'starttls'})  # no ca_file: system CAs
    try:
        with running_app(config, engine) as app:
            ask_reset(app)
        assert box.received == []
        with engine.connect() as conn:
            row = conn.execute(text('SELECT attempts, last_error FROM auth_mail_outbox')).one()
        assert row.attempts == 1 and row.last_error.startswith('SSLCertVerificationError')
    finally:
        box.stop()
