"""Defects found by the adversarial review of the token API and the user-facing flows around
it (logins, checks, mail flows, metrics): each test is what a user saw before its fix."""
from __future__ import annotations

import pytest

from tests.support.envelope import assert_envelope
from tests.support.smtp_server import mail_config, mailbox  # noqa: F401

RESET = '/0.1/users/password/reset'


@pytest.fixture
def config(mail_config, mailbox):  # noqa: F811
    return mail_config(mailbox.port)


@pytest.mark.parametrize('query', [{'username': '\x00'}, {'login': 'alice\x00'},
                                   {'email': 'alice@example.com\x00'}, {'login': 'a@\x00'}])
def test_reset_request_for_a_value_holding_nul_is_400_not_500(client, make_user, query):
    make_user('alice', 's3cret', email='alice@example.com')
    body = assert_envelope(client.get(RESET, query_string=query), 400)
    assert body['error_id'] == 'invalid-data' and body['resource'] == 'reset'
    assert client.get(RESET, query_string={'username': 'alice'}).status_code == 204

