"""Defects found by the review of the JWT formats and the libraries applications use (the
offline verifier, its revocation feed, the client library): each test is a user-visible
failure that was fixed."""
from __future__ import annotations

import json

import pytest
import requests

from tests.integration.test_verifier_jwt_revocations import FeedInFront, polling, revoked
from tests.support import access_tokens
from tests.support.clock import ManualMonotonic
from tests.support.jwt_verifier import (auth_server, feed_token, issue, issuer,  # noqa: F401
                                        make_verifier, mint, mono, signing_keys, status)
from tests.support.live_server import LiveServer
from wazo_like_auth.client import RENEW_RETRY_DELAY, AuthClient, UnexpectedResponse


@pytest.mark.parametrize('alg', [['RS256'], {'RS256': 1}])
def test_a_header_alg_that_is_not_a_string_is_refused_not_a_crash(make_verifier, mint,
                                                                  signing_keys, alg):
    # Before the fix: TypeError (unhashable) out of verify(), a 500 in the backend.
    _, payload, signature = mint(scope='#').split('.')
    header = access_tokens.b64({'typ': 'at+jwt', 'alg': alg, 'kid': signing_keys.active().kid})
    assert status(make_verifier(), f'{header}.{payload}.{signature}') == 401


class FixedJwks:
    """A JWKS endpoint answering a fixed document."""

    def __init__(self, document: dict):
        self.document = document

    def __call__(self, environ, start_response):
        start_response('200 OK', [('Content-Type', 'application/json')])
        return [json.dumps(self.document).encode()]


@pytest.mark.parametrize('odd', [{'alg': ['RS256']}, {'kty': ['RSA']}, {'kty': 'EC', 'crv': {}}],
                         ids=['alg a list', 'kty a list', 'crv an object'])
def test_a_malformed_jwk_is_skipped_and_the_others_still_verify(make_verifier, mint, issuer,
                                                               odd):
    # Before the fix: TypeError (unhashable) out of verify() on every token, a 500.
    real = requests.get(f'{issuer}/oauth2/certs', timeout=10).json()['keys']
    broken = {**{k: v for k, v in real[0].items() if k != 'alg'}, 'kid': 'odd', **odd}
    with LiveServer(FixedJwks({'keys': [broken, *real]})) as server:
        verifier = make_verifier(jwks_url=f'{server.url}/certs')
        assert status(verifier, mint(scope='#')) == 200


class Recorder:
    """A WSGI peer answering ``status`` with ``body`` and ``headers``, recording the bodies
    it received."""

    def __init__(self, status: str, body: dict | None = None, headers: list | None = None):
        self.status, self.body, self.headers, self.received = status, body, headers or [], []

    def __call__(self, environ, start_response):
        length = int(environ.get('CONTENT_LENGTH') or 0)
        self.received.append(environ['wsgi.input'].read(length))
        start_response(self.status, [('Content-Type', 'application/json'), *self.headers])
        return [json.dumps(self.body or {}).encode()]


@pytest.mark.parametrize('token', [None, 12345, '', ['a-token']])
def test_a_login_answer_without_a_token_string_is_an_unexpected_response(token):
    # Before the fix: TypeError (len() of None / int) out of token(), which the client's
    # contract does not raise; '' was handed out as a valid token.
    body = {'data': {'token': token, 'utc_issued_at': '2026-01-01T00:00:00.000000',
                     'utc_expires_at': '2026-01-01T01:00:00.000000'}}
    with LiveServer(Recorder('200 OK', body)) as server:
        client = AuthClient(f'{server.url}/0.1', username='alice', password='s3cret')
        with pytest.raises(UnexpectedResponse):
            client.token()


@pytest.mark.parametrize('status', ['307 Temporary Redirect', '308 Permanent Redirect'])
def test_a_redirected_login_does_not_send_the_refresh_token_elsewhere(status):
    # Before the fix: requests followed the redirect and re-sent the JSON body, refresh token
    # included, to whatever host the Location named (possibly over plain HTTP).
    elsewhere = Recorder('200 OK', {'data': {'token': 'stolen-token-value'}})
    with LiveServer(elsewhere) as other:
        redirect = Recorder(status, headers=[('Location', f'{other.url}/0.1/token')])
        with LiveServer(redirect) as server:
            client = AuthClient(f'{server.url}/0.1', refresh_token='the-refresh-token',
                                client_id='my-app')
            with pytest.raises(UnexpectedResponse) as raised:
                client.token()
    assert raised.value.status_code == int(status.split()[0])
    assert elsewhere.received == [] and len(redirect.received) == 1


def test_an_outage_inside_the_margin_does_not_turn_every_token_call_into_a_login():
    # Before the fix: each token() call of the application (every outgoing request) sent one
    # more POST /token to the failing service, for as long as the margin lasted.
    body = {'data': {'token': 'a-valid-token', 'utc_issued_at': '2026-01-01T00:00:00.000000',
                     'utc_expires_at': '2026-01-01T00:01:40.000000'}}  # 100 s
    service, clock = Recorder('200 OK', body), ManualMonotonic()
    with LiveServer(service) as server:
        client = AuthClient(f'{server.url}/0.1', username='alice', password='s3cret',
                            clock=clock)
        assert client.token() == 'a-valid-token'
        service.status = '503 Service Unavailable'
        clock.advance(75)  # inside the 30 s margin
        assert [client.token() for _ in range(20)] == ['a-valid-token'] * 20
        assert len(service.received) == 2  # the login, one renewal attempt
        clock.advance(RENEW_RETRY_DELAY)
        assert client.token() == 'a-valid-token' and len(service.received) == 3
        service.status = '200 OK'
        clock.advance(RENEW_RETRY_DELAY)
        assert client.token() == 'a-valid-token' and len(service.received) == 4
        clock.advance(20)  # past the first token's expiry: the renewed one is in use
        assert client.token() == 'a-valid-token' and len(service.received) == 4


def test_a_feed_that_no_longer_knows_the_cursor_is_listed_again_not_stuck(
        make_verifier, issuer, feed_token, issue, api):
    # The feed's database restored from a dump or replaced by a new cluster (lower
    # transaction ids): it refuses the cursor it gave before with 400 invalid-cursor. Before
    # the fix, the verifier kept sending that cursor forever and never learnt of a revocation
    # again (until restarted): revoked tokens were accepted until they expired.
    token = issue()
    peer = FeedInFront(f'{issuer}/tokens/revoked')
    with LiveServer(peer) as front:
        verifier = polling(make_verifier, issuer, feed_token, audience='confd',
                           auth_url=f'{front.url}/api/auth/0.1')
        peer.answer = ('200 OK', json.dumps({'items': [], 'cursor': str(2 ** 62)}).encode())
        assert verifier.revocations.poll()
        peer.answer = None  # the real feed from now on: it never gave that cursor
        gone = revoked(api, token)
        assert verifier.revocations.poll() and gone in verifier.revocations
    assert status(verifier, token) == 401


def test_a_redirect_to_another_host_does_not_carry_the_token_there():
    # Before the fix: request() followed the redirect with requests, which strips only
    # Authorization: X-Auth-Token went to whatever host the backend's Location named.
    seen = []

    def elsewhere(environ, start_response):
        if environ['PATH_INFO'] == '/start':  # a redirect within this origin
            start_response('302 Found', [('Location', '/landing')])
            return [b'']
        seen.append(environ.get('HTTP_X_AUTH_TOKEN'))
        start_response('200 OK', [('Content-Type', 'application/json')])
        return [b'{}']
    body = {'data': {'token': 'the-secret-token', 'utc_issued_at': '2026-01-01T00:00:00.000000',
                     'utc_expires_at': '2026-01-01T01:00:00.000000'}}
    with LiveServer(elsewhere) as other, LiveServer(Recorder('200 OK', body)) as auth:
        backend = Recorder('302 Found', headers=[('Location', f'{other.url}/landing')])
        with LiveServer(backend) as service:
            client = AuthClient(f'{auth.url}/0.1', username='alice', password='s3cret')
            assert client.request('GET', f'{service.url}/users/me').status_code == 200
            assert requests.get(f'{service.url}/users/me', auth=client.auth,
                                timeout=10).status_code == 200
            assert client.request('GET', f'{other.url}/start').status_code == 200
    assert seen == [None, None, 'the-secret-token']
