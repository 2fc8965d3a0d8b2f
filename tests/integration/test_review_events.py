"""Review of the bus events and the audit trail (outbox triggers, publisher, GET /events):
each test a defect found, fixed since."""
from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid

import pytest

from tests.support.admin_client import AdminClient, token_of
from tests.support.audit import events
from tests.support.offline_access import PASSWORD
from wazo_like_auth.repositories import tokens as token_repo


@pytest.fixture
def sub_admin(client, make_user, login, child):
    """A full-access administrator of a sub-tenant of the top tenant."""
    make_user('sub-admin', acl=['#'], tenant_uuid=child)
    return AdminClient(client, token_of(login, 'sub-admin'))


def test_a_tenant_recreated_with_a_deleted_tenants_uuid_does_not_inherit_its_trail(
        admin, sub_admin, login, child):
    # POST /tenants takes the uuid of the tenant to create (as wazo-auth): once a tenant is
    # deleted, an administrator of another branch may create one with its uuid.
    gone = admin.ok('POST', '/tenants', json={'name': 'former'})['uuid']
    admin.ok('POST', '/users', tenant=gone, json={'username': 'former-user',
                                                  'password': PASSWORD})
    assert login('former-user', PASSWORD).status_code == 200
    admin.ok('DELETE', f'/tenants/{gone}', 204)

    sub_admin.ok('POST', '/tenants', json={'name': 'reborn', 'uuid': gone})
    seen = events(sub_admin, recurse='true', limit=1000)

    assert 'former-user' not in json.dumps(seen)  # nothing of the deleted tenant's life
    reborn = [e for e in seen if e['tenant_uuid'] == gone]
    assert reborn[0]['name'] == 'auth_tenant_added' and reborn[0]['data']['name'] == 'reborn'
    assert 'auth_tenant_deleted' not in {e['name'] for e in reborn}
    # The top tenant's callers still see the whole history, the deleted tenant's included.
    everything = json.dumps(events(admin, recurse='true', limit=1000))
    assert 'former-user' in everything and 'reborn' in everything


def test_changing_how_a_client_gets_its_access_tokens_is_a_client_update(admin):
    # access_token_format and access_token_audience (migration 0010) came before the client
    # triggers of 0012, which left them out of the columns whose change is an update.
    body = {'client_id': 'billing', 'acl': ['confd.users.read']}
    client = admin.ok('POST', '/clients', json=body)['uuid']
    admin.ok('PUT', f'/clients/{client}', json={**body, 'access_token_format': 'jwt'})
    admin.ok('PUT', f'/clients/{client}', json={**body, 'access_token_format': 'jwt',
                                                 'access_token_audience': ['confd']})

    found = [e['name'] for e in events(admin, name='auth_client_created,auth_client_updated')
             if e['data']['uuid'] == client]

    assert found == ['auth_client_created', 'auth_client_updated', 'auth_client_updated']


def test_a_session_whose_last_token_goes_with_its_signing_key_ends_with_its_event(
        admin, services, engine, make_user, login, clock, top_tenant):
    # A JWT access token is deleted with its signing key (ON DELETE CASCADE, migration 0014):
    # `keys rotate` purges a retired key once its tokens expired, possibly before the expiry
    # purge removed them. The session was left behind without a token: listed forever, never
    # purged (the purge finds sessions by their tokens), its auth_session_deleted never sent.
    keys = services.oidc.signing_keys
    old = keys.rotate(now=True)
    alice = make_user('alice')
    session = uuid.uuid4()
    with engine.begin() as conn:  # a JWT of alice signed by that key, expired, not purged yet
        token_repo.insert(conn, digest=secrets.token_bytes(32), session_uuid=session,
                          tenant_uuid=top_tenant, user_uuid=alice, mobile=False,
                          auth_id=str(alice), issued_at=clock() - dt.timedelta(hours=3),
                          expires_at=clock() - dt.timedelta(hours=1), signing_kid=old.kid,
                          jti=str(uuid.uuid4()), acl=[], metadata_={}, user_agent='',
                          remote_addr='')
    keys.rotate(now=True)  # the old key retires once the tokens it signed until now expire
    clock.advance(7 * 86400)
    keys.rotate(now=True)  # and is purged: no unexpired token needs it
    admin.token = token_of(login, 'root-admin')  # a week later

    sessions = admin.ok('GET', f'/users/{alice}/sessions')['items']
    assert str(session) not in {s['uuid'] for s in sessions}
    ended = events(admin, name='auth_session_deleted', user_uuid=str(alice))
    assert [e['session_uuid'] for e in ended] == [str(session)]


def test_the_login_filter_finds_a_login_in_any_case_as_the_database_folds_it(admin, login):
    # Python and PostgreSQL fold some letters differently ('İ'.lower() is two characters in
    # Python): the filter compared Python's lower case of the value with PostgreSQL's.
    assert login('İlker', 'wrong').status_code == 401

    found = events(admin, name='auth_login_failed', login='İLKER')

    assert [e['data']['login'] for e in found] == ['İlker']
