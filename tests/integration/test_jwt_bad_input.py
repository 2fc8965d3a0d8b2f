"""Bad JWTs through the HTTP API: ``alg: none``, a wrong ``kid``, HS256 signed with the public
key as secret, a valid signature from a retired key, expired and not-yet-valid tokens, a revoked
``jti``, tampered payloads and signatures, oversized values and garbage with two dots. Each is
an unknown token: 404 on the check and the scopes check, ``active: false`` on introspection,
401 on protected endpoints; never a 500."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from authlib.integrations.requests_client import OAuth2Session
from cryptography.hazmat.primitives import serialization
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import text

from tests.support.jwt_access import introspect, register_jwt_client, unverified_claims
from wazo_like_auth.app import services_of

SCOPE = 'confd.users.read'


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def segment(document: dict) -> str:
    return b64(json.dumps(document).encode())


@pytest.fixture
def issued(api, admin_token, make_client):
    """A JWT of client billing (client credentials), its claims, the service's signing key,
    and a client that introspects."""
    billing = register_jwt_client(api, admin_token, 'billing', acl=[SCOPE])
    session = OAuth2Session('billing', billing['client_secret'])
    value = session.fetch_token(api.token_url(), grant_type='client_credentials')
    inspector = make_client('inspector')
    return {'value': value['access_token'], 'claims': unverified_claims(value['access_token']),
            'auth': ('billing', billing['client_secret']),
            'inspector': inspector['client_secret']}


@pytest.fixture
def keys(oauth_app):
    return services_of(oauth_app).oidc.signing_keys


def signed_with(key, kid: str, claims: dict, alg: str = 'RS256') -> str:
    return jwt.encode({'typ': 'at+jwt', 'alg': alg, 'kid': kid}, claims, key,
                      algorithms=[alg])


def alg_none(issued, keys) -> str:
    header = {'typ': 'at+jwt', 'alg': 'none', 'kid': keys.active().kid}
    return f"{segment(header)}.{segment(issued['claims'])}."


def alg_none_with_a_signature(issued, keys) -> str:
    return alg_none(issued, keys) + issued['value'].rsplit('.', 1)[1]


def wrong_kid(issued, keys) -> str:
    return signed_with(RSAKey.generate_key(2048), 'not-one-of-ours', issued['claims'])


def hs256_with_the_public_key_as_secret(issued, keys) -> str:
    active = keys.active()
    public = active.key.get_op_key('verify').public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{segment({'typ': 'at+jwt', 'alg': 'HS256', 'kid': active.kid})}." \
                    f"{segment(issued['claims'])}"
    mac = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    return f'{signing_input}.{b64(mac)}'


def signed_by_a_retired_key(issued, keys) -> str:
    old = keys.active()
    keys.rotate()
    return signed_with(old.key, old.kid, {**issued['claims'], 'scope': '#'})


def forged_expired(issued, keys) -> str:
    now = int(time.time())
    active = keys.active()
    return signed_with(active.key, active.kid,
                       {**issued['claims'], 'iat': now - 7200, 'exp': now - 60})


def forged_not_yet_valid(issued, keys) -> str:
    now = int(time.time())
    active = keys.active()
    return signed_with(active.key, active.kid, {**issued['claims'], 'nbf': now + 3600,
                                                'iat': now + 3600, 'exp': now + 7200})


def tampered_payload(issued, keys) -> str:
    header, _, signature = issued['value'].split('.')
    return f"{header}.{segment({**issued['claims'], 'scope': '#'})}.{signature}"


def tampered_signature(issued, keys) -> str:
    value = issued['value']
    return value[:-2] + ('AA' if value[-2:] != 'AA' else 'BB')


def resigned_by_us_with_another_jti(issued, keys) -> str:
    active = keys.active()
    return signed_with(active.key, active.kid, {**issued['claims'], 'jti': 'x' * 22})


FORGERIES = [alg_none, alg_none_with_a_signature, wrong_kid,
             hs256_with_the_public_key_as_secret, signed_by_a_retired_key, forged_expired,
             forged_not_yet_valid, tampered_payload, tampered_signature,
             resigned_by_us_with_another_jti]
GARBAGE = ['a.b.c', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln', 'eyJ.eyJ.eyJ', '..', 'a..b',
           '.a.b', 'a.b.c.d', 'not base64!.x.y', 'x' * 100 + '.' + 'y' * 100 + '.' + 'z' * 100]


def assert_unknown_everywhere(api, issued, value: str, in_path: bool = True) -> None:
    if in_path:
        for method in ('HEAD', 'GET'):
            response = api.session.request(method, f'{api.url}/token/{value}',
                                           params={'scope': SCOPE}, timeout=10)
            assert response.status_code == 404, (method, response.status_code)
        scopes = api.session.post(f'{api.url}/token/{value}/scopes/check', timeout=10,
                                  json={'scopes': [SCOPE]})
        assert scopes.status_code == 404
    assert introspect(api, 'inspector', issued['inspector'], value) == {'active': False}
    for header in ({'X-Auth-Token': value}, {'Authorization': f'Bearer {value}'}):
        response = api.session.get(f'{api.url}/users', headers=header, timeout=10)
        assert response.status_code == 401, response.text
        assert response.json()['error_id'] == 'unauthorized'  # as for any unknown token


@pytest.mark.parametrize('forge', FORGERIES)
def test_a_forged_jwt_is_an_unknown_token(api, issued, keys, forge):
    forged = forge(issued, keys)
    assert forged != issued['value']

    assert_unknown_everywhere(api, issued, forged)

    assert api.is_valid(issued['value'], scope=SCOPE)  # the genuine token is unaffected


@pytest.mark.parametrize('value', GARBAGE)
def test_garbage_with_two_dots_is_an_unknown_token(api, issued, value):
    assert_unknown_everywhere(api, issued, value)


def test_a_revoked_jti_is_an_unknown_token(api, issued):
    revoked = api.post_form('/oauth2/revoke', {'token': issued['value']},
                            auth=issued['auth'])
    assert revoked.status_code == 200

    assert_unknown_everywhere(api, issued, issued['value'])


def test_a_jwt_whose_row_expired_is_an_unknown_token(api, issued, engine):
    with engine.begin() as conn:
        conn.execute(text("UPDATE auth_token SET expires_at = now() - interval '1 second' "
                          'WHERE jti = :jti'), {'jti': issued['claims']['jti']})

    assert_unknown_everywhere(api, issued, issued['value'])


def test_a_token_signed_by_a_key_retired_since_still_works_until_it_is_revoked(api, issued,
                                                                                 keys):
    keys.rotate()
    assert api.is_valid(issued['value'], scope=SCOPE)
    api.post_form('/oauth2/revoke', {'token': issued['value']}, auth=issued['auth'])
    assert not api.is_valid(issued['value'])


@pytest.mark.parametrize('length', [16 * 1024, 20 * 1024])  # under the 32 KiB head limit
def test_an_oversized_token_is_unknown_in_headers_and_bodies_and_too_long_in_paths(
        api, issued, length):
    value = 'eyJ' + 'A' * (length - 9) + '.eA.eA'
    assert len(value) == length

    assert_unknown_everywhere(api, issued, value, in_path=False)
    # In a path it makes the request target longer than 16 KiB: 414 in the envelope.
    response = api.session.head(f'{api.url}/token/{value}', timeout=10)
    assert response.status_code == 414
    scopes = api.session.post(f'{api.url}/token/{value}/scopes/check', timeout=10,
                              json={'scopes': [SCOPE]})
    assert scopes.status_code == 414 and scopes.json()['error_id'] == 'uri-too-long'


def test_a_jwt_just_under_16_kib_is_an_unknown_token_in_a_path(api, issued):
    value = 'eyJ' + 'A' * (16 * 1024 - 100) + '.eA.eA'

    assert_unknown_everywhere(api, issued, value)
