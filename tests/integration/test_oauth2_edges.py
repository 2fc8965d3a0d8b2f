"""Edges of the OAuth 2.0 endpoints: introspection inside the unknown-token budget, a database
outage answered as an OAuth error, who a realm's revocation names, a refresh token revoked
during its own exchange."""
from __future__ import annotations

import uuid

import requests

from tests.integration.test_client_delete_races import (finished, in_background, parked,
                                                       waiting_on_a_lock)
from tests.support.audit import named
from tests.support.credentials import basic
from tests.integration.test_security_review_throttles import throttled_app  # noqa: F401
from tests.support.oidc import realm  # noqa: F401
from tests.support.polling import wait_until
from wazo_like_auth.app import create_app, services_of, shutdown

ATTACKER = '203.0.113.66'


def test_introspection_is_inside_the_unknown_token_throttle(throttled_app, admin):
    # README, Security: unknown-token answers are budgeted "on every endpoint that takes a
    # token" (RFC 7662 §4 token scanning), as userinfo is ("no side door for scanning").
    secret = admin.ok('POST', '/clients', json={'client_id': 'scanner'})['client_secret']
    app = throttled_app(unknown_token_checks_per_minute=3, trusted_networks=[])
    client = app.test_client()
    attacker = {'REMOTE_ADDR': ATTACKER}
    answers = [client.post('/0.1/oauth2/introspect', data={'token': str(uuid.uuid4())},
                           headers=basic('scanner', secret), environ_base=attacker)
               for _ in range(3)]
    assert [a.get_json() for a in answers] == [{'active': False}] * 3

    fourth = client.post('/0.1/oauth2/introspect', data={'token': str(uuid.uuid4())},
                         headers=basic('scanner', secret), environ_base=attacker)

    assert fourth.status_code == 429, fourth.get_json()
    assert fourth.get_json()['error'] == 'temporarily_unavailable'


def test_a_database_outage_on_the_token_endpoint_answers_an_oauth_error(make_config, db_uri,
                                                                        admin):
    # README: the OAuth endpoints answer RFC 6749 error bodies, not the Wazo envelope (and
    # oauth_answers: "5xx: 503 temporarily_unavailable"); OAuth client libraries read `error`.
    secret = admin.ok('POST', '/clients', json={'client_id': 'backend'})['client_secret']
    app = create_app(make_config(db_uri=db_uri, db_pool_size=1, db_connect_timeout=1,
                                 token_cleanup_interval=0))
    try:
        client = app.test_client()
        with services_of(app).engine.connect():  # the pool's only connection stays busy
            response = client.post('/0.1/oauth2/token', data={'grant_type': 'client_credentials'},
                                   headers=basic('backend', secret))
    finally:
        shutdown(app)

    assert response.status_code == 503
    assert set(response.get_json()) == {'error', 'error_description'}, response.get_json()
    assert response.get_json()['error'] == 'temporarily_unavailable'
    assert response.headers['Cache-Control'] == 'no-store'


def test_a_revocation_at_a_realm_names_the_address_like_the_global_one(admin, client, realm,
                                                                        make_user):
    # README, Audit trail: `actor` holds the caller's `address`; `/oauth2/revoke` names the
    # client and the address (test_audit_logins), its realm copy only the client.
    tenant = realm['uuid']
    bob = str(make_user('bob', 'b0b-pw', tenant_uuid=tenant))
    secret = admin.ok('POST', '/clients', tenant=tenant, json={
        'client_id': 'crm', 'grant_types': ['password']})['client_secret']
    protocol = '/realms/acme/protocol/openid-connect'
    grant = client.post(f'{protocol}/token', headers=basic('crm', secret), data={
        'grant_type': 'password', 'username': 'bob', 'password': 'b0b-pw'}).get_json()

    client.post(f'{protocol}/revoke', data={'token': grant['access_token']},
                headers=basic('crm', secret), environ_base={'REMOTE_ADDR': '192.0.2.80'})

    [event] = named(admin, 'auth_session_deleted', user_uuid=bob, recurse=True)
    assert event['actor'] == {'client_id': 'crm', 'tenant_uuid': tenant, 'address': '192.0.2.80'}


def test_revoking_a_refresh_token_during_its_exchange_leaves_no_access_token_of_it(
        api, engine, make_user, make_client, top_tenant):
    # RFC 7009 §2.1 and README (Revocation): revoking a refresh token also ends the sessions
    # created from it. An exchange in flight (parked on its session insert) commits a token
    # after the revocation deleted the sessions; the refresh token's delete then waits for
    # it and, once done, leaves that token valid (its refresh_token_uuid set to NULL).
    make_user('alice', 's3cret', acl=['confd.users.me.read'])
    created = make_client('webapp', grant_types=['password', 'refresh_token'])
    auth = ('webapp', created['client_secret'])
    first = requests.post(api.token_url(), auth=auth, timeout=10, data={
        'grant_type': 'password', 'username': 'alice', 'password': 's3cret',
        'scope': 'offline_access'}).json()
    refresh = first['refresh_token']
    with parked(engine, 'tenant', 'uuid', top_tenant):
        exchange = in_background(lambda: requests.post(api.token_url(), auth=auth, timeout=30,
                                                       data={'grant_type': 'refresh_token',
                                                             'refresh_token': refresh}))
        assert wait_until(lambda: waiting_on_a_lock(engine))
        revocation = in_background(lambda: requests.post(
            f'{api.url}/oauth2/revoke', auth=auth, timeout=30,
            data={'token': refresh, 'token_type_hint': 'refresh_token'}))
        revocation['thread'].join(1)
    exchanged = finished(exchange)
    assert finished(revocation).status_code == 200

    assert not api.is_valid(first['access_token'])
    assert exchanged.status_code != 200 or not api.is_valid(exchanged.json()['access_token'])
