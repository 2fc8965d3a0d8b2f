"""The verifier's JWT mode (issue 16) through the example backend: RFC 9068 access tokens
signed with the real service's signing key, verified offline against the real service's
discovery document and ``certs``, and the issue's bad-input list refused offline.

Tokens are minted as the service issues them (tests/support/access_tokens.py), with its own
key, so that each claim can be set at will, and most forgeries need a token built by hand; the
bad-input list also holds real issued tokens tampered with. Tokens the service really issues
are verified in test_verifier_jwt_issued.py.
"""
from __future__ import annotations

import base64
import json
import time
import uuid

import pytest

from tests.support import access_tokens
from tests.support.jwt_access import unverified_claims
from tests.support.jwt_verifier import (AUDIENCE, assert_refused, auth_server,  # noqa: F401
                                        backend, get, issue, issuer, make_verifier, mint, mono,
                                        signing_keys)
from wazo_like_auth.verifier import AccessDenied

OWNER = str(uuid.uuid4())
PROFILE = f'/users/{OWNER}/profile'
SETTINGS = f'/users/{OWNER}/settings'


def test_a_token_with_the_acl_passes_and_the_view_sees_its_claims(make_verifier, backend,
                                                                   mint, auth_server):
    server = backend(make_verifier())
    token = mint(sub=OWNER, scope='confd.users.me.read confd.users.me.settings.read')
    assert get(server, PROFILE, token).json()['uuid'] == OWNER
    settings = get(server, SETTINGS, Authorization=f'Bearer {token}').json()
    assert settings['authenticated'] is True and settings['caller'] == OWNER


def test_verification_makes_no_call_per_request(make_verifier, backend, mint, auth_server):
    server = backend(make_verifier())
    token = mint(scope='confd.#')
    for _ in range(5):
        assert get(server, PROFILE, token).status_code == 200
    paths = sorted({path for _, path in auth_server.requests})
    assert paths == ['/api/auth/0.1/.well-known/openid-configuration',
                     '/api/auth/0.1/oauth2/certs']
    assert len(auth_server.requests) == 2  # discovery and certs, once


def test_missing_acl_is_403_in_the_envelope(make_verifier, backend, mint):
    server = backend(make_verifier())
    body = assert_refused(get(server, PROFILE, mint(scope='confd.users.someone.read')), 403,
                          'forbidden')
    assert body['details']['required_access'] == f'confd.users.{OWNER}.read'


def test_acl_claim_wins_over_scope_and_uses_the_services_rules(make_verifier, backend, mint):
    server = backend(make_verifier())
    narrowed = mint(sub=OWNER, scope='#', acl=['confd.#', '!confd.users.me.settings.#'])
    assert get(server, PROFILE, narrowed).status_code == 200
    assert_refused(get(server, SETTINGS, narrowed), 403, 'forbidden')
    assert_refused(get(server, PROFILE, mint(scope='#', acl=[])), 403, 'forbidden')
    starred = mint(acl=['confd.users.*.read'])
    assert get(server, PROFILE, starred).status_code == 200
    assert_refused(get(server, SETTINGS, starred), 403, 'forbidden')


def test_me_stands_for_the_subject(make_verifier, backend, mint):
    server = backend(make_verifier())
    token = mint(sub=OWNER, scope='confd.users.me.read')
    assert get(server, PROFILE, token).status_code == 200
    assert_refused(get(server, f'/users/{uuid.uuid4()}/profile', token), 403, 'forbidden')


def test_wazo_tenant_must_be_the_tokens_tenant(make_verifier, backend, mint):
    server = backend(make_verifier())
    tenant = str(uuid.uuid4())
    token = mint(scope='confd.#', tenant_uuid=tenant)
    assert get(server, PROFILE, token, **{'Wazo-Tenant': tenant}).status_code == 200
    body = assert_refused(get(server, PROFILE, token, **{'Wazo-Tenant': str(uuid.uuid4())}),
                          403, 'forbidden')
    assert body['details']['reason'] == 'missing_permission_or_invalid_tenant'


def test_audience_may_be_a_string_and_must_be_ours(make_verifier, mint):
    verifier = make_verifier()
    assert verifier.verify(mint(scope='#', aud=AUDIENCE), 'confd.x')['aud'] == AUDIENCE
    for aud in ('other', ['other', 'more'], [], None):
        with pytest.raises(AccessDenied) as refused:
            verifier.verify(mint(scope='#', aud=aud), 'confd.x')
        assert refused.value.status_code == 401


def test_es256_keys_verify_too(make_verifier, mint, signing_keys, mono):
    verifier = make_verifier()
    assert verifier.verify(mint(scope='#'), 'confd.x')
    signing_keys.rotate('ES256', now=True)
    mono.now += 10  # past min_refetch_interval: the unknown kid is fetched
    token = mint(scope='#')
    assert signing_keys.active().alg == 'ES256'
    assert verifier.verify(token, 'confd.x')['scope'] == '#'


class Wall:
    """The verifier's wall clock (epoch seconds), fixed by the test."""

    def __init__(self):
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize('exp, nbf, accepted', [
    (-29, None, True), (-30, None, False), (-3600, None, False),     # leeway 30 s
    (300, 29, True), (300, 31, False), (300, 3600, False),
])
def test_expiry_and_not_before_have_a_small_leeway(make_verifier, mint, exp, nbf, accepted):
    wall = Wall()
    verifier = make_verifier(wall_clock=wall, leeway=30)
    extra = {} if nbf is None else {'nbf': int(wall.now) + nbf}
    token = mint(scope='#', now=wall.now - 300, lifetime=300 + exp, **extra)
    if accepted:
        assert verifier.verify(token, 'confd.x')
    else:
        with pytest.raises(AccessDenied) as refused:
            verifier.verify(token, 'confd.x')
        assert refused.value.status_code == 401


def _header(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token.split('.')[0] + '=='))


def _real_forgeries(real: str, other: str) -> dict[str, str]:
    """Tokens the service issued (``real``, ``other``), tampered with."""
    header, payload, signature = real.split('.')
    return {
        'real token, tampered payload': access_tokens.tampered(real, sub='someone-else'),
        'real token, its acl widened': access_tokens.tampered(real, acl=['#'], scope='#'),
        'real token, its expiry pushed back': access_tokens.tampered(
            real, exp=unverified_claims(real)['exp'] + 86400),
        'real token, signature of another real token':
            f'{header}.{payload}.{other.split(".")[2]}',
        'real token, signature cut short': f'{header}.{payload}.{signature[:-4]}',
    }


def _bad_tokens(issuer, key, mint) -> dict[str, str]:
    good = mint(scope='#')
    body = access_tokens.claims(issuer, AUDIENCE, scope='#')
    header, payload, _ = good.split('.')
    return {
        'alg none': access_tokens.unsigned(body, key.kid),
        'alg none with a signature': access_tokens.unsigned(body, key.kid) + 'c2ln',
        'wrong kid': mint(scope='#', header={'kid': 'not-a-published-kid'}),
        'HS256 keyed with the public key': access_tokens.hmac_with_public_key(key, body),
        'another alg than the key announces': mint(scope='#', header={'alg': 'RS384'}),
        'typ JWT (an ID token)': mint(scope='#', header={'typ': 'JWT'}),
        'no typ': access_tokens.mint(key, body, typ=None),
        'other issuer': mint(scope='#', iss=issuer + '/'),
        'no jti': mint(scope='#', jti=None),
        'tampered payload': access_tokens.tampered(good, scope='#', sub='someone-else'),
        'tampered header': f'{access_tokens.b64(dict(_header(good), x=1))}.{payload}.x',
        'signature of another token': f'{header}.{payload}.{mint(scope="#").split(".")[2]}',
        'oversized (16 KiB)': mint(acl=['confd.#'] + ['x' * 100] * 160),
        'garbage with two dots': 'a.b.c',
        'empty parts': '..',
        'header not JSON': 'bm90IGpzb24.e30.c2ln',
        'header a JSON list': f'{access_tokens.b64(b"[1]")}.e30.c2ln',
        'not ascii': f'{header}.{payload}.sig\u00e9',
        'four parts': good + '.x',
    }


def test_every_bad_token_is_refused_offline_with_401(make_verifier, backend, mint, issuer,
                                                    signing_keys, issue):
    server = backend(make_verifier())
    real = issue(['confd.users.nobody.read'])
    assert get(server, PROFILE, mint(scope='#')).status_code == 200
    assert_refused(get(server, PROFILE, real), 403, 'forbidden')  # a real token, verified
    bad = {**_bad_tokens(issuer, signing_keys.active(), mint), **_real_forgeries(real, issue())}
    for name, token in bad.items():
        body = assert_refused(get(server, PROFILE, token), 401, 'unauthorized')
        assert token not in str(body), name
        assert body['details']['reason'] == 'not_found_or_expired', name


def test_oversized_and_garbage_tokens_cost_no_key_fetch(make_verifier, backend, mint,
                                                       auth_server):
    server = backend(make_verifier())
    for token in (mint(acl=['x' * 100] * 170), 'a.b.c', 'x..y', 'eyJhbGciOiJub25lIn0.e30.e30'):
        assert_refused(get(server, PROFILE, token), 401, 'unauthorized')
    assert auth_server.requests == []
