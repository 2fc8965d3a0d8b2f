"""Fixtures of the JWT-mode verifier tests: the real service served over HTTP (its discovery,
``certs``, token endpoint and revocation feed: the ``live`` server of the OAuth tests, so
``api``, ``admin_token`` and ``make_client`` talk to the same process), its signing keys,
verifiers with a controllable monotonic clock, the example backend guarded by one, access
tokens minted with the service's key, and real ones it issues (tests import the fixtures by
name)."""
from __future__ import annotations

import importlib.util
import pathlib

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from tests.support import access_tokens
from tests.support.clock import ManualMonotonic
from tests.support.envelope import ENVELOPE_KEYS
from tests.support.jwt_access import register_jwt_client
from tests.support.live_server import LiveServer
from wazo_like_auth.app import services_of
from wazo_like_auth.verifier import AccessDenied, JwtVerifier

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / 'contribs' / 'examples'
AUDIENCE = 'confd'
FEED_ACL = 'auth.tokens.revoked.read'
FEED_PATH = '/api/auth/0.1/tokens/revoked'


def _example(name: str):
    spec = importlib.util.spec_from_file_location('example_backend_service_jwt',
                                                  EXAMPLES / 'backend_service.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


protected_app = _example('protected_app')


@pytest.fixture
def auth_server(live) -> LiveServer:
    """The service under test, served over HTTP (the one ``api`` talks to)."""
    return live


@pytest.fixture
def issuer(auth_server) -> str:
    """The global issuer, as its discovery document names it."""
    return f'{auth_server.url}/api/auth/0.1'


@pytest.fixture
def signing_keys(oauth_app):
    return services_of(oauth_app).oidc.signing_keys


@pytest.fixture
def mono() -> ManualMonotonic:
    return ManualMonotonic()


@pytest.fixture
def make_verifier(issuer, mono):
    """A JwtVerifier of ``issuer`` for ``audience`` (default AUDIENCE; discovery unless
    ``jwks_url``), on ``mono``."""
    made = []

    def make(**options) -> JwtVerifier:
        options = {'clock': mono, **options}
        made.append(JwtVerifier(options.pop('issuer', issuer), options.pop('audience', AUDIENCE),
                                **options))
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


def client_credentials(api, client_id: str, secret: str) -> str:
    """An access token of the client credentials grant, fetched with authlib, the secret in the
    form body as a Keycloak-style caller sends it."""
    session = OAuth2Session(client_id, secret, token_endpoint_auth_method='client_secret_post')
    return session.fetch_token(api.token_url(), grant_type='client_credentials')['access_token']


@pytest.fixture
def feed_token(api, make_client) -> str:
    """A real service token holding only the revocation feed's ACL (an opaque client's)."""
    client = make_client('feed-reader', acl=[FEED_ACL])
    return client_credentials(api, 'feed-reader', client['client_secret'])


@pytest.fixture
def issue(api, admin_token):
    """``issue(acl, audience)``: a real JWT access token (client credentials) that the service
    issues to a new ``jwt`` client holding ``acl``, for ``audience`` (None: the default, the
    issuer)."""
    made = []

    def make(acl=('#',), audience: str | None = AUDIENCE) -> str:
        client_id = f'jwt-client-{len(made)}'
        fields = {} if audience is None else {'access_token_audience': audience}
        made.append(register_jwt_client(api, admin_token, client_id, acl=list(acl), **fields))
        return client_credentials(api, client_id, made[-1]['client_secret'])
    return make


def status(verifier, token: str, acl: str = 'confd.x', tenant: str | None = None) -> int:
    """What a backend guarded by ``verifier`` answers ``token`` for ``acl`` (with ``tenant``
    in Wazo-Tenant): 200, or the status of the refusal."""
    try:
        verifier.verify(token, acl, tenant)
    except AccessDenied as denied:
        return denied.status_code
    return 200


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
