"""The one error body of the service (spec D4), checked the same way by every test."""
from __future__ import annotations

import json

ENVELOPE_KEYS = {'message', 'error_id', 'details', 'timestamp', 'reason', 'status_code'}


def assert_envelope(response, status: int) -> dict:
    """Assert ``response`` is a ``status`` error in the common envelope; return its body."""
    assert response.status_code == status, (response.status_code, response.get_data()[:500])
    content_type = response.headers.get('Content-Type', '')
    assert content_type.split(';')[0].strip() == 'application/json', content_type
    body = json.loads(response.get_data())
    assert isinstance(body, dict), body
    # wazo-auth's `resource` comes on top where its bodies carry one (admin spec §0.4).
    assert set(body) - {'resource'} == ENVELOPE_KEYS, body
    assert isinstance(body.get('resource', ''), str), body
    assert isinstance(body['message'], str), body
    assert isinstance(body['error_id'], str) and body['error_id'], body
    assert isinstance(body['details'], dict), body
    assert isinstance(body['timestamp'], float), body
    assert body['reason'] == [body['message']], body
    assert body['status_code'] == status, body
    return body


def without_timestamp(body: dict) -> dict:
    return {key: value for key, value in body.items() if key != 'timestamp'}


class RequestsAdapter:
    """A requests response seen as the Flask test response assert_envelope expects."""

    def __init__(self, response):
        self.status_code = response.status_code
        self.headers = response.headers
        self._content = response.content

    def get_data(self):
        return self._content
