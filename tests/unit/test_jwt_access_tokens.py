"""The pure parts of JWT access tokens: the shape a token path or header may have, log
redaction, the RFC 9068 claims, and the client settings of the configuration."""
from __future__ import annotations

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from wazo_like_auth import tokens
from wazo_like_auth.oauth2 import jwt_access_tokens as rfc9068
from wazo_like_auth.oauth2.settings import validate_clients

JWT = 'eyJ0eXAiOiJhdCtqd3QifQ.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXBhcnQ'


def test_a_jwt_shaped_value_is_kept_exactly():
    assert tokens.normalize(JWT) == JWT
    assert tokens.normalize(JWT.swapcase()) == JWT.swapcase()  # case-sensitive, unlike UUIDs
    assert tokens.is_jwt(JWT) and not tokens.is_jwt(tokens.new_token())
    assert tokens.normalize_opaque(JWT) is None


@pytest.mark.parametrize('value', [
    'a.b', 'a.b.c.d', '.b.c', 'a..c', 'a.b.', '..', 'a b.c.d', 'a+b.c.d', 'a/b.c.d',
    'a=.b.c', 'ä.b.c', 'a.b.c\n', 'eyJ' + 'A' * (16 * 1024) + '.a.b',
])
def test_what_is_neither_a_uuid_nor_a_compact_jws_is_not_a_token(value):
    assert tokens.normalize(value) is None


def test_the_largest_jwt_is_just_under_16_kib():
    largest = 'e' * (16 * 1024 - 5) + '.a.b'
    assert tokens.normalize(largest) == largest
    assert tokens.normalize(largest + 'b') is None


def test_jwts_are_redacted_in_log_lines():
    line = f'HEAD /0.1/token/{JWT}?scope=x HTTP/1.1 from 127.0.0.1'
    redacted = tokens.redact_all(line)
    assert JWT not in redacted and JWT[:20] not in redacted
    assert redacted == f'HEAD /0.1/token/{tokens.redact(JWT)}?scope=x HTTP/1.1 from 127.0.0.1'


def content(**changes) -> rfc9068.AccessTokenContent:
    values = dict(issuer='https://auth.example.com/realms/acme', subject='alice-uuid',
                  audience=('https://auth.example.com/realms/acme',), client_id='webapp',
                  issued_at=1000, expires_at=8200, jti='j' * 22,
                  acl=('confd.users.me.read', 'auth.users.me.#'), tenant_uuid='t-uuid',
                  session_uuid='s-uuid')
    return rfc9068.AccessTokenContent(**{**values, **changes})


def test_claims_of_rfc_9068():
    claims = content().claims()
    assert claims == {'iss': 'https://auth.example.com/realms/acme', 'sub': 'alice-uuid',
                      'aud': 'https://auth.example.com/realms/acme', 'client_id': 'webapp',
                      'exp': 8200, 'iat': 1000, 'jti': 'j' * 22,
                      'scope': 'confd.users.me.read auth.users.me.#',
                      'tenant_uuid': 't-uuid', 'session_uuid': 's-uuid'}


@pytest.mark.parametrize('changes, acl', [
    ({'acl': ('a.b', 'has "quote"')}, ['a.b', 'has "quote"']),  # not a scope token
    ({'acl': ('a.b', 'a.b')}, ['a.b', 'a.b']),  # duplicates fold in the scope
    ({'extra_scope': ('openid',)}, ['confd.users.me.read', 'auth.users.me.#']),
    ({'acl': ()}, None),
])
def test_the_acl_claim_comes_when_the_scope_does_not_say_the_same(changes, acl):
    assert content(**changes).claims().get('acl') == acl


def test_several_audiences_are_a_list():
    assert content(audience=('a', 'b')).claims()['aud'] == ['a', 'b']


def test_signed_header_is_an_access_token_header():
    key = RSAKey.generate_key(2048)
    value = rfc9068.sign(content(), key, 'kid-1', 'RS256')
    decoded = jwt.decode(value, key, algorithms=['RS256'])
    assert decoded.header == {'typ': 'at+jwt', 'alg': 'RS256', 'kid': 'kid-1'}
    assert decoded.claims == content().claims()


def test_jtis_are_random():
    assert len({rfc9068.new_jti() for _ in range(100)}) == 100
    assert len(rfc9068.new_jti()) == 22


@pytest.mark.parametrize('value, error', [
    ('api', None), (['a', 'b'], None), ([], None), ('', 'printable'), ([''], 'printable'),
    (['a\x00'], 'printable'), ('x' * 2049, 'printable'), (['x'] * 21, 'at most 20'),
    (42, 'string'), ([1], 'string'), ({'a': 'b'}, 'string'), (None, 'string'),
])
def test_audience_values(value, error):
    found = rfc9068.audience_error(value)
    assert (found is None) if error is None else (error in found)


def test_configured_clients_take_a_format_and_an_audience():
    [item] = validate_clients([{'client_id': 'x', 'public': True,
                                'access_token_format': 'jwt', 'access_token_audience': 'api'}])
    assert (item['access_token_format'], item['access_token_audience']) == ('jwt', ['api'])
    [default] = validate_clients([{'client_id': 'y', 'public': True}])
    assert (default['access_token_format'], default['access_token_audience']) == ('opaque', [])
