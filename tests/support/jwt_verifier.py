"""Fixtures of the JWT-mode verifier tests: the real service served over HTTP (its discovery
and ``certs``), its signing keys, verifiers with a controllable monotonic clock, the example
backend guarded by one, and access tokens minted with the service's key (tests import the
fixtures by name)."""
from __future__ import annotations

import importlib.util
import pathlib

import pytest
import requests

from tests.support import access_tokens
from tests.support.envelope import ENVELOPE_KEYS
from tests.support.live_server import LiveServer
from wazo_like_auth.app import services_of
from wazo_like_auth.verifier import JwtVerifier

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / 'contribs' / 'examples'
AUDIENCE = 'confd'


def _example(name: str):
    spec = importlib.util.spec_from_file_location('example_backend_service_jwt',
                                                  EXAMPLES / 'backend_service.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


protected_app = _example('protected_app')


class Monotonic:
    """The verifier's key-cache clock, moved by the test."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def auth_server(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def issuer(auth_server) -> str:
    """The global issuer, as its discovery document names it."""
    return f'{auth_server.url}/api/auth/0.1'


@pytest.fixture
def signing_keys(app):
    return services_of(app).oidc.signing_keys


@pytest.fixture
def mono() -> Monotonic:
    return Monotonic()


@pytest.fixture
def make_verifier(issuer, mono):
    """A JwtVerifier of ``issuer`` for AUDIENCE (discovery unless ``jwks_url``), on ``mono``."""
    made = []

    def make(**options) -> JwtVerifier:
        options = {'clock': mono, **options}
        made.append(JwtVerifier(options.pop('issuer', issuer), AUDIENCE, **options))
        return made[-1]
    yield make
    for verifier in made:
        verifier.close()


@pytest.fixture
def backend():
    """The example backend guarded by a given verifier, served over HTTP."""
    servers = []

    def start(verifier) -> LiveServer:
        servers.append(LiveServer(protected_app(verifier)).__enter__())
        return servers[-1]
    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def mint(issuer, signing_keys):
    """An access token of ``issuer`` signed with the service's active key."""
    def make(*, key=None, header=None, **claims) -> str:
        body = access_tokens.claims(issuer, AUDIENCE, **claims)
        return access_tokens.mint(key or signing_keys.active(), body, **(header or {}))
    return make


def get(server, path: str, token: str | None = None, **headers) -> requests.Response:
    if token:
        headers['X-Auth-Token'] = token
    return requests.get(f'{server.url}{path}', headers=headers, timeout=10)


def assert_refused(response, status: int, error_id: str) -> dict:
    """``response`` is the verifier's refusal ``status`` in the service's envelope."""
    body = response.json()
    assert response.status_code == status, (response.status_code, body)
    assert set(body) == ENVELOPE_KEYS
    assert body['status_code'] == status and body['error_id'] == error_id
    assert body['reason'] == [body['message']] and isinstance(body['timestamp'], float)
    return body


def jwks_fetches(server: LiveServer) -> int:
    return server.count('GET', '/api/auth/0.1/oauth2/certs')
