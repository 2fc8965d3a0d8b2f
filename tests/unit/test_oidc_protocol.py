"""The protocol rules of OpenID Connect, free of HTTP and SQL: PKCE, authorization request
validation, ID-token claims, issuer URLs."""
from __future__ import annotations

import pytest

from wazo_like_auth.oidc import authorize, id_token, pkce, realms
from wazo_like_auth.oidc.errors import AuthorizeError, InvalidTarget

CLIENT = authorize.Registration(
    client_id='app', name='App', public=True, redirect_uris=('https://a.test/cb',),
    grant_types=('authorization_code',), require_consent=False)
GOOD = {'client_id': 'app', 'redirect_uri': 'https://a.test/cb', 'response_type': 'code',
        'code_challenge': pkce.s256('x' * 43), 'code_challenge_method': 'S256'}


def test_pkce_s256_matches_rfc_7636_appendix_b():
    verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'
    assert pkce.s256(verifier) == 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
    assert pkce.verifies(verifier, 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM')
    assert not pkce.verifies(verifier[:-1] + 'l', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM')
    assert not pkce.verifies('short', pkce.s256('short'))


@pytest.mark.parametrize('challenge, method, refused', [
    ('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', 'S256', False),
    ('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', 'plain', True),
    ('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', None, True),  # plain by default
    ('not-a-digest', 'S256', True), (None, 'S256', True), (None, None, False)])
def test_only_s256_challenges_are_accepted(challenge, method, refused):
    assert (pkce.challenge_error(challenge, method) is not None) == refused


@pytest.mark.parametrize('redirect_uri', ['https://a.test/cb/', 'https://A.test/cb',
                                          'https://a.test:443/cb', 'https://a.test/cb?x=1'])
def test_redirect_uri_must_match_exactly(redirect_uri):
    with pytest.raises(InvalidTarget):
        authorize.check_target({**GOOD, 'redirect_uri': redirect_uri}, CLIENT)


@pytest.mark.parametrize('registered, given, accepted', [
    ('http://127.0.0.1/cb', 'http://127.0.0.1:51004/cb', True),  # the port the app got
    ('http://127.0.0.1:8000/cb', 'http://127.0.0.1:9/cb', True),
    ('http://[::1]/cb?app=cli', 'http://[::1]:61000/cb?app=cli', True),
    ('http://127.0.0.1', 'http://127.0.0.1:4000', True),
    ('http://127.0.0.1/cb', 'http://127.0.0.1:51004/cb/', False),  # the rest stays exact
    ('http://127.0.0.1/cb', 'http://127.0.0.1:51004/CB', False),
    ('http://127.0.0.1/cb', 'http://127.0.0.1:51004@evil.test/cb', False),
    ('http://127.0.0.1/cb', 'http://127.0.0.1.evil.test:80/cb', False),
    ('http://localhost/cb', 'http://localhost:51004/cb', False),  # RFC 8252 §8.3
    ('https://127.0.0.1/cb', 'https://127.0.0.1:51004/cb', False),
    ('http://127.0.0.1/cb', 'http://127.0.0.2:51004/cb', False)])
def test_a_loopback_redirect_uri_may_name_any_port(registered, given, accepted):
    client = authorize.Registration(
        client_id='cli', name='CLI', public=True, redirect_uris=(registered,),
        grant_types=('authorization_code',), require_consent=False)
    params = {**GOOD, 'client_id': 'cli', 'redirect_uri': given}
    if accepted:
        assert authorize.check_target(params, client) == given
    else:
        with pytest.raises(InvalidTarget):
            authorize.check_target(params, client)


def test_public_client_needs_pkce_and_unknown_scopes_are_ignored():
    with pytest.raises(AuthorizeError):
        authorize.parse({**GOOD, 'code_challenge': ''}, CLIENT)
    parsed = authorize.parse({**GOOD, 'scope': 'openid roles email openid'}, CLIENT)
    assert parsed.scope == ('openid', 'email')


def test_offline_access_needs_the_refresh_token_grant():
    with pytest.raises(AuthorizeError) as refused:
        authorize.parse({**GOOD, 'scope': 'openid offline_access'}, CLIENT)
    assert refused.value.error == 'invalid_scope'


def test_profile_claims_follow_the_scopes():
    profile = id_token.Profile(sub='u', username='alice', firstname='Alice', lastname='Doe',
                               email='a@x.test', email_verified=True)
    assert profile.claims(['openid']) == {'sub': 'u'}
    assert profile.claims(['profile']) == {'sub': 'u', 'name': 'Alice Doe',
                                           'given_name': 'Alice', 'family_name': 'Doe',
                                           'preferred_username': 'alice'}
    assert profile.claims(['email']) == {'sub': 'u', 'email': 'a@x.test',
                                         'email_verified': True}


@pytest.mark.parametrize('alg', ['RS256', 'ES256'])
def test_at_hash_agrees_with_authlib(alg):
    from authlib.oidc.core.util import create_half_hash
    token = '1b6a0b1c-2d3e-4f50-8a9b-0c1d2e3f4a5b'
    assert id_token.at_hash(token, alg) == create_half_hash(token, alg).decode()


@pytest.mark.parametrize('public_url, base', [
    (None, 'http://h:9497'), ('https://a.test/api/auth/0.1', 'https://a.test'),
    ('https://a.test/auth/api/auth/0.1', 'https://a.test/auth'), ('https://a.test', 'https://a.test')])
def test_realms_live_at_the_public_base(public_url, base):
    assert realms.public_base(public_url, 'http://h:9497/') == base


@pytest.mark.parametrize('item, key', [
    ({'grant_types': ['authorization_code']}, 'redirect_uris'),
    ({'redirect_uris': ['/relative']}, 'redirect_uris'),
    ({'redirect_uris': ['https://a.test/cb#frag']}, 'redirect_uris'),
    ({'redirect_uris': ['https://a.test/a b']}, 'redirect_uris'),
    ({'post_logout_redirect_uris': 'https://a.test/'}, 'post_logout_redirect_uris'),
    ({'require_consent': 'yes'}, 'require_consent')])
def test_declared_clients_need_valid_redirect_uris(item, key):
    from wazo_like_auth.oauth2.settings import validate_clients
    with pytest.raises(ValueError, match=key):
        validate_clients([{'client_id': 'app', 'public': True, **item}])


def test_declared_client_of_the_code_flow_is_normalised():
    from wazo_like_auth.oauth2.settings import validate_clients
    [client] = validate_clients([{'client_id': 'app', 'public': True,
                                  'grant_types': ['authorization_code'],
                                  'redirect_uris': ['com.example.app:/cb']}])
    assert client['redirect_uris'] == ['com.example.app:/cb']
    assert client['post_logout_redirect_uris'] == [] and client['require_consent'] is False
