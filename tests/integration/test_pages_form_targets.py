"""A form's target opened as an address (the address bar after a wrong password, a bookmark,
a reload that drops the form): a readable page, not the API's JSON 405."""
from __future__ import annotations

import pytest

REALM = '/realms/acme'
FORM_TARGETS = [
    REALM + '/protocol/openid-connect/auth/signin',
    REALM + '/protocol/openid-connect/auth/consent',
    REALM + '/protocol/openid-connect/logout/confirm',
    REALM + '/device/decision',
    '/api/auth/0.1/oauth2/authorize/signin',
    '/api/auth/0.1/oauth2/authorize/consent',
    '/api/auth/0.1/oauth2/logout/confirm',
    '/api/auth/0.1/device/decision',
    '/0.1/device/decision',
]


@pytest.mark.parametrize('path', FORM_TARGETS)
def test_opening_a_forms_target_answers_a_readable_page(client, realm, path):
    page = client.get(path)

    assert page.status_code == 405
    assert page.headers['Allow'] == 'POST'
    assert page.mimetype == 'text/html'
    assert "frame-ancestors 'none'" in page.headers['Content-Security-Policy']
    assert 'This page cannot be opened again' in page.get_data(as_text=True)
    assert 'go back to the application' in page.get_data(as_text=True)


@pytest.mark.parametrize('path', [FORM_TARGETS[0], FORM_TARGETS[-1]])
def test_head_of_a_forms_target_answers_405_without_a_body(client, realm, path):
    answer = client.head(path)

    assert answer.status_code == 405 and answer.headers['Allow'] == 'POST'
    assert answer.get_data() == b''


def test_an_api_path_keeps_its_json_405(client):
    answer = client.get('/api/auth/0.1/oauth2/token')

    assert answer.status_code == 405
    assert answer.get_json()['error_id'] == 'method-not-allowed'
