"""The JWT-mode verifier's key set: fetched once from the real service's ``certs`` (through
its discovery document or a given URL), refetched on an unknown kid at most once per
interval, kept for the max-age the service announces, rotated and retired keys followed, and
an unreachable issuer answered with 503, never 500."""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.jwt_verifier import (assert_refused, auth_server, backend,  # noqa: F401
                                        get, issuer, jwks_fetches, make_verifier, mint, mono,
                                        signing_keys, status)
from tests.support.live_server import LiveServer, closed_port_url
from tests.support.oidc import realm  # noqa: F401
from wazo_like_auth.services.signing_keys import SKEW

PROFILE = '/users/someone/profile'


def test_concurrent_first_requests_fetch_the_keys_once(make_verifier, mint, auth_server):
    verifier = make_verifier()
    tokens = [mint(scope='#') for _ in range(16)]
    start = threading.Barrier(len(tokens))

    def verify(token):
        start.wait()
        return status(verifier, token)
    with ThreadPoolExecutor(len(tokens)) as pool:
        assert list(pool.map(verify, tokens)) == [200] * len(tokens)
    assert jwks_fetches(auth_server) == 1


def test_unknown_kid_refetches_once_then_refuses(make_verifier, mint, auth_server, mono):
    verifier = make_verifier(min_refetch_interval=5)
    assert status(verifier, mint(scope='#')) == 200
    mono.now += 6
    for kid in ('made-up-1', 'made-up-2', 'made-up-3'):
        assert status(verifier, mint(scope='#', header={'kid': kid})) == 401
    assert jwks_fetches(auth_server) == 2  # the first fetch, one refetch: no more
    mono.now += 4.9
    assert status(verifier, mint(scope='#', header={'kid': 'made-up-4'})) == 401
    assert jwks_fetches(auth_server) == 2
    mono.now += 0.2
    assert status(verifier, mint(scope='#', header={'kid': 'made-up-5'})) == 401
    assert jwks_fetches(auth_server) == 3
    assert auth_server.count('GET', '/api/auth/0.1/.well-known/') == 1  # discovery: once


def test_a_rotated_key_is_picked_up_and_a_retired_one_refused(
        make_verifier, mint, auth_server, signing_keys, mono, clock, config):
    verifier = make_verifier(min_refetch_interval=5)
    old = mint(scope='#', lifetime=3 * 86400)
    assert status(verifier, old) == 200
    signing_keys.rotate(now=True)  # the service's own rotation: the new key signs at once
    mono.now += 6
    new = mint(scope='#')
    assert status(verifier, new) == 200 and status(verifier, old) == 200
    assert jwks_fetches(auth_server) == 2
    # The old key leaves certs once its last token has expired...
    clock.advance(config['default_token_lifetime'] + SKEW.total_seconds() + 1)
    assert status(verifier, old) == 200  # ...but the set fetched is good for its max-age,
    mono.now += 300
    assert status(verifier, old) == 401  # then the key is gone: valid signature, refused
    assert status(verifier, new) == 200
    assert status(make_verifier(), old) == 401


def test_the_key_set_is_kept_for_the_max_age_certs_announce(make_verifier, mint, auth_server,
                                                           mono):
    assert requests.get(f'{auth_server.url}/api/auth/0.1/oauth2/certs', timeout=10) \
        .headers['Cache-Control'] == 'public, max-age=300'
    before = jwks_fetches(auth_server)
    verifier = make_verifier()
    token = mint(scope='#')
    assert status(verifier, token) == 200
    mono.now += 299
    assert status(verifier, token) == 200
    assert jwks_fetches(auth_server) == before + 1
    mono.now += 1
    assert status(verifier, token) == 200
    assert jwks_fetches(auth_server) == before + 2


class CertsPeer:
    """A test peer in front of the real ``certs``: it can be down, or change Cache-Control."""

    def __init__(self, certs_url: str):
        self.certs_url, self.status, self.cache_control, self.calls = certs_url, 200, None, 0

    def __call__(self, environ, start_response):
        self.calls += 1
        if self.status != 200:
            start_response(f'{self.status} Down', [('Content-Type', 'text/html')])
            return [b'<html>down</html>']
        real = requests.get(self.certs_url, timeout=10)
        control = self.cache_control or real.headers['Cache-Control']
        start_response('200 OK', [('Content-Type', 'application/json'),
                                  ('Cache-Control', control)])
        return [real.content]


@pytest.fixture
def certs_peer(issuer):
    peer = CertsPeer(f'{issuer}/oauth2/certs')
    with LiveServer(peer) as server:
        peer.url = f'{server.url}/certs'
        yield peer


def test_a_shorter_max_age_is_honoured_too(make_verifier, mint, certs_peer, mono):
    certs_peer.cache_control = 'max-age=30'
    verifier = make_verifier(jwks_url=certs_peer.url)
    token = mint(scope='#')
    assert status(verifier, token) == 200
    mono.now += 29
    assert status(verifier, token) == 200 and certs_peer.calls == 1
    mono.now += 1
    assert status(verifier, token) == 200 and certs_peer.calls == 2


def test_keys_unreachable_at_start_is_503_then_recovers(make_verifier, backend, mint,
                                                       certs_peer, mono):
    certs_peer.status = 502
    server = backend(make_verifier(jwks_url=certs_peer.url, min_refetch_interval=5))
    token = mint(scope='#')
    assert_refused(get(server, PROFILE, token), 503, 'authentication-server-unreachable')
    certs_peer.status = 200
    assert_refused(get(server, PROFILE, token), 503, 'authentication-server-unreachable')
    assert certs_peer.calls == 1  # retried only after min_refetch_interval
    mono.now += 5
    assert get(server, PROFILE, token).status_code == 200


@pytest.mark.parametrize('where', ['issuer', 'jwks_url'])
def test_nothing_listening_is_503_not_500(make_verifier, backend, mint, where):
    dead = closed_port_url()
    options = {'issuer': dead} if where == 'issuer' else {'jwks_url': dead + '/certs'}
    server = backend(make_verifier(**options))
    assert_refused(get(server, PROFILE, mint(scope='#')), 503,
                   'authentication-server-unreachable')


def test_a_failed_refetch_keeps_the_last_keys_and_warns(make_verifier, mint, certs_peer, mono,
                                                       caplog):
    verifier = make_verifier(jwks_url=certs_peer.url)
    token = mint(scope='#')
    assert status(verifier, token) == 200
    certs_peer.status = 503
    mono.now += 301
    with caplog.at_level(logging.WARNING, logger='wazo_like_auth.verifier'):
        assert status(verifier, token) == 200
    assert certs_peer.calls == 2
    assert 'keeping the last keys' in caplog.text and token not in caplog.text


def test_a_discovery_document_of_another_issuer_is_not_trusted(make_verifier, mint, issuer):
    verifier = make_verifier(issuer=issuer + '/')
    assert status(verifier, mint(scope='#', iss=issuer + '/')) == 503


def test_a_realm_issuer_is_discovered_and_its_tokens_verified(make_verifier, mint, realm,
                                                             auth_server):
    realm_issuer = f'{auth_server.url}/realms/acme'
    verifier = make_verifier(issuer=realm_issuer)
    assert status(verifier, mint(scope='#', iss=realm_issuer)) == 200
    assert status(verifier, mint(scope='#')) == 401  # the global issuer's: another iss
    assert auth_server.count('GET', '/realms/acme/protocol/openid-connect/certs') == 1
