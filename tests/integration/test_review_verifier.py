"""Defects found by the review of what backend services use to check tokens (the verifier's
online and offline modes, the client library): each test is a user-visible failure that was
fixed. Real HTTP throughout: the real service, or a small WSGI peer standing for a broken or
hostile one."""
from __future__ import annotations

import json
import uuid

import pytest

from tests.support.envelope import ENVELOPE_KEYS
from tests.support.jwt_verifier import (auth_server, issuer, make_verifier,  # noqa: F401
                                        mint, mono, signing_keys, status)
from tests.support.live_server import LiveServer, closed_port_url
from wazo_like_auth.verifier import PushRevocation, TokenVerifier

PROFILE = f'/users/{uuid.uuid4()}/profile'


def _online_status(verifier: TokenVerifier, token: str) -> int:
    return status(verifier, token, 'confd.users.me.read')


@pytest.mark.parametrize('token', ['.', '..'])
def test_a_dot_segment_token_is_refused_and_never_checked_elsewhere(auth_server, token):
    # Before the fix: requests removes dot segments, so the check of '..' went to
    # HEAD /0.1/?scope=... and that of '.' to HEAD /0.1/token/?scope=..., not to a token check.
    verifier = TokenVerifier(f'{auth_server.url}/0.1', cache_ttl=0)
    assert _online_status(verifier, token) == 401
    assert [path for _, path in auth_server.requests
            if not path.startswith('/0.1/token/') or path == '/0.1/token/'] == []


def _catch_all(environ, start_response):
    """A web server answering 200 to everything (a default site, a single-page app behind a
    misconfigured auth_url)."""
    start_response('200 OK', [('Content-Type', 'text/html')])
    return [b'<html>welcome</html>']


@pytest.mark.parametrize('push', [False, True], ids=['HEAD', 'GET with push'])
def test_an_auth_url_answering_200_to_everything_grants_nothing(push):
    # Before the fix: the online check took any 200 as "token valid": every token, made up or
    # not, passed every ACL (the service answers HEAD with exactly 204, GET with the token).
    bus = PushRevocation(closed_port_url().replace('http', 'amqp'), retry_initial_delay=60)
    with LiveServer(_catch_all) as server:
        verifier = TokenVerifier(f'{server.url}/0.1', cache_ttl=0, push=bus if push else None)
        try:
            assert _online_status(verifier, str(uuid.uuid4())) == 503
        finally:
            verifier.close()


def test_with_push_a_real_check_still_passes(auth_server, make_user, login):
    make_user('alice', 's3cret', acl=['confd.#'])
    token = login('alice', 's3cret').get_json()['data']['token']
    bus = PushRevocation(closed_port_url().replace('http', 'amqp'), retry_initial_delay=60)
    verifier = TokenVerifier(f'{auth_server.url}/0.1', cache_ttl=0, push=bus)
    try:
        assert _online_status(verifier, token.upper()) == 200
        assert _online_status(verifier, str(uuid.uuid4())) == 401
    finally:
        verifier.close()
