"""The revocation feed of offline verifiers (GET /tokens/revoked): its ACL, its cursor
(never missing an entry whose transaction commits after a read), bad cursors, expired entries
left out and purged by the token cleaner."""
from __future__ import annotations

import datetime as dt

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from sqlalchemy import text

from tests.support.envelope import RequestsAdapter, assert_envelope
from tests.support.jwt_access import feed, register_jwt_client, revoked_jtis, unverified_claims
from wazo_like_auth.app import services_of

FEED_ACL = 'auth.tokens.revoked.read'


@pytest.fixture
def backend(api, admin_token):
    """A jwt client of the client credentials grant, and a way to get its tokens."""
    client = register_jwt_client(api, admin_token, 'backend', acl=['confd.users.read'])
    session = OAuth2Session('backend', client['client_secret'])

    def issue() -> tuple[str, str]:
        value = session.fetch_token(api.token_url(), grant_type='client_credentials')
        return value['access_token'], unverified_claims(value['access_token'])['jti']
    return issue


def revoke(api, value: str) -> None:
    assert api.session.delete(f'{api.url}/token/{value}', timeout=10).status_code == 200


@pytest.fixture
def verifier_token(api, admin_token, make_client):
    """A token of a verifier's client holding only the feed's ACL."""
    client = make_client('verifier', acl=[FEED_ACL])
    return OAuth2Session('verifier', client['client_secret']).fetch_token(
        api.token_url(), grant_type='client_credentials')['access_token']


def test_the_feed_lists_revoked_jwts_since_a_cursor(api, backend, verifier_token):
    first, first_jti = backend()
    second, second_jti = backend()
    revoke(api, first)
    start = feed(api, verifier_token)
    assert first_jti in {item['jti'] for item in start['items']}
    assert isinstance(start['cursor'], str) and start['cursor']

    revoke(api, second)
    later = feed(api, verifier_token, since=start['cursor'])

    assert {item['jti'] for item in later['items']} == {second_jti}
    assert revoked_jtis(api, verifier_token, since=later['cursor']) == set()
    assert {first_jti, second_jti} <= revoked_jtis(api, verifier_token)


def test_live_tokens_and_opaque_tokens_are_never_listed(api, backend, verifier_token,
                                                        make_client):
    live, live_jti = backend()
    opaque = make_client('plain', acl=['confd.users.read'])
    value = OAuth2Session('plain', opaque['client_secret']).fetch_token(
        api.token_url(), grant_type='client_credentials')['access_token']
    start = feed(api, verifier_token)

    revoke(api, value)

    assert live_jti not in {item['jti'] for item in start['items']}
    assert feed(api, verifier_token, since=start['cursor'])['items'] == []


def test_a_revocation_committed_after_a_read_is_in_the_next_answer(api, backend,
                                                                   verifier_token, engine):
    """A slow revocation began before a read and commits after it, while a quick one that
    began later is already listed: a cursor counting entries would skip the slow one (its
    entry is numbered below the quick one's); the transaction-id cursor does not."""
    slow_value, slow_jti = backend()
    quick_value, quick_jti = backend()
    with engine.connect() as slow:
        slow.execute(text('DELETE FROM auth_token WHERE jti = :jti'), {'jti': slow_jti})
        revoke(api, quick_value)
        read_meanwhile = feed(api, verifier_token)
        slow.commit()

    assert quick_jti in {item['jti'] for item in read_meanwhile['items']}
    assert slow_jti not in {item['jti'] for item in read_meanwhile['items']}
    assert slow_jti in revoked_jtis(api, verifier_token, since=read_meanwhile['cursor'])
    assert not api.is_valid(slow_value)


def test_the_feed_needs_its_acl(api, make_client, make_user):
    make_user('alice', 's3cret', acl=['auth.users.me.#'])
    user_token = api.login('alice', 's3cret')
    for headers in ({}, {'X-Auth-Token': user_token}, {'X-Auth-Token': 'not-a-token'}):
        response = requests.get(f'{api.url}/tokens/revoked', headers=headers, timeout=10)
        assert_envelope(RequestsAdapter(response), 401)


@pytest.mark.parametrize('since', ['', 'abc', '-1', '1.5', '9' * 18, '9' * 19, '9' * 40,
                                   '12 ', '\u0661\u0662'])
def test_a_cursor_the_feed_never_gave_is_400(api, verifier_token, since):
    response = api.session.get(f'{api.url}/tokens/revoked', params={'since': since},
                               headers={'X-Auth-Token': verifier_token}, timeout=10)

    body = assert_envelope(RequestsAdapter(response), 400)
    assert body['error_id'] == 'invalid-cursor'


def test_expired_entries_leave_the_feed_and_the_cleaner_purges_them(api, backend,
                                                                    verifier_token, engine,
                                                                    oauth_app):
    kept, kept_jti = backend()
    gone, gone_jti = backend()
    revoke(api, kept)
    revoke(api, gone)
    with engine.begin() as conn:  # as if the token had expired, past verifiers' leeway
        conn.execute(text("UPDATE auth_revoked_jti SET expires_at = now() - interval '301 s' "
                          'WHERE jti = :jti'), {'jti': gone_jti})

    listed = revoked_jtis(api, verifier_token)
    services_of(oauth_app).cleaner.purge()

    assert kept_jti in listed and gone_jti not in listed
    with engine.connect() as conn:
        left = set(conn.scalars(text('SELECT jti FROM auth_revoked_jti')))
    assert kept_jti in left and gone_jti not in left


def test_entries_expire_with_their_tokens(api, backend, verifier_token):
    value, jti = backend()
    exp = unverified_claims(value)['exp']
    revoke(api, value)

    entry = next(item for item in feed(api, verifier_token)['items'] if item['jti'] == jti)

    moment = dt.datetime.fromisoformat(entry['expires_at'])
    assert moment.utcoffset() == dt.timedelta(0) and int(moment.timestamp()) == exp


def test_the_purge_of_expired_tokens_lists_nothing(api, backend, verifier_token, engine,
                                                   oauth_app):
    value, jti = backend()
    start = feed(api, verifier_token)
    with engine.begin() as conn:
        conn.execute(text("UPDATE auth_token SET expires_at = now() - interval '1 s' "
                          'WHERE jti = :jti'), {'jti': jti})

    services_of(oauth_app).cleaner.purge()

    assert jti not in revoked_jtis(api, verifier_token, since=start['cursor'])
