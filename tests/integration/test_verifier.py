"""wazo_like_auth.verifier, through the example backend, against a real wazo-like-auth served
over HTTP (no mocks). The cache's clock is the only thing under test control."""
from __future__ import annotations

import importlib.util
import pathlib
import uuid

import pytest
import requests

from tests.support.clock import ManualMonotonic
from tests.support.envelope import ENVELOPE_KEYS
from tests.support.live_server import LiveServer, closed_port_url

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / 'contribs' / 'examples'
PROFILE_OWNER = str(uuid.uuid4())


def _example_backend():
    spec = importlib.util.spec_from_file_location('example_backend_service',
                                                  EXAMPLES / 'backend_service.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.create_app


create_backend = _example_backend()


@pytest.fixture
def auth_server(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def backend(auth_server):
    """Start the example backend against ``auth_url`` (default: the live auth service)."""
    servers = []

    def start(auth_url=None, **options):
        server = LiveServer(create_backend(auth_url or f'{auth_server.url}/0.1', **options))
        servers.append(server.__enter__())
        return server
    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def token_with(make_user, login):
    """A token of a new user whose only ACL is ``acl``."""
    def make(*acl):
        name = f'user-{uuid.uuid4().hex[:8]}'
        make_user(name, 'pw', acl=acl)
        return login(name, 'pw').get_json()['data']['token']
    return make


def _get(server, path, token=None, **headers):
    if token:
        headers['X-Auth-Token'] = token
    return requests.get(f'{server.url}{path}', headers=headers, timeout=10)


def _assert_envelope(response, status, error_id):
    body = response.json()
    assert response.status_code == status
    assert set(body) == ENVELOPE_KEYS
    assert body['status_code'] == status and body['error_id'] == error_id
    assert body['reason'] == [body['message']] and isinstance(body['timestamp'], float)
    return body


PROFILE = f'/users/{PROFILE_OWNER}/profile'


def test_public_route_needs_no_token(backend):
    assert _get(backend(), '/public').json() == {'status': 'ok'}


def test_missing_token_is_401(backend, auth_server):
    body = _assert_envelope(_get(backend(), PROFILE), 401, 'unauthorized')
    assert body['details']['required_access'] == f'confd.users.{PROFILE_OWNER}.read'
    assert auth_server.count('HEAD') == 0


def test_unknown_token_is_401_and_not_echoed(backend):
    unknown = str(uuid.uuid4())
    body = _assert_envelope(_get(backend(), PROFILE, unknown), 401, 'unauthorized')
    assert unknown not in str(body)
    assert body['details']['invalid_token'].endswith(unknown[-8:])


def test_token_without_the_acl_is_403(backend, token_with):
    token = token_with('confd.users.someone-else.read')
    body = _assert_envelope(_get(backend(), PROFILE, token), 403, 'forbidden')
    assert body['details']['required_access'] == f'confd.users.{PROFILE_OWNER}.read'


def test_acl_of_the_path_user_is_200(backend, token_with):
    token = token_with(f'confd.users.{PROFILE_OWNER}.read')
    server = backend()
    assert _get(server, PROFILE, token).json()['uuid'] == PROFILE_OWNER
    assert _get(server, f'/users/{uuid.uuid4()}/profile', token).status_code == 403


def test_wildcard_acl_and_bearer_header_are_200(backend, token_with):
    token = token_with('confd.#')
    response = _get(backend(), PROFILE, Authorization=f'Bearer {token}')
    assert response.status_code == 200


def test_flask_restful_resource_is_guarded_too(backend, token_with):
    server = backend()
    settings = f'/users/{PROFILE_OWNER}/settings'
    assert _get(server, settings, token_with('confd.#')).json()['authenticated'] is True
    narrow = token_with(f'confd.users.{PROFILE_OWNER}.read')
    _assert_envelope(_get(server, settings, narrow), 403, 'forbidden')
    _assert_envelope(_get(server, settings), 401, 'unauthorized')


def test_dots_in_path_values_cannot_add_acl_segments(backend, token_with):
    token = token_with('confd.users.victim.#')
    server = backend()
    assert _get(server, '/users/victim/profile', token).status_code == 200
    body = _assert_envelope(_get(server, '/users/victim.x/profile', token), 403, 'forbidden')
    assert body['details']['required_access'] == 'confd.users.victim_x.read'


def test_wazo_tenant_header_is_checked(backend, token_with, top_tenant):
    token = token_with('confd.#')
    server = backend()
    assert _get(server, PROFILE, token, **{'Wazo-Tenant': str(top_tenant)}).status_code == 200
    other = _get(server, PROFILE, token, **{'Wazo-Tenant': str(uuid.uuid4())})
    _assert_envelope(other, 403, 'forbidden')


def test_auth_service_down_is_503(backend):
    server = backend(f'{closed_port_url()}/0.1')
    _assert_envelope(_get(server, PROFILE, str(uuid.uuid4())), 503,
                     'authentication-server-unreachable')


def test_auth_service_5xx_is_503(backend):
    def bad_gateway(environ, start_response):
        start_response('502 Bad Gateway', [('Content-Type', 'text/html')])
        return [b'<html>502</html>']
    with LiveServer(bad_gateway) as proxy:
        response = _get(backend(f'{proxy.url}/0.1'), PROFILE, str(uuid.uuid4()))
    _assert_envelope(response, 503, 'authentication-server-unreachable')


def test_positive_answer_is_cached_per_acl(backend, auth_server, token_with):
    token = token_with('confd.#')
    server = backend(cache_ttl=60)
    assert _get(server, PROFILE, token).status_code == 200
    assert _get(server, PROFILE, token).status_code == 200
    assert auth_server.count('HEAD', '/0.1/token/') == 1
    assert _get(server, f'/users/{uuid.uuid4()}/profile', token).status_code == 200
    assert auth_server.count('HEAD', '/0.1/token/') == 2


def test_revoked_token_is_served_from_cache_until_ttl(backend, auth_server, token_with):
    clock = ManualMonotonic()
    token = token_with('confd.#')
    server = backend(cache_ttl=0.3, clock=clock)
    assert _get(server, PROFILE, token).status_code == 200
    requests.delete(f'{auth_server.url}/0.1/token/{token}', timeout=10)
    clock.now += 0.29
    assert _get(server, PROFILE, token).status_code == 200  # documented staleness bound
    clock.now += 0.01
    _assert_envelope(_get(server, PROFILE, token), 401, 'unauthorized')


def test_refusals_are_never_cached(backend, auth_server, token_with):
    token = token_with('confd.users.someone-else.read')
    server = backend(cache_ttl=60)
    for _ in range(2):
        assert _get(server, PROFILE, token).status_code == 403
    assert auth_server.count('HEAD', '/0.1/token/') == 2


def test_zero_ttl_disables_the_cache(backend, auth_server, token_with):
    token = token_with('confd.#')
    server = backend(cache_ttl=0)
    for _ in range(3):
        assert _get(server, PROFILE, token).status_code == 200
    assert auth_server.count('HEAD', '/0.1/token/') == 3


def test_cache_is_bounded_least_recently_used_first(backend, auth_server, token_with):
    first, second = token_with('confd.#'), token_with('confd.#')
    server = backend(cache_ttl=60, cache_size=1)
    for token in (first, first, second, first):
        assert _get(server, PROFILE, token).status_code == 200
    assert auth_server.count('HEAD', '/0.1/token/') == 3  # first evicted by second


def test_oversized_token_is_refused_without_asking(backend, auth_server):
    _assert_envelope(_get(backend(), PROFILE, 'x' * (16 * 1024)), 401, 'unauthorized')
    assert auth_server.count('HEAD') == 0


def test_a_jwt_sized_token_is_still_asked(backend, auth_server):
    # JWT access tokens (issue 16) are a kilobyte or more, and the online check takes them.
    _assert_envelope(_get(backend(), PROFILE, 'x' * 4096), 401, 'unauthorized')
    assert auth_server.count('HEAD', '/0.1/token/') == 1
