"""Defects found by the review of the JWT formats and the libraries applications use (the
offline verifier, the client library, signing-key rotation): each test is a user-visible
failure that was fixed."""
from __future__ import annotations

import json

import pytest
import requests

from tests.support import access_tokens
from tests.support.jwt_verifier import (AUDIENCE, auth_server, issuer, make_verifier,  # noqa: F401
                                        mint, mono, signing_keys, status)
from tests.support.live_server import LiveServer


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
