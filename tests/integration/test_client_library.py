"""wazo_like_auth.client against a real wazo-like-auth served over HTTP (no mocks).

Time is the only thing under test control: the client takes a monotonic ``clock``, so "the token
is near expiry" is decided without sleeping, and server-side expiry is forced with an UPDATE.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import pathlib
import subprocess
import sys
import threading

import pytest
import requests
from sqlalchemy import text

from tests.support.clock import ManualMonotonic
from tests.support.live_server import LiveServer, closed_port_url, dripping
from wazo_like_auth.client import (AuthClient, InvalidCredentials, ServiceUnavailable,
                                   TooManyAttempts, TooManySessions, UnexpectedResponse)

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / 'contribs' / 'examples'
ME_TOKENS = '/users/me/tokens'  # a protected endpoint: 401 when the token is dead


@pytest.fixture
def config(make_config, db_uri):
    # Expiring tokens with an UPDATE bypasses the service's validation-cache invalidation
    # (which follows deletes and honours real expiry), so this module runs without that cache.
    return make_config(db_uri=db_uri, validation_cache=False)


@pytest.fixture
def auth_server(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def base_url(auth_server):
    return f'{auth_server.url}/0.1'


@pytest.fixture
def user(make_user):
    return make_user(acl=['auth.users.me.tokens.#', 'confd.#'])


@pytest.fixture
def new_client(base_url):
    made = []

    def make(**options):
        client = AuthClient(options.pop('url', base_url), **options)
        made.append(client)
        return client
    yield make
    for client in made:
        client.close()


def _valid(base_url: str, token: str) -> bool:
    return requests.head(f'{base_url}/token/{token}', timeout=5).status_code == 204


def _expire_all_tokens(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE auth_token SET expires_at = now() - interval '1 second'"))


def test_password_login_gives_a_token_the_service_accepts(new_client, base_url, auth_server,
                                                          user):
    client = new_client(username='alice', password='s3cret')
    token = client.token()
    assert _valid(base_url, token)
    assert client.token() == token
    assert auth_server.count('POST', '/0.1/token') == 1
    assert client.refresh_token is None
    assert client.token_data['metadata']['uuid'] == str(user)


def test_public_prefix_works_too(new_client, auth_server, user):
    client = new_client(url=f'{auth_server.url}/api/auth/0.1', username='alice',
                        password='s3cret')
    assert client.request('GET', ME_TOKENS).status_code == 200


def test_token_is_renewed_by_password_inside_the_margin(new_client, base_url, auth_server, user):
    clock = ManualMonotonic()
    client = new_client(username='alice', password='s3cret', expiration=100, clock=clock)
    first = client.token()
    clock.advance(69)  # margin = min(max(30 s, 10 %), 50 %) = 30 s: renew from 70 s on
    assert client.token() == first
    clock.advance(1)
    second = client.token()
    assert second != first and _valid(base_url, second)
    assert auth_server.count('POST', '/0.1/token') == 2


def test_refresh_token_renews_across_many_expiries_without_password(new_client, base_url,
                                                                    auth_server, user):
    bootstrap = new_client(username='alice', password='s3cret', client_id='app', offline=True)
    bootstrap.token()
    stored = bootstrap.refresh_token
    assert stored
    clock = ManualMonotonic()
    client = new_client(refresh_token=stored, client_id='app', expiration=60, clock=clock)
    seen = set()
    for _ in range(5):
        token = client.token()
        assert _valid(base_url, token)
        seen.add(token)
        clock.advance(60)
    assert len(seen) == 5
    assert client.refresh_token == stored
    assert auth_server.count('POST', '/0.1/token') == 6


def test_request_retries_once_after_server_side_expiry(new_client, engine, auth_server, user):
    bootstrap = new_client(username='alice', password='s3cret', client_id='app', offline=True)
    bootstrap.token()
    client = new_client(refresh_token=bootstrap.refresh_token, client_id='app')
    tokens = set()
    for _ in range(5):
        tokens.add(client.token())
        _expire_all_tokens(engine)
        assert client.request('GET', ME_TOKENS).status_code == 200
    assert len(tokens) == 5
    assert auth_server.count('GET', f'/0.1{ME_TOKENS}') == 10  # each call sent twice
    assert auth_server.count('POST', '/0.1/token') == 1 + 1 + 5  # bootstrap, first, renewals


def test_request_retries_once_after_revocation(new_client, base_url, user):
    client = new_client(username='alice', password='s3cret')
    revoked = client.token()
    requests.delete(f'{base_url}/token/{revoked}', timeout=5)
    response = client.request('GET', f'{base_url}/token/{revoked}')
    assert response.status_code == 404  # the revoked token stays unknown...
    assert client.token() != revoked    # ...but the client renewed and retried once
    assert client.request('GET', ME_TOKENS).status_code == 200


def test_401_with_a_live_token_is_returned_without_renewal(new_client, make_user, auth_server):
    make_user('bob', 'pw')  # no ACL at all
    client = new_client(username='bob', password='pw')
    token = client.token()
    assert client.request('GET', ME_TOKENS).status_code == 401
    assert client.token() == token
    assert auth_server.count('POST', '/0.1/token') == 1
    assert auth_server.count('GET', f'/0.1{ME_TOKENS}') == 1


def test_concurrent_token_calls_log_in_once(new_client, auth_server, user):
    client = new_client(username='alice', password='s3cret')
    results = _in_threads(20, client.token)
    assert len(set(results)) == 1
    assert auth_server.count('POST', '/0.1/token') == 1


def test_concurrent_retries_renew_once(new_client, engine, auth_server, user):
    client = new_client(username='alice', password='s3cret')
    client.token()
    _expire_all_tokens(engine)
    statuses = _in_threads(20, lambda: client.request('GET', ME_TOKENS).status_code)
    assert statuses == [200] * 20
    assert auth_server.count('POST', '/0.1/token') == 2
    assert auth_server.count('HEAD', '/0.1/token/') == 1


def _in_threads(count, function):
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def run(index):
        barrier.wait()
        try:
            results[index] = function()
        except Exception as error:  # reported below, with the failing thread's error
            errors.append(error)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    return results


def test_wrong_password_raises_invalid_credentials(new_client, user):
    with pytest.raises(InvalidCredentials) as raised:
        new_client(username='alice', password='wrong').token()
    assert raised.value.status_code == 401
    assert raised.value.message == 'Authentication Failed'


def test_revoked_refresh_token_without_password_raises_invalid_credentials(new_client, user):
    client = new_client(refresh_token='0' * 8 + '-0000-0000-0000-' + '0' * 12, client_id='app')
    with pytest.raises(InvalidCredentials):
        client.token()


def test_revoked_refresh_token_falls_back_to_the_password(new_client, base_url, user):
    bootstrap = new_client(username='alice', password='s3cret', client_id='app', offline=True)
    bootstrap.token()
    revoked = requests.delete(f'{base_url}/users/me/tokens/app',
                              headers={'X-Auth-Token': bootstrap.token()}, timeout=5)
    assert revoked.status_code == 204
    client = new_client(username='alice', password='s3cret', client_id='app', offline=True,
                        refresh_token=bootstrap.refresh_token)
    assert _valid(base_url, client.token())
    assert client.refresh_token and client.refresh_token != bootstrap.refresh_token


def test_unreachable_service_raises_service_unavailable(new_client, user):
    client = new_client(url=f'{closed_port_url()}/0.1', username='alice', password='s3cret')
    with pytest.raises(ServiceUnavailable):
        client.token()


def test_proxy_error_raises_service_unavailable(new_client):
    def bad_gateway(environ, start_response):
        start_response('502 Bad Gateway', [('Content-Type', 'text/html')])
        return [b'<html>502</html>']
    with LiveServer(bad_gateway) as proxy:
        client = new_client(url=f'{proxy.url}/0.1', username='alice', password='s3cret')
        with pytest.raises(ServiceUnavailable) as raised:
            client.token()
    assert raised.value.status_code == 502


def test_bad_request_raises_unexpected_response(new_client, user):
    client = new_client(username='alice', password='s3cret', expiration=10 ** 10)
    with pytest.raises(UnexpectedResponse) as raised:
        client.token()
    assert raised.value.status_code == 400


def test_outage_inside_the_margin_keeps_the_token_until_it_expires(app, user):
    clock = ManualMonotonic()
    with LiveServer(app) as server:
        client = AuthClient(f'{server.url}/0.1', username='alice', password='s3cret',
                            expiration=100, clock=clock)
        token = client.token()
    clock.advance(80)
    assert client.token() == token
    clock.advance(20)
    with pytest.raises(ServiceUnavailable):
        client.token()
    client.close()


def test_missing_credentials_are_refused_at_construction():
    with pytest.raises(ValueError):
        AuthClient('http://127.0.0.1:9497/0.1', username='alice')
    with pytest.raises(ValueError):
        AuthClient('http://127.0.0.1:9497/0.1', username='a', password='p', offline=True)


def test_no_token_or_password_is_logged(new_client, base_url, engine, user, caplog):
    caplog.set_level(logging.DEBUG)
    client = new_client(username='alice', password='s3cret', client_id='app', offline=True)
    first = client.token()
    _expire_all_tokens(engine)
    client.request('GET', ME_TOKENS)
    secrets = [first, client.token(), client.refresh_token, 's3cret']
    # Ours only (client and service): urllib3 logs request lines, token paths included, at
    # DEBUG -- see the client's module docstring.
    ours = '\n'.join(r.getMessage() for r in caplog.records
                     if r.name.startswith('wazo_like_auth'))
    assert 'XXXXXXXX-XXXX-XXXX-XXXX-XXXX' + first[-8:] in ours
    assert not [s for s in secrets if s in ours]


def test_example_app_logs_in_once_then_uses_the_stored_refresh_token(app, user, tmp_path):
    backend = _load_example('backend_service').create_app  # run by the test, not a subprocess
    with LiveServer(app) as auth, LiveServer(backend(f'{auth.url}/0.1')) as service:
        args = ['--auth-url', f'{auth.url}/0.1', '--backend-url', service.url,
                '--username', 'alice', '--state-file', str(tmp_path / 'rt'),
                '--count', '2', '--interval', '0']
        first = _run_example(args, password='s3cret')
        second = _run_example(args, password=None)  # no password: stdin closed
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert 'call 2: 200' in first.stdout and 'call 2: 200' in second.stdout
    assert (tmp_path / 'rt').stat().st_mode & 0o777 == 0o600
    assert auth.count('POST', '/0.1/token') == 2


def _run_example(args, password):
    env = {k: v for k, v in os.environ.items() if k != 'WAZO_LIKE_AUTH_PASSWORD'}
    if password:
        env['WAZO_LIKE_AUTH_PASSWORD'] = password
    return subprocess.run([sys.executable, str(EXAMPLES / 'app_client.py'), *args], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)


def _load_example(name):
    spec = importlib.util.spec_from_file_location(f'example_{name}', EXAMPLES / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_refused_refresh_token_is_not_sent_again_at_every_renewal(new_client, base_url,
                                                                    auth_server, user):
    # Once the service refused the refresh token and the password gave a token, the next
    # renewals must go by the password alone: each one sent the dead refresh token first,
    # one more failure for the address's refresh throttle (20 per 15 minutes, shared by every
    # application of that host) until the refresh answer is 429 and token() raises.
    bootstrap = new_client(username='alice', password='s3cret', client_id='app', offline=True)
    bootstrap.token()
    revoked = requests.delete(f'{base_url}/users/me/tokens/app',
                              headers={'X-Auth-Token': bootstrap.token()}, timeout=5)
    assert revoked.status_code == 204
    client = new_client(username='alice', password='s3cret', client_id='app',
                        refresh_token=bootstrap.refresh_token)
    assert _valid(base_url, client.token())
    before = auth_server.count('POST', '/0.1/token')
    for _ in range(3):
        assert _valid(base_url, client.renew())
    assert auth_server.count('POST', '/0.1/token') - before == 3


def test_a_login_answer_that_never_ends_is_service_unavailable_in_bounded_time():
    # An auth service (or a proxy in front of it) sending the login answer a byte at a time,
    # each within the read timeout: token() must give up as on a timeout (ServiceUnavailable)
    # within about the connect + read timeout, as the verifier's key fetch does. Before: it
    # waited for ever, holding the client's lock, so every thread of the application asking
    # for a token hung with it.
    stop, raised = threading.Event(), []

    def login(client):
        try:
            client.token()
        except Exception as error:  # noqa: BLE001 - the test looks at what was raised
            raised.append(type(error))

    with LiveServer(dripping(stop)) as server:
        client = AuthClient(f'{server.url}/0.1', username='alice', password='s3cret',
                            timeout=(1.0, 1.0))
        caller = threading.Thread(target=login, args=(client,), daemon=True)
        caller.start()
        caller.join(timeout=30)  # liveness, not speed: the budget is 2 s
        answered = list(raised)
        stop.set()
    assert answered == [ServiceUnavailable]


def test_a_throttled_login_is_not_a_session_limit(new_client, user):
    # Past the login throttle the service answers 429 too-many-attempts (with Retry-After);
    # the client raised TooManySessions, documented as "the user has reached the server's
    # concurrent-session limit": an application acting on it (ending the user's other
    # sessions) acts on a limit that was never reached.
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            new_client(username='alice', password='wrong').token()
    with pytest.raises(TooManyAttempts) as raised:
        new_client(username='alice', password='wrong').token()
    assert raised.value.status_code == 429
    assert raised.value.error_id == 'too-many-attempts'
    assert raised.value.retry_after > 0  # the service's Retry-After
    assert not isinstance(raised.value, TooManySessions)


def test_token_refused_by_another_service_never_hands_out_an_expired_token(new_client, engine,
                                                                           base_url, user):
    # token(refused=t), when t is not the current token ("another thread already renewed"),
    # returns the current token as it is, without the renewal time and expiry token() checks:
    # a current token that expired meanwhile is handed out (to the revocation feed: one more
    # 401, and one more poll interval blind), where token() would have logged in again.
    clock = ManualMonotonic()
    client = new_client(username='alice', password='s3cret', expiration=100, clock=clock)
    refused = client.token()       # the feed's token, which it then sent and had refused;
    client.renew()                 # meanwhile another thread of the application renewed,
    clock.advance(101)             # and the renewed token expired since
    _expire_all_tokens(engine)
    assert _valid(base_url, client.token(refused=refused))
