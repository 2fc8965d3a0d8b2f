"""Push revocation on a real RabbitMQ: wazo_like_auth.verifier following the
``auth_session_deleted`` events that the real service publishes through its outbox (amqp enabled,
served over HTTP), no mocks.

The verifiers' clocks are under test control and frozen unless a test moves them, with a cache
that would keep an answer 300 s: a refusal of a cached token can only come from push."""
from __future__ import annotations

import json
import logging
import os
import threading
import uuid

import amqp
import pytest
import requests

from tests.support import access_tokens
from tests.support.clock import ManualMonotonic
from tests.support.jwt_verifier import protected_app
from tests.support.live_server import LiveServer
from tests.support.polling import wait_until
from wazo_like_auth.app import create_app, services_of, shutdown
from wazo_like_auth.verifier import AccessDenied, JwtVerifier, PushRevocation, TokenVerifier

OWNER = str(uuid.uuid4())
PROFILE = f'/users/{OWNER}/profile'
ACL = f'confd.users.{OWNER}.read'
AUDIENCE = 'confd'
CHECKS = '/0.1/token/'


@pytest.fixture
def mono() -> ManualMonotonic:
    return ManualMonotonic()


@pytest.fixture
def serve(make_config, db_uri, engine):
    """``serve(uri)``: the service publishing its events to the broker at ``uri``, served
    over HTTP (its publisher as the server runs it)."""
    started = []

    def start(uri: str) -> LiveServer:
        config = make_config(db_uri=db_uri, token_cleanup_interval=0, amqp={
            'enabled': True, 'uri': uri, 'poll_interval': 0.05,
            'retry_initial_delay': 0.05, 'retry_max_delay': 0.2})
        app = create_app(config, engine=engine, background=True)
        server = LiveServer(app).__enter__()
        server.app = app
        started.append(server)
        return server
    yield start
    for server in started:
        server.__exit__(None, None, None)
        shutdown(server.app)


def push_to(uri: str) -> PushRevocation:
    return PushRevocation(uri, heartbeat=2, retry_initial_delay=0.05, retry_max_delay=0.2)


@pytest.fixture
def verifiers():
    made = []
    yield made
    for verifier in made:
        verifier.close()


@pytest.fixture
def online(verifiers, mono):
    """A TokenVerifier of ``server`` following the bus at ``uri``, subscribed."""
    def make(server: LiveServer, uri: str, **options) -> TokenVerifier:
        options = {'cache_ttl': 5.0, 'push_cache_ttl': 300.0, 'clock': mono, **options}
        verifiers.append(TokenVerifier(f'{server.url}/0.1', push=push_to(uri), **options))
        return subscribed(verifiers[-1])
    return make


def subscribed(verifier):
    verifier.push.start()
    assert wait_until(lambda: verifier.push.live, timeout=15), 'never subscribed'
    return verifier


@pytest.fixture
def user(make_user):
    """``user()``: a new user with ACL, logged in at ``server``: its token data."""
    def make(server: LiveServer, acl=(ACL,), body=None) -> dict:
        name = f'user-{uuid.uuid4().hex[:8]}'
        user_uuid = make_user(name, 'pw', acl=acl)
        response = requests.post(f'{server.url}/0.1/token', json=body or {}, auth=(name, 'pw'),
                                 timeout=10)
        assert response.status_code == 200, response.text
        return {**response.json()['data'], 'user_uuid': str(user_uuid)}
    return make


@pytest.fixture
def admin(user):
    return lambda server: {'X-Auth-Token': user(server, acl=('#',))['token']}


def allowed(verifier, token: str) -> bool:
    try:
        verifier.verify(token, ACL)
    except AccessDenied as denied:
        assert denied.status_code == 401, denied.status_code
        return False
    return True


def delete(server, path: str, headers=None) -> None:
    response = requests.delete(f'{server.url}/0.1{path}', headers=headers or {}, timeout=10)
    assert response.status_code in (200, 204), response.text  # DELETE /token answers 200


REVOCATIONS = {
    'DELETE /token/{token}': lambda server, token, admin: delete(
        server, f'/token/{token["token"]}'),
    'DELETE /sessions/{session}': lambda server, token, admin: delete(
        server, f'/sessions/{token["session_uuid"]}', admin(server)),
    'DELETE /users/{user}/sessions/{session}': lambda server, token, admin: delete(
        server, f'/users/{token["user_uuid"]}/sessions/{token["session_uuid"]}', admin(server)),
}


@pytest.mark.parametrize('revoke', REVOCATIONS.values(), ids=REVOCATIONS.keys())
def test_a_cached_token_is_refused_as_soon_as_its_session_ends(
        rabbitmq, serve, online, user, admin, revoke):
    server = serve(rabbitmq.uri)
    verifier = online(server, rabbitmq.uri)
    backend = LiveServer(protected_app(verifier)).__enter__()
    try:
        alice, bob = user(server), user(server)
        profile = lambda token: requests.get(f'{backend.url}{PROFILE}',  # noqa: E731
                                             headers={'X-Auth-Token': token}, timeout=10)
        assert profile(alice['token']).status_code == 200
        assert profile(bob['token']).status_code == 200
        asked = server.count('GET', CHECKS)
        assert profile(alice['token']).status_code == 200  # cached: not asked again
        assert server.count('GET', CHECKS) == asked

        revoke(server, alice, admin)

        refused = wait_until(lambda: profile(alice['token']).status_code == 401, timeout=10)
        assert refused, 'the cached token was still accepted'
        assert profile(bob['token']).status_code == 200
        assert server.count('GET', CHECKS) == asked + 1  # bob's answer stayed cached
    finally:
        backend.__exit__(None, None, None)


def test_a_cached_answer_never_outlives_the_token(rabbitmq, serve, online, user, mono):
    server = serve(rabbitmq.uri)
    verifier = online(server, rabbitmq.uri)
    short = user(server, body={'expiration': 60})['token']
    assert allowed(verifier, short)
    asked = server.count('GET', CHECKS)
    mono.now += 50
    assert allowed(verifier, short)
    assert server.count('GET', CHECKS) == asked  # within its life: cached
    mono.now += 15  # past the token's 60 s, far from push_cache_ttl
    assert allowed(verifier, short)  # (the service's clock has not moved: still valid there)
    assert server.count('GET', CHECKS) == asked + 1  # but asked again


def test_a_jwt_of_an_ended_session_is_refused_without_any_feed_poll(
        rabbitmq, serve, verifiers, user, mono):
    server = serve(rabbitmq.uri)
    issuer = f'{server.url}/api/auth/0.1'
    key = services_of(server.app).oidc.signing_keys.active()
    alice, bob = user(server), user(server)
    jwt = {who['session_uuid']: access_tokens.mint(key, access_tokens.claims(
        issuer, AUDIENCE, acl=[ACL], sub=who['user_uuid'], session_uuid=who['session_uuid']))
        for who in (alice, bob)}
    verifiers.append(JwtVerifier(issuer, AUDIENCE, push=push_to(rabbitmq.uri), clock=mono))
    verifier = subscribed(verifiers[-1])  # and no revocation feed at all
    assert verifier.verify(jwt[alice['session_uuid']], ACL)['sub'] == alice['user_uuid']

    delete(server, f'/token/{alice["token"]}')

    assert wait_until(lambda: not allowed(verifier, jwt[alice['session_uuid']]), timeout=10)
    assert allowed(verifier, jwt[bob['session_uuid']])


def test_with_the_bus_down_the_verifier_keeps_its_normal_behaviour_then_push_comes_back(
        own_rabbitmq, serve, online, user, mono, caplog):
    caplog.set_level(logging.DEBUG, logger='wazo_like_auth.verifier')
    server = serve(own_rabbitmq.uri)
    verifier = online(server, own_rabbitmq.uri, cache_ttl=5.0)
    alice, bob = user(server), user(server)
    assert allowed(verifier, alice['token'])

    own_rabbitmq.stop()
    assert wait_until(lambda: not verifier.push.live, timeout=15)
    delete(server, f'/token/{alice["token"]}')  # the service goes on; its event waits
    assert allowed(verifier, alice['token'])  # the honest trade-off: cached for cache_ttl
    mono.now += 6  # past cache_ttl, far from push_cache_ttl
    assert not allowed(verifier, alice['token'])
    assert allowed(verifier, bob['token'])

    own_rabbitmq.start()
    assert wait_until(lambda: verifier.push.live, timeout=30), 'never subscribed again'
    asked = server.count('GET', CHECKS)
    assert allowed(verifier, bob['token'])  # emptied on subscribing: events were missed
    assert allowed(verifier, bob['token'])
    assert server.count('GET', CHECKS) == asked + 1
    delete(server, f'/token/{bob["token"]}')
    assert wait_until(lambda: not allowed(verifier, bob['token']), timeout=10)

    warnings = [r for r in caplog.records
                if r.name == 'wazo_like_auth.verifier.push' and r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert 'unreachable' in warnings[0].getMessage()
    logged = caplog.text
    assert alice['token'] not in logged and bob['token'] not in logged
    assert 'guest:guest' not in logged


def _publish_raw(uri: str, messages: list[tuple[bytes, dict]]) -> None:
    """Messages sent straight to the ``xivo`` exchange, confirmed by the broker."""
    host = uri.split('@')[1].rstrip('/')
    connection = amqp.Connection(host, userid='guest', password='guest', connect_timeout=5)
    connection.connect()
    try:
        channel = connection.channel()
        channel.confirm_select()
        for body, headers in messages:
            session = headers.pop('routing_session', str(uuid.uuid4()))
            channel.basic_publish(amqp.Message(body, application_headers=headers,
                                               content_type='application/json'),
                                  exchange='xivo', routing_key=f'auth.sessions.{session}.deleted')
    finally:
        connection.close()


def test_malformed_messages_are_ignored_and_the_subscription_goes_on(
        rabbitmq, serve, online, user, caplog):
    caplog.set_level(logging.DEBUG, logger='wazo_like_auth.verifier.push')
    server = serve(rabbitmq.uri)
    verifier = online(server, rabbitmq.uri)
    alice, bob = user(server), user(server)
    assert allowed(verifier, alice['token']) and allowed(verifier, bob['token'])
    asked = server.count('GET', CHECKS)
    mine = alice['session_uuid']
    not_an_end = {'name': 'auth_session_created', 'data': {'uuid': mine}}
    _publish_raw(rabbitmq.uri, [
        (b'\xff\xfe not utf-8', {}), (b'not json', {}), (b'[]', {}), (b'[' * 100_000, {}),
        (json.dumps({'name': 'auth_session_deleted'}).encode(), {}),
        (json.dumps({'name': 'auth_session_deleted', 'data': {'uuid': 42}}).encode(), {}),
        (json.dumps({'name': 'auth_session_deleted', 'data': {'uuid': 'x'}}).encode(), {}),
        (json.dumps(not_an_end).encode(), {'name': 'auth_session_created',
                                           'routing_session': mine}),
    ])

    delete(server, f'/token/{bob["token"]}')  # queued after the garbage: handled after it

    assert wait_until(lambda: not allowed(verifier, bob['token']), timeout=10)
    assert verifier.push.live
    assert allowed(verifier, alice['token'])
    assert server.count('GET', CHECKS) == asked + 1  # bob's refusal; alice's still cached
    ignored = [r for r in caplog.records if 'ignored a message' in r.getMessage()]
    assert len(ignored) == 8


def test_close_stops_following_the_bus(rabbitmq, serve, online):
    verifier = online(serve(rabbitmq.uri), rabbitmq.uri)
    verifier.close()
    assert not verifier.push.live
    assert not [t for t in threading.enumerate() if t.name == 'wazo-like-auth-push-revocation'
                and t.is_alive()]


def test_a_forked_worker_subscribes_on_its_own(rabbitmq, serve, online):
    """A pre-fork server builds the verifier in its master: each worker must follow the bus
    with a connection of its own, never its parent's."""
    verifier = online(serve(rabbitmq.uri), rabbitmq.uri)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: report, then leave without running any test teardown
        try:
            before = verifier.push.live
            verifier.push.start()
            after = wait_until(lambda: verifier.push.live, timeout=15)
            os.write(write, json.dumps([before, after]).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        report = pipe.read()
    os.waitpid(pid, 0)
    assert json.loads(report) == [False, True]
    assert verifier.push.live  # the parent's subscription is untouched
