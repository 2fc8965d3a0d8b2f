"""Mail delivery: after commit, through the outbox, by the background sender; retried while
SMTP is down; safe headers; international addresses; operator templates."""
from __future__ import annotations

import base64
import socket
import threading

import pytest
from sqlalchemy import text

from tests.support.admin_client import AdminClient
from tests.support.apps import running_app
from tests.support.credentials import basic
from tests.support.polling import wait_until
from tests.support.smtp_server import (Mailbox, api_of, deliver, free_port,  # noqa: F401
                                           link_in, mail_config, mailbox, text_of)
from wazo_like_auth.app import create_app, shutdown
from wazo_like_auth.config import ConfigError

RESET = '/0.1/users/password/reset'


def outbox(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(text('SELECT kind, attempts, last_error FROM auth_mail_outbox '
                                 'ORDER BY id')).all()


@pytest.fixture
def background_app(mail_config, engine):  # noqa: F811
    """An app whose background threads run (mail sender included), sending to a port where
    nothing listens yet."""
    port = free_port()
    app = create_app(mail_config(port), engine=engine, background=True)
    app.smtp_port = port
    yield app
    shutdown(app)


def test_smtp_down_then_back_the_mail_arrives_once(background_app, make_user, engine, login):
    make_user('alice', 's3cret', email='alice@example.com')
    client = background_app.test_client()
    assert client.get(RESET, query_string={'username': 'alice'}).status_code == 204
    # SMTP is down: the sender tried, failed, and scheduled a retry; the request did not wait.
    assert wait_until(lambda: [r[:2] for r in outbox(engine)] == [('password_reset', 1)], 10)
    assert outbox(engine)[0][2].startswith('ConnectionRefusedError')
    assert login('alice', 's3cret').status_code == 200  # the service keeps answering

    box = Mailbox(background_app.smtp_port).start()
    try:
        box.wait(1, timeout=15)
        assert wait_until(lambda: outbox(engine) == [], 5)
        link = link_in(box.received[0][2])
        assert client.post(api_of(link), json={'password': 'back'}).status_code == 204
        assert len(box.received) == 1  # delivered once
    finally:
        box.stop()


def test_a_stalled_smtp_server_does_not_hold_requests(mail_config, engine, make_user):  # noqa
    """A server that accepts connections and never answers: the sender is stuck on it while
    requests keep being answered (they never talk to SMTP)."""
    stalled = socket.socket()
    stalled.bind(('127.0.0.1', 0))
    stalled.listen(8)
    accepted = threading.Event()
    held = []

    def accept():
        conn, _ = stalled.accept()
        held.append(conn)
        accepted.set()
    threading.Thread(target=accept, daemon=True).start()
    make_user('alice', 's3cret', email='alice@example.com')
    config = mail_config(stalled.getsockname()[1])
    app = create_app(config, engine=engine, background=True)
    try:
        client = app.test_client()
        assert client.get(RESET, query_string={'username': 'alice'}).status_code == 204
        assert accepted.wait(10)  # the sender is now waiting on the silent server
        for name in ('bob', 'carol', 'dave'):
            assert client.get(RESET, query_string={'username': name}).status_code == 204
        assert client.head('/0.1/status').status_code == 200
        assert any(kind == 'password_reset_request' for kind, _, _ in outbox(engine))
    finally:
        stalled.close()
        for conn in held:
            conn.close()
        shutdown(app)


def test_a_refused_recipient_is_dropped_without_retry(client, app, mailbox, make_user,
                                                      engine):
    make_user('alice', 's3cret', email='alice@example.com')
    mailbox.refused.add('alice@example.com')
    assert client.get(RESET, query_string={'username': 'alice'}).status_code == 204
    deliver(app)
    assert mailbox.received == [] and outbox(engine) == []


@pytest.fixture
def config(mail_config, mailbox):  # noqa: F811
    return mail_config(mailbox.port)


def test_a_crlf_in_a_display_name_adds_no_header(client, app, mailbox, make_user):
    make_user('eve\r\nBcc: victim@evil.example\r\nX-Injected: yes', 'pw',
              email='eve@example.com')
    assert client.get(RESET, query_string={'email': 'eve@example.com'}).status_code == 204
    deliver(app)
    recipients, raw, message = mailbox.received[0]
    assert recipients == ['eve@example.com']
    assert message['Bcc'] is None and message['X-Injected'] is None
    headers = raw.split(b'\r\n\r\n', 1)[0]
    assert b'\nBcc:' not in headers and b'\nX-Injected:' not in headers
    assert b'\nBcc:' not in raw  # nor in the bodies, where the name is shown on one line
    assert message['To'].addresses[0].addr_spec == 'eve@example.com'
    assert 'Bcc: victim@evil.example' in message['To'].addresses[0].display_name


# RFC 2047 encoded words that decode to a line break and a Bcc header: Python's email package
# decodes them while writing the header (before 3.11.10/3.12.5), and the written line break
# ends the header. Base64 uses only characters an address's local part may hold.
_BCC = base64.b64encode(b'x\r\nBcc: spam@evil.example\r\nX-Injected: yes').decode()


@pytest.mark.parametrize('username,address', [
    (f'=?utf-8?b?{_BCC}?=', 'eve@example.com'),
    ('=?utf-8?q?eve=0D=0ABcc:=20spam@evil.example?=', 'eve@example.com'),
    ('eve', f'=?utf-8?b?{_BCC}?=@example.com'),
])
def test_an_encoded_word_adds_no_header_nor_recipient(client, app, mailbox, make_user,
                                                      username, address):
    # A reset mail Bcc'd to whoever named the user (a rename by a helpdesk), a registration's
    # confirmation mail Bcc'd to a spam list: the mail goes to its recipient or to nobody.
    make_user(username, 'pw', email=address)
    assert client.get(RESET, query_string={'email': address}).status_code == 204
    deliver(app)
    assert all(recipients == [address] for recipients, _, _ in mailbox.received)
    for _, raw, message in mailbox.received:
        assert message['Bcc'] is None and message['X-Injected'] is None
        assert b'\nBcc:' not in raw.split(b'\r\n\r\n', 1)[0]
        assert message['To'].addresses[0].addr_spec == address
    assert len(mailbox.received) == (address == 'eve@example.com')


def test_an_international_address_receives_its_mail(client, app, mailbox, make_user):
    make_user('josé', 'pw', email='josé@exämple.com')
    assert client.get(RESET, query_string={'login': 'JOSÉ@exämple.com'}).status_code == 204
    deliver(app)
    recipients, _, message = mailbox.received[0]
    assert recipients == ['josé@exämple.com']
    assert 'josé' in text_of(message)


def test_an_international_domain_reaches_a_server_without_smtputf8(mail_config, engine,  # noqa
                                                                    make_user):
    # With an ASCII local part, the domain's ASCII form (the same domain) needs no SMTPUTF8,
    # which many relays lack; a domain whose ASCII form IDNA 2003 would change (ß becomes
    # ss: another domain) is never sent there, it keeps needing SMTPUTF8.
    box = Mailbox(free_port()).start(enable_SMTPUTF8=False)
    try:
        make_user('zoe', 'pw', email='zoe@BÜCHER.example')
        make_user('max', 'pw', email='max@straße.example')
        with running_app(mail_config(box.port), engine) as app:
            for username in ('zoe', 'max'):
                assert app.test_client().get(RESET, query_string={'username': username}) \
                    .status_code == 204
            deliver(app)
        [(recipients, _, message)] = box.received
        assert recipients == ['zoe@xn--bcher-kva.example']
        assert message['To'].addresses[0].addr_spec == 'zoe@xn--bcher-kva.example'
    finally:
        box.stop()


def test_operator_templates_override_the_packaged_ones(mail_config, mailbox, engine,  # noqa
                                                      make_user, tmp_path):
    (tmp_path / 'password_reset.subject.txt').write_text('Réinitialisation du mot de passe\n')
    (tmp_path / 'password_reset.txt').write_text('Lien : {{ link }}\n')
    make_user('alice', 's3cret', email='alice@example.com')
    config = mail_config(mailbox.port, mail={'templates_dir': str(tmp_path)})
    with running_app(config, engine) as app:
        client = app.test_client()
        assert client.get(RESET, query_string={'username': 'alice'}).status_code == 204
        deliver(app)
    message = mailbox.last()
    assert message['Subject'] == 'Réinitialisation du mot de passe'
    assert text_of(message).startswith('Lien : https://auth.example.com/')
    assert 'A password reset was asked' in message.get_body(('html',)).get_content()


@pytest.mark.parametrize('name, text, says', [
    ('email_confirmation.html', 'x\n{% if %}', 'email_confirmation.html, line 2: '),
    ('password_reset.txt', '{{ user.name }}', "password_reset.txt: cannot be used: "
                                               "UndefinedError: 'user' is undefined"),
    ('password_reset.subject.txt', '{{ username.upper() }}', 'password_reset.subject.txt: '),
    ('password_reset.html', b'caf\xe9', 'password_reset.html: not UTF-8 text'),
])
def test_a_broken_template_override_is_refused_with_the_configuration(mail_config, mailbox,  # noqa
                                                                      tmp_path, name, text,
                                                                      says):
    """Refused before start-up, naming the file: a template that cannot be read, parsed or
    rendered with the variables a mail has (a username or none) used to fail every mail of
    its kind, or stop start-up with 'preparing the database failed: TemplateSyntaxError'."""
    path = tmp_path / name
    path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text)
    with pytest.raises(ConfigError) as refused:
        mail_config(mailbox.port, mail={'templates_dir': str(tmp_path)})
    assert f'mail.templates_dir: {tmp_path}/' in str(refused.value)
    assert says in str(refused.value)


def test_a_mail_that_fails_to_render_does_not_hold_the_others(mail_config, mailbox, engine,  # noqa
                                                              make_user, tmp_path):
    # Renders for any address but alice's (start-up renders every template once).
    (tmp_path / 'password_reset.txt').write_text(
        "{% if address == 'alice@example.com' %}{{ no_such_variable }}{% endif %}\n")
    make_user('alice', 's3cret', email='alice@example.com')
    bob = make_user('bob', 's3cret', email='bob@example.com', email_confirmed=False)
    make_user('root', 'r00t', acl=['#'])
    with running_app(mail_config(mailbox.port, mail={'templates_dir': str(tmp_path)}),
                     engine) as app:
        client = app.test_client()
        assert client.get(RESET, query_string={'username': 'alice'}).status_code == 204
        admin = AdminClient(client, client.post('/0.1/token', json={}, headers=basic(
            'root', 'r00t')).get_json()['data']['token'])
        email = admin.ok('GET', f'/users/{bob}')['emails'][0]['uuid']
        admin.ok('GET', f'/users/{bob}/emails/{email}/confirm', 204)
        deliver(app)
    assert [recipients for recipients, _, _ in mailbox.received] == [['bob@example.com']]
    assert [(kind, attempts) for kind, attempts, _ in outbox(engine)] == \
        [('password_reset', 1)]
