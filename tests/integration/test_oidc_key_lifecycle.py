"""Signing keys as relying parties and resource servers see them, over HTTP: a rotated key is
published before it signs, so a verifier holding the ``certs`` it fetched just before the
rotation accepts every token until its copy expires, on every node; ``keys retire`` (the CLI
an operator runs on a leak) takes a key off ``certs`` and out of signing at once, and every
token it signed stops working wherever the service itself checks one."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
import requests
from sqlalchemy import text
from authlib.integrations.requests_client import OAuth2Session

from tests.integration.test_oidc_flow import discover, sign_in_with_authlib
from tests.support.apps import running_app
from tests.support.clock import ManualClock
from tests.support.jwt_access import decoded, introspect, revoked_jtis
from tests.support.jwt_verifier import (auth_server, issue, issuer, make_verifier,  # noqa: F401
                                        mono, status)
from tests.support.live_server import LiveServer
from tests.support.oidc import REDIRECT, realm, register_client  # noqa: F401
from tests.support.polling import wait_until
from wazo_like_auth.app import services_of
from wazo_like_auth.cli import main
from wazo_like_auth.exceptions import SigningKeyRetired
from wazo_like_auth.models import User
from wazo_like_auth.services.access_tokens import JwtFormat
from wazo_like_auth.services.login_requests import LoginRequest
from wazo_like_auth.oidc.keys import CERTS_MAX_AGE

CERTS = '/api/auth/0.1/oauth2/certs'


def kids(server_url: str) -> list[str]:
    return [key['kid'] for key in requests.get(server_url + CERTS, timeout=10).json()['keys']]


def kid_of(server_url: str, token: str) -> str:
    """The kid of ``token``, its signature verified (joserfc) against ``certs``."""
    return decoded(server_url + CERTS, token)[0]['kid']


def test_a_verifier_holding_the_certs_of_before_a_rotation_accepts_every_token(
        make_verifier, issue, auth_server, clock, mono, keys_cli):
    # A verifier (or an HTTP cache) that keeps the set it fetched for the max-age of certs.
    verifier = make_verifier(min_refetch_interval=CERTS_MAX_AGE,
                             wall_clock=lambda: clock().timestamp())
    before = issue()
    assert status(verifier, before) == 200
    old = kid_of(auth_server.url, before)

    assert keys_cli('rotate').code == 0  # no clock here: the CLI's clock is the real time

    new = [kid for kid in kids(auth_server.url) if kid != old]
    assert len(new) == 1  # published at once
    during = issue()
    assert kid_of(auth_server.url, during) == old  # not signing yet
    assert status(verifier, during) == 200
    clock.advance(CERTS_MAX_AGE)
    after = issue()
    assert kid_of(auth_server.url, after) == new[0]
    mono.now += CERTS_MAX_AGE  # its copy of certs expired: fetched again
    assert status(verifier, after) == 200 and status(verifier, before) == 200


def test_another_node_signs_with_the_key_a_rotation_added_only_after_the_delay(
        oauth_config, engine, api, admin_token, keys_cli):
    node_b_clock = ManualClock()
    with running_app(oauth_config, engine, clock=node_b_clock) as node_b, \
            LiveServer(node_b) as b:
        jwt_client = register_jwt(api, admin_token)
        first = token_from(b.url, jwt_client)
        old = kid_of(b.url, first)

        assert keys_cli('rotate').code == 0  # on another machine: node A is the CLI here

        new = [kid for kid in kids(b.url) if kid != old][0]
        node_b_clock.advance(CERTS_MAX_AGE - 2)
        assert kid_of(b.url, token_from(b.url, jwt_client)) == old
        node_b_clock.advance(3)
        assert kid_of(b.url, token_from(b.url, jwt_client)) == new
        assert kid_of(api.base, token_from(api.base, jwt_client)) == old  # A's clock: not yet


def register_jwt(api, admin_token) -> dict:
    response = api.admin('POST', '/clients', admin_token, json={
        'client_id': 'jwt-machine', 'access_token_format': 'jwt',
        'grant_types': ['client_credentials'], 'acl': ['confd.x']})
    assert response.status_code == 200, response.text
    return response.json()


def token_from(base: str, client: dict) -> str:
    session = OAuth2Session(client['client_id'], client['client_secret'],
                            token_endpoint_auth_method='client_secret_post')
    return session.fetch_token(f'{base}/api/auth/0.1/oauth2/token',
                               grant_type='client_credentials')['access_token']


@dataclass
class Ran:
    code: int
    out: str
    err: str


@pytest.fixture
def keys_cli(tmp_path, oauth_config, db_uri, capsys):
    """``wazo-like-auth keys ...`` as an operator runs it: the service's database and
    token_secret, its own process state (no clock of the tests: the real time)."""
    path = tmp_path / 'cli.yml'
    path.write_text(f'state_dir: {tmp_path}/cli-state\n'
                    f'token_secret: {oauth_config["token_secret"]}\n')

    def run(*command: str) -> Ran:
        capsys.readouterr()
        code = main(['keys', *command, '--config', str(path), '--db-uri', db_uri])
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)
    return run


@pytest.fixture
def signed_in(api, admin_token, make_user, make_client, realm):
    """alice signed in at realm acme through the code flow of a ``jwt`` client (authlib as
    the relying party): her token response (a JWT access token, an ID token, a refresh
    token), the browser, the discovery document, a client allowed to introspect."""
    make_user('alice', 's3cret', tenant_uuid=realm['uuid'], acl=['confd.users.me.read'])
    client = register_client(api, admin_token, realm['uuid'], access_token_format='jwt')
    metadata = discover(f'{api.base}/realms/acme')
    rp = OAuth2Session(client['client_id'], client['client_secret'], redirect_uri=REDIRECT,
                       scope='openid profile offline_access',
                       code_challenge_method='S256')
    browser = requests.Session()
    token, _ = sign_in_with_authlib(api, rp, metadata, browser)
    return {'token': token, 'browser': browser, 'metadata': metadata, 'rp': rp,
            'inspector': make_client('inspector')}


def test_keys_retire_of_a_leaked_signing_key_refuses_its_tokens_everywhere(
        api, admin_token, signed_in, make_verifier, keys_cli, oauth_app, issue):
    token, metadata = signed_in['token'], signed_in['metadata']
    access = token['access_token']
    machine = issue()  # a client's JWT (client credentials), by the same key
    cache = services_of(oauth_app).validation_cache
    assert wait_until(lambda: cache.enabled)
    hits = cache.hits
    assert api.is_valid(access)
    # The check is answered from the cache (retiring must evict it): a later check is a hit.
    assert wait_until(lambda: api.is_valid(access) and cache.hits > hits)
    leaked = kid_of(api.base, token['id_token'])
    assert kid_of(api.base, access) == leaked
    verifier = make_verifier(issuer=metadata['issuer'], audience=metadata['issuer'])
    assert status(verifier, access, 'confd.users.me.read') == 200
    jti = decoded(metadata['jwks_uri'], access)[1]['jti']

    ran = keys_cli('retire', leaked)

    assert ran.code == 0, ran.err
    assert f'{leaked} retired' in ran.out and '2 access tokens' in ran.out
    assert leaked not in kids(api.base) and len(kids(api.base)) == 1
    assert not api.is_valid(machine)
    # The service's cache learns of the CLI's revocation through PostgreSQL's NOTIFY, as
    # from another node: within milliseconds, not before the CLI returns.
    assert wait_until(lambda: not api.is_valid(access), timeout=5)
    inspector = signed_in['inspector']
    assert introspect(api, 'inspector', inspector['client_secret'], access) == {
        'active': False}
    assert requests.get(metadata['userinfo_endpoint'], timeout=10, headers={
        'Authorization': f'Bearer {access}'}).status_code == 401
    assert jti in revoked_jtis(api, admin_token)  # offline verifiers learn it from the feed
    assert status(make_verifier(issuer=metadata['issuer'], audience=metadata['issuer']),
                  access, 'confd.users.me.read') == 401  # fresh certs: the key is unknown
    # The ID token no longer proves who asks to sign out: the page asks.
    page = signed_in['browser'].get(metadata['end_session_endpoint'], timeout=10,
                                    allow_redirects=False,
                                    params={'id_token_hint': token['id_token']})
    assert page.status_code == 200 and 'Sign out?' in page.text
    # The relying party refreshes: new tokens, signed by the key that took over.
    refreshed = signed_in['rp'].refresh_token(metadata['token_endpoint'],
                                              refresh_token=token['refresh_token'])
    successor = kid_of(api.base, refreshed['id_token'])
    assert successor != leaked and kid_of(api.base, refreshed['access_token']) == successor
    assert api.is_valid(refreshed['access_token'])


def test_keys_list_shows_each_key_and_when_it_signs(api, keys_cli, clock):
    requests.get(api.base + CERTS, timeout=10)  # the first key, made on first use
    ran = keys_cli('rotate', '--algorithm', 'ES256')
    assert ran.code == 0 and 'signs from 20' in ran.out and 'Z, once caches' in ran.out
    new = ran.out.split()[2]

    listed = keys_cli('list')

    lines = listed.out.splitlines()
    assert listed.code == 0 and len(lines) == 2
    assert lines[0].startswith(f'{new}  ES256  created 20')
    assert 'published-next, signs from 20' in lines[0]
    assert lines[1].endswith('  signing')
    urgent = keys_cli('rotate', '--now')
    assert urgent.code == 0 and 'it signs from now on' in urgent.out
    states = [line.split('  ')[-1] for line in keys_cli('list').out.splitlines()]
    assert states[0] == 'signing' and states[1].startswith('retiring until 20')
    assert len(states) == 2  # the key waiting its turn signed nothing: gone


def test_keys_retire_of_an_unknown_kid_is_one_line_and_fails(api, keys_cli):
    requests.get(api.base + CERTS, timeout=10)
    ran = keys_cli('retire', 'no-such-kid')
    assert ran.code != 0 and ran.out == ''
    assert ran.err == 'wazo-like-auth: no published signing key no-such-kid\n'
    assert len(kids(api.base)) == 1


def test_a_jwt_whose_key_is_retired_while_it_is_issued_is_not_recorded(
        oauth_app, make_user, sessions, engine):
    # A node read the signing key; the operator's retire commits before its token insert.
    services = services_of(oauth_app)
    alice = make_user('alice')
    key = services.oidc.signing_keys.active()
    request = LoginRequest(login='alice', token_format=JwtFormat(
        issuer='https://idp.example.com', audience=('confd',), client_id='webapp', key=key))
    services.oidc.signing_keys.retire(key.kid)

    with pytest.raises(SigningKeyRetired), sessions.begin() as db:
        services.token_service.issue(db, db.get(User, alice), request, 'alice')

    with engine.connect() as conn:
        tokens = conn.execute(text('SELECT count(*) FROM auth_token WHERE auth_id = :a'),
                              {'a': str(alice)}).scalar()
    assert tokens == 0


@pytest.fixture
def kept_key(oauth_config, engine, issue, auth_server, clock):
    """A JWT signed by a key that is past its retirement but not the token's expiry: the
    operator lowered default_token_lifetime, and the node rotating with the new setting
    retired the old key sooner than the tokens it signed under the old one expire. Yields
    (token, its kid, that node's signing keys)."""
    token = issue()
    old = kid_of(auth_server.url, token)
    shorter = {**oauth_config, 'default_token_lifetime': 60}
    with running_app(shorter, engine, clock=clock) as node:
        keys = services_of(node).oidc.signing_keys
        keys.rotate(now=True)
        clock.advance(600)  # past the old key's retirement (60 s + 60 s), not the token's
        yield token, old, keys


def test_a_retired_key_stays_published_while_a_token_it_signed_is_valid(
        kept_key, api, auth_server, clock, make_verifier, mono):
    token, old, keys = kept_key
    keys.rotate(now=True)  # and purges the keys no valid token needs

    assert old in kids(auth_server.url)
    assert api.is_valid(token)
    verifier = make_verifier(wall_clock=lambda: clock().timestamp())
    assert status(verifier, token) == 200
    assert [(key.state, key.retire_at) for key in keys.states()
            if key.kid == old] == [('retiring', None)]  # CLI: until its last token expires

    clock.advance(7200)  # the token has expired: nothing needs the key any more
    keys.rotate(now=True)
    assert old not in kids(auth_server.url)


def test_a_key_kept_for_a_longer_lived_token_can_still_be_retired(kept_key, api, auth_server):
    token, old, keys = kept_key
    assert old in kids(auth_server.url)

    retired = keys.retire(old)  # it leaked

    assert retired.tokens == 1 and old not in kids(auth_server.url)
    assert not api.is_valid(token)


@pytest.mark.parametrize('garbage', ['\udcff\udcfe', 'a\x00b', 'x' * 5000, '%', "k' OR ''='"])
def test_keys_retire_of_a_garbage_kid_is_one_line_and_fails(api, keys_cli, garbage):
    # '\udcff\udcfe': bytes that are not UTF-8 on the command line, as Python decodes them.
    requests.get(api.base + CERTS, timeout=10)
    ran = keys_cli('retire', garbage)
    assert ran.code == 1 and ran.out == ''
    assert ran.err.startswith('wazo-like-auth: no published signing key ')
    assert ran.err.count('\n') == 1 and len(kids(api.base)) == 1


@pytest.mark.parametrize('kid', ['-Ab3_x', '--Ab3_x'])
def test_keys_retire_takes_a_kid_beginning_with_a_dash(api, keys_cli, kid):
    # A kid is base64url (RFC 7638 thumbprint): 1 in 64 begins with '-', which argparse took
    # for an option ("the following arguments are required: kid", exit 2).
    requests.get(api.base + CERTS, timeout=10)
    ran = keys_cli('retire', kid)
    assert ran.code == 1 and ran.err == f'wazo-like-auth: no published signing key {kid}\n'


def test_keys_rotate_without_the_service_token_secret_is_one_line_and_fails(
        api, tmp_path, db_uri, capsys):
    signing = kids(api.base)  # the first key, under the service's token_secret
    path = tmp_path / 'elsewhere.yml'  # no token_secret: one of its own state_dir's
    path.write_text(f'state_dir: {tmp_path}/elsewhere\n')
    capsys.readouterr()

    code = main(['keys', 'rotate', '--config', str(path), '--db-uri', db_uri])

    out, err = capsys.readouterr()
    *logged, last = err.splitlines()
    assert code == 1 and out == '' and len(logged) <= 1  # the log's warning, once
    assert last.startswith(f'wazo-like-auth: signing key {signing[0]} does not decrypt with '
                           'this token_secret: run keys with the service')
    assert kids(api.base) == signing


def _elsewhere(tmp_path) -> str:
    path = tmp_path / 'elsewhere.yml'  # no token_secret: one of its own state_dir's
    path.write_text(f'state_dir: {tmp_path}/elsewhere\n')
    return str(path)


def test_keys_retire_of_the_signing_key_run_elsewhere_hands_over_to_the_waiting_one(
        api, admin_token, keys_cli, tmp_path, db_uri, capsys):
    # Run with another token_secret than the service's (a leak handled from another
    # machine), it skipped the waiting key it could not read, made a key the service could
    # not read either, and deleted the waiting one: the service then made an unannounced key.
    client = register_jwt(api, admin_token)
    leaked = kid_of(api.base, token_from(api.base, client))
    assert keys_cli('rotate').code == 0
    [waiting] = [kid for kid in kids(api.base) if kid != leaked]
    capsys.readouterr()

    code = main(['keys', 'retire', leaked, '--config', _elsewhere(tmp_path), '--db-uri', db_uri])

    out = capsys.readouterr().out
    assert code == 0 and f'signing key {waiting}' in out, out
    assert kids(api.base) == [waiting]
    assert kid_of(api.base, token_from(api.base, client)) == waiting


def test_keys_retire_of_the_only_key_run_elsewhere_leaves_the_next_key_to_the_service(
        api, admin_token, tmp_path, db_uri, capsys):
    client = register_jwt(api, admin_token)
    leaked = kid_of(api.base, token_from(api.base, client))
    capsys.readouterr()

    assert main(['keys', 'retire', leaked, '--config', _elsewhere(tmp_path),
                 '--db-uri', db_uri]) == 0

    fresh = kid_of(api.base, token_from(api.base, client))  # the service makes its own
    # ...and no other: none was made under a secret the service does not have.
    assert fresh != leaked and kids(api.base) == [fresh]
