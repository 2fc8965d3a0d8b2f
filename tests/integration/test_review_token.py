"""Defects found by the adversarial review of the token API and the user-facing flows around
it (logins, checks, mail flows, metrics): each test is what a user saw before its fix."""
from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

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


def _latency_methods(client) -> set[str]:
    text = client.get('/metrics').get_data(as_text=True)
    return {sample.labels['method'] for family in text_string_to_metric_families(text)
            if family.name == 'wazo_auth_request_duration_seconds'
            for sample in family.samples}


def test_unknown_http_methods_do_not_each_add_a_metric_series(client):
    for i in range(20):  # anyone can send any method name: each was a new series, forever
        assert_envelope(client.open(f'/0.1/token/x{i}', method=f'SCAN{i}'), 405)
    assert_envelope(client.open('/0.1/nowhere', method='PROPFIND'), 404)
    methods = _latency_methods(client)
    assert not any(m.startswith('SCAN') or m == 'PROPFIND' for m in methods)
    assert 'other' in methods
