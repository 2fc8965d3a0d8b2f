"""Mail configuration rules, message composition and mail-token values (pure functions)."""
from __future__ import annotations

import email
import email.policy
import uuid

import pytest

from wazo_like_auth import mail_tokens
from wazo_like_auth.config import ConfigError, load_config
from wazo_like_auth.mail.messages import BadRecipient, MailComposer, clean_display_name


def config(tmp_path, **flags):
    empty = tmp_path / 'config.yml'
    empty.write_text('{}\n')
    return load_config(config_file=str(empty), environ={},
                       flags={'state_dir': str(tmp_path), **flags})


def test_mail_is_off_by_default_and_registration_too(tmp_path):
    loaded = config(tmp_path)
    assert loaded['smtp']['host'] is None and loaded['registration']['enabled'] is False


@pytest.mark.parametrize('flags,key', [
    ({'smtp': {'host': 'mail.example.com'}}, 'public_url'),
    ({'registration': {'enabled': True}}, 'registration.enabled'),
    ({'smtp': {'security': 'ssl'}}, 'smtp.security'),
    ({'smtp': {'port': 0}}, 'smtp.port'),
    ({'smtp': {'host': 'evil\r\nRCPT TO:x'}}, 'smtp.host'),
    ({'smtp': {'from_address': 'not an address'}}, 'smtp.from_address'),
    ({'mail': {'password_reset_link': 'https://front.example.com/reset'}},
     'mail.password_reset_link'),
    ({'mail': {'templates_dir': '/nonexistent/templates'}}, 'mail.templates_dir'),
    ({'public_url': 'https://a.example.com', 'smtp': {'host': 'm', 'username': 'u'}},
     'smtp.username'),
])
def test_bad_mail_settings_stop_start_up_naming_the_key(tmp_path, flags, key):
    with pytest.raises(ConfigError, match=key.replace('.', r'\.')):
        config(tmp_path, **flags)


def test_smtp_password_is_masked_in_the_public_view(tmp_path):
    from wazo_like_auth.config_view import MASK, public_view
    loaded = config(tmp_path, public_url='https://a.example.com',
                    smtp={'host': 'mail.example.com', 'username': 'u', 'password': 'secret'})
    assert public_view(loaded)['smtp']['password'] == MASK


def composer(**kwargs) -> MailComposer:
    return MailComposer(templates_dir=None, from_address='auth@example.com',
                        from_name=kwargs.get('from_name', 'Auth'))


def render(recipient: str, name: str | None):
    return composer().compose('password_reset', recipient, name, {
        'link': 'https://a.example.com/x?token=t', 'username': name, 'address': recipient,
        'expires_at': '2030-01-01 00:00'})


def test_a_display_name_cannot_add_a_header():
    message = render('eve@example.com', 'Eve\r\nBcc: x@evil.example\nX-A: 1\x00')
    raw = message.as_bytes()
    head = raw.split(b'\r\n\r\n', 1)[0]
    assert b'\nBcc:' not in head and b'\nX-A:' not in head
    assert clean_display_name('a\r\n\tb\u202ec') == 'a b c'


def test_an_encoded_word_in_a_subject_adds_no_header(tmp_path):
    # An operator's subject naming the user: Python's email package decodes an encoded word
    # while writing the header (before 3.11.10/3.12.5), the line break included.
    (tmp_path / 'password_reset.subject.txt').write_text('Reset for {{ username }}\n')
    name = '=?utf-8?q?eve=0D=0ABcc:=20spam@evil.example?='
    message = MailComposer(templates_dir=str(tmp_path), from_address='auth@example.com',
                           from_name=None).compose('password_reset', 'eve@example.com', name, {
        'link': 'https://a.example.com/x', 'username': name, 'address': 'eve@example.com',
        'expires_at': '2030-01-01 00:00'})
    head = message.as_bytes().split(b'\r\n\r\n', 1)[0]
    assert b'\nBcc:' not in head
    assert email.message_from_bytes(message.as_bytes(), policy=email.policy.SMTP)['Bcc'] is None


@pytest.mark.parametrize('recipient', ['no-at-sign', 'a b@example.com', 'x@',
                                       'a@example.com\r\nBcc: x@y.z', '@example.com'])
def test_undeliverable_recipients_are_refused(recipient):
    with pytest.raises(BadRecipient):
        render(recipient, 'x')


def test_international_address_is_kept_whole():
    message = render('josé@exämple.com', 'José')
    assert message['To'].addresses[0].addr_spec == 'josé@exämple.com'


def test_mail_tokens_are_derived_and_only_their_digest_identifies_them():
    key = mail_tokens.mail_key(b's' * 40)
    row = uuid.uuid4()
    value = mail_tokens.derive(key, row)
    assert len(value) == 43 and value == mail_tokens.derive(key, row)
    assert value != mail_tokens.derive(mail_tokens.mail_key(b't' * 40), row)
    assert mail_tokens.digest(value) is not None
    for bad in ('', value[:-1], value + 'x', value[:-1] + '!', str(row)):
        assert mail_tokens.digest(bad) is None
