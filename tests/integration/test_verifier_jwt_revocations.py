"""The JWT-mode verifier's revocation feed: revoked jtis are refused once polled, the last
known set survives an unreachable feed, and nothing else is asked per request.

The feed is a test peer serving the contract of issue 16 (GET {auth_url}/tokens/revoked,
X-Auth-Token with auth.tokens.revoked.read, ``{"items": [{"jti", "expires_at"}], "cursor"}``)
until the service serves it (branch i16-jwt); its service token is a real one of the service.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import uuid
from urllib.parse import parse_qs

import pytest

from tests.support.jwt_verifier import (assert_refused, auth_server, backend,  # noqa: F401
                                        get, issuer, make_verifier, mint, mono, signing_keys)
from tests.support.live_server import LiveServer
from tests.support.polling import wait_until
from wazo_like_auth.verifier import AccessDenied

PROFILE = '/users/someone/profile'


class FeedPeer:
    """GET /api/auth/0.1/tokens/revoked as issue 16 specifies it: every revoked jti not yet
    expired, or those revoked after ``since`` (a cursor: here the count of revocations)."""

    def __init__(self, service_token: str):
        self.service_token = service_token
        self.revoked: list[dict] = []
        self.down = False
        self.asked: list[str | None] = []  # the since of each authorised request
        self.lock = threading.Lock()

    def revoke(self, jti: str, expires_in: float = 3600) -> None:
        until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=expires_in)
        with self.lock:
            self.revoked.append({'jti': jti, 'expires_at': until.isoformat()})

    def __call__(self, environ, start_response):
        if environ['PATH_INFO'] != '/api/auth/0.1/tokens/revoked':
            return self._answer(start_response, '404 Not Found', {'message': 'no such path'})
        if self.down:
            return self._answer(start_response, '503 Service Unavailable', {})
        if environ.get('HTTP_X_AUTH_TOKEN') != self.service_token:
            return self._answer(start_response, '401 Unauthorized', {'message': 'no'})
        since = parse_qs(environ.get('QUERY_STRING', '')).get('since', [None])[0]
        with self.lock:
            self.asked.append(since)
            start = int(since) if since else 0
            items, cursor = self.revoked[start:], str(len(self.revoked))
        return self._answer(start_response, '200 OK', {'items': items, 'cursor': cursor})

    @staticmethod
    def _answer(start_response, status: str, body: dict):
        start_response(status, [('Content-Type', 'application/json')])
        return [json.dumps(body).encode()]


@pytest.fixture
def service_token(make_user, app):
    """A real token of the service holding the feed's ACL."""
    make_user('feed-reader', 'pw', acl=['auth.tokens.revoked.read'])
    response = app.test_client().post('/0.1/token', json={}, auth=('feed-reader', 'pw'))
    return response.get_json()['data']['token']


@pytest.fixture
def feed(service_token):
    peer = FeedPeer(service_token)
    with LiveServer(peer) as server:
        peer.auth_url = f'{server.url}/api/auth/0.1'
        yield peer


def _polling(make_verifier, feed, interval=0.05, **options):
    return make_verifier(auth_url=feed.auth_url, revocation_token=feed.service_token,
                         revocation_poll_interval=interval, **options)


def test_a_revoked_jti_is_refused_after_the_next_poll(make_verifier, backend, mint, feed):
    server = backend(_polling(make_verifier, feed))
    jti = str(uuid.uuid4())
    token, other = mint(scope='#', jti=jti), mint(scope='#')
    assert get(server, PROFILE, token).status_code == 200  # offline: until the next poll
    feed.revoke(jti)
    assert wait_until(lambda: get(server, PROFILE, token).status_code == 401)
    assert_refused(get(server, PROFILE, token), 401, 'unauthorized')
    assert get(server, PROFILE, other).status_code == 200


def test_polls_send_the_cursor_and_the_service_token(make_verifier, mint, feed):
    verifier = _polling(make_verifier, feed, interval=3600)
    feed.revoke('first')
    assert verifier.revocations.poll() and verifier.revocations.poll()
    feed.revoke('second')
    assert verifier.revocations.poll()
    assert feed.asked == [None, '1', '1']
    assert 'first' in verifier.revocations and 'second' in verifier.revocations


def test_the_token_may_be_a_callable_that_renews_it(make_verifier, mint, feed):
    calls = []
    verifier = make_verifier(auth_url=feed.auth_url, revocation_poll_interval=3600,
                             revocation_token=lambda: calls.append(1) or feed.service_token)
    assert verifier.revocations.poll() and verifier.revocations.poll()
    assert len(calls) == 2


def test_an_unreachable_feed_keeps_the_known_set_and_warns(make_verifier, mint, feed, caplog):
    verifier = _polling(make_verifier, feed, interval=3600)
    jti = str(uuid.uuid4())
    token = mint(scope='#', jti=jti)
    feed.revoke(jti)
    assert verifier.revocations.poll()
    feed.down = True
    with caplog.at_level(logging.WARNING, logger='wazo_like_auth.verifier'):
        assert not verifier.revocations.poll()
    assert 'keeping the 1 known revoked tokens' in caplog.text
    assert feed.service_token not in caplog.text
    with pytest.raises(AccessDenied) as refused:
        verifier.verify(token, 'confd.x')
    assert refused.value.status_code == 401


@pytest.mark.parametrize('wrong', ['not the token', ''])
def test_a_refused_service_token_changes_nothing(make_verifier, mint, feed, wrong, caplog):
    verifier = make_verifier(auth_url=feed.auth_url, revocation_token=wrong or (lambda: 1 / 0),
                             revocation_poll_interval=3600)
    feed.revoke('gone')
    with caplog.at_level(logging.WARNING, logger='wazo_like_auth.verifier'):
        assert not verifier.revocations.poll()
    assert 'gone' not in verifier.revocations
    assert ('answered HTTP 401' if wrong else 'no service token') in caplog.text


def test_entries_go_once_their_token_has_expired_past_the_leeway(make_verifier, feed):
    verifier = _polling(make_verifier, feed, interval=3600, leeway=30)
    feed.revoke('long-dead', expires_in=-31)
    feed.revoke('within-leeway', expires_in=-29)
    assert verifier.revocations.poll()
    assert 'long-dead' not in verifier.revocations
    assert 'within-leeway' in verifier.revocations


def test_polling_needs_where_and_with_what(make_verifier, feed):
    with pytest.raises(ValueError):
        make_verifier(auth_url=feed.auth_url, revocation_poll_interval=10)
    with pytest.raises(ValueError):
        make_verifier(revocation_token='t', revocation_poll_interval=10)
