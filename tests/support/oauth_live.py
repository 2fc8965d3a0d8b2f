"""Fixtures of the OAuth 2.0 tests: the app served over real HTTP (client libraries need a
URL), an administrator token, and clients registered through the admin API.

A pytest plugin (tests/conftest.py registers it); tests import its helpers by name.
"""
from __future__ import annotations

import pytest
import requests

from tests.support.apps import running_app
from tests.support.credentials import basic
from tests.support.live_server import LiveServer

PREFIX = '/api/auth/0.1'


@pytest.fixture
def oauth_config(make_config, db_uri):
    # A 1-second poll interval keeps device-flow tests fast.
    return make_config(db_uri=db_uri, oauth2={'device_poll_interval': 1})


@pytest.fixture
def oauth_app(oauth_config, engine, clock):
    with running_app(oauth_config, engine, clock=clock) as app:
        yield app


@pytest.fixture
def live(oauth_app):
    with LiveServer(oauth_app) as server:
        yield server


@pytest.fixture
def insecure_transport(monkeypatch):
    """The test server speaks plain HTTP on 127.0.0.1; oauthlib refuses http:// URLs unless
    told (authlib accepts loopback addresses by itself)."""
    monkeypatch.setenv('OAUTHLIB_INSECURE_TRANSPORT', '1')


class Api:
    """Thin requests wrapper bound to the live server."""

    def __init__(self, base: str):
        self.base = base
        self.url = base + PREFIX
        self.session = requests.Session()

    def token_url(self) -> str:
        return f'{self.url}/oauth2/token'

    def post_form(self, path: str, data=None, **kwargs) -> requests.Response:
        return self.session.post(self.url + path, data=data, timeout=10, **kwargs)

    def login(self, username: str, password: str) -> str:
        response = self.session.post(f'{self.url}/token', json={}, auth=(username, password),
                                     timeout=10)
        assert response.status_code == 200, response.text
        return response.json()['data']['token']

    def is_valid(self, token: str, **params) -> bool:
        response = self.session.head(f'{self.url}/token/{token}', params=params, timeout=10)
        assert response.status_code in (204, 403, 404), response.status_code
        return response.status_code == 204

    def admin(self, method: str, path: str, token: str, **kwargs) -> requests.Response:
        headers = {'X-Auth-Token': token, **kwargs.pop('headers', {})}
        return self.session.request(method, self.url + path, headers=headers, timeout=10,
                                    **kwargs)


@pytest.fixture
def api(live):
    return Api(live.url)


@pytest.fixture
def admin_token(api, make_user):
    make_user('root', 'rootpass', acl=['#'])
    return api.login('root', 'rootpass')


@pytest.fixture
def make_client(api, admin_token):
    """Register a client through POST /clients; returns the answer (with client_secret)."""
    def make(client_id: str, *, public: bool = False, grant_types=None, acl=(), policies=(),
             name: str = '', token: str | None = None, headers=None) -> dict:
        body = {'client_id': client_id, 'public': public, 'acl': list(acl), 'name': name,
                'policies': [str(p) for p in policies]}
        if grant_types is not None:
            body['grant_types'] = list(grant_types)
        response = api.admin('POST', '/clients', token or admin_token, json=body,
                             headers=headers or {})
        assert response.status_code == 200, response.text
        return response.json()
    return make


def basic_header(client_id: str, secret: str) -> dict[str, str]:
    return basic(client_id, secret)


def assert_oauth_error(response, status: int, error: str) -> dict:
    """``response`` (requests) is an RFC 6749 §5.2 error ``error``, never cached."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {'error', 'error_description'}, body
    assert body['error'] == error, body
    assert isinstance(body['error_description'], str) and body['error_description']
    assert response.headers['Cache-Control'] == 'no-store'
    assert response.headers['Pragma'] == 'no-cache'
    return body
