"""The device authorization grant (RFC 8628) as the tests play it: the device polling through
authlib, the person using the verification page's forms with a plain HTTP client."""
from __future__ import annotations

import re

import pytest
import requests
from authlib.integrations.requests_client import OAuthError

DEVICE = 'urn:ietf:params:oauth:grant-type:device_code'


class Person:
    """Someone using the verification page with a plain HTTP client (cookies kept)."""

    def __init__(self):
        self.http = requests.Session()

    def open(self, url: str) -> requests.Response:
        return self.http.get(url, timeout=10)

    def sign_in(self, url: str, username: str, password: str,
                user_code: str | None = None) -> requests.Response:
        page = self.open(url)
        form = {'csrf': hidden(page.text, 'csrf'), 'username': username, 'password': password,
                'user_code': user_code or hidden(page.text, 'user_code')}
        return self.http.post(action(url), data=form, timeout=10)

    def decide(self, consent_page: requests.Response, decision: str) -> requests.Response:
        form = {'csrf': hidden(consent_page.text, 'csrf'), 'decision': decision,
                'consent': hidden(consent_page.text, 'consent')}
        return self.http.post(action(consent_page.url) + '/decision', data=form, timeout=10)


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f'no {name} field in the page'
    return found.group(1)


def action(url: str) -> str:
    return url.split('?')[0]


def start(api, client_id='tv', **extra) -> dict:
    response = api.post_form('/oauth2/device_authorization', {'client_id': client_id, **extra})
    assert response.status_code == 200, response.text
    assert response.headers['Cache-Control'] == 'no-store'
    return response.json()


def poll(api, session, device_code: str) -> dict:
    return session.fetch_token(api.token_url(), grant_type=DEVICE, device_code=device_code)


def poll_error(api, session, device_code: str) -> str:
    with pytest.raises(OAuthError) as refused:
        poll(api, session, device_code)
    return refused.value.error
