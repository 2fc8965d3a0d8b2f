"""Regression tests of issue 12, items 1-5 and 13: the privilege escalations an adversarial
review found, replayed through the HTTP API on PostgreSQL.

Each test plays the attacker (a user, a tenant administrator) and checks what the victim or the
attacker's next token would notice."""
from __future__ import annotations

import pytest
from authlib.integrations.requests_client import OAuth2Session, OAuthError

from tests.support.admin_client import AdminClient, token_of
from tests.support.credentials import basic
from tests.support.device_flow import Person
from tests.support.device_flow import poll_error as device_poll_error
from tests.support.device_flow import start as device_start
from tests.support.offline_access import (assert_error, is_valid, make_tenant, offline_login,
                                          refresh_login, refresh_rows)
from wazo_like_auth.app import create_app, shutdown
from wazo_like_auth.composition import build_services


def new_policy(admin, tenant=None, **body):
    return admin.ok('POST', '/policies', json={'name': 'p', **body}, tenant=tenant)


def new_group(admin, tenant=None, **body):
    return admin.ok('POST', '/groups', json={'name': 'g', **body}, tenant=tenant)


def acl_of(login, username):
    response = login(username)
    assert response.status_code == 200, response.get_json()
    return response.get_json()['data']['acl']


def caller(client, login, make_user, username, acl, tenant=None):
    """An AdminClient logged in as a new user holding exactly ``acl``."""
    user = make_user(username, acl=acl, tenant_uuid=tenant)
    return user, AdminClient(client, token_of(login, username))


def scope_ok(client, token, scope):
    status = client.head(f'/0.1/token/{token}', query_string={'scope': scope}).status_code
    assert status in (204, 403), status
    return status == 204


# -- 1. joining a group ------------------------------------------------------------------------

def test_joining_a_group_needs_every_access_its_policies_give(admin, client, make_user, login):
    everything = new_policy(admin, name='everything', acl=['#'])
    group = new_group(admin, name='superusers')
    admin.ok('PUT', f"/groups/{group['uuid']}/policies/{everything['uuid']}", 204)
    mallory, weak = caller(client, login, make_user, 'mallory',
                           ['auth.groups.#', 'auth.users.me.#'])

    error = assert_error(weak.put(f"/groups/{group['uuid']}/users/{mallory}"), 401,
                         'unauthorized')

    assert error['details']['required_access'] == '#'
    assert admin.ok('GET', f"/groups/{group['uuid']}/users")['total'] == 0
    assert '#' not in acl_of(login, 'mallory')
    admin.ok('PUT', f"/groups/{group['uuid']}/users/{mallory}", 204)  # who holds it may
    assert '#' in acl_of(login, 'mallory')


def test_joining_a_group_whose_policies_the_caller_holds_is_allowed(admin, client, make_user,
                                                                     login):
    calls = new_policy(admin, name='calls', acl=['calld.calls.read'])
    group = new_group(admin, name='callers')
    admin.ok('PUT', f"/groups/{group['uuid']}/policies/{calls['uuid']}", 204)
    bob = make_user('bob')
    _, helper = caller(client, login, make_user, 'helper', ['auth.groups.#', 'calld.#'])

    helper.ok('PUT', f"/groups/{group['uuid']}/users/{bob}", 204)

    assert 'calld.calls.read' in acl_of(login, 'bob')


# -- 2. default_user_policy --------------------------------------------------------------------

@pytest.fixture
def default_policy_app(make_config, db_uri, engine):
    app = create_app(make_config(db_uri=db_uri, default_user_policy='everyone'), engine=engine)
    yield app
    shutdown(app)


def test_default_policy_is_never_one_another_tenant_created(default_policy_app, admin, client,
                                                            sessions, top_tenant, make_user):
    tenant_a = make_tenant(sessions, top_tenant, 'a')
    tenant_b = make_tenant(sessions, top_tenant, 'b')
    make_user('alice', tenant_uuid=tenant_a)
    make_user('brenda', tenant_uuid=tenant_b)
    _, b_admin = caller(client, client_login(client), make_user, 'b-admin', ['#'],
                        tenant=tenant_b)
    b_admin.ok('POST', '/policies', json={'name': 'everyone', 'acl': ['stolen.#']})
    login = client_login(default_policy_app.test_client())

    assert 'stolen.#' not in acl_of(login, 'alice')
    assert 'stolen.#' not in acl_of(login, 'brenda')

    new_policy(admin, name='everyone', acl=['shared.read'])  # the operator's, top tenant
    assert acl_of(login, 'alice')[0] == 'shared.read'
    assert 'stolen.#' not in acl_of(login, 'alice')
    assert 'stolen.#' not in acl_of(login, 'brenda')


def test_a_declared_default_policy_applies_in_every_tenant(make_config, db_uri, engine, client,
                                                           sessions, top_tenant, make_user):
    config = make_config(db_uri=db_uri, default_user_policy='everyone',
                         default_policies={'everyone': {'acl': ['declared.read']}})
    build_services(config, engine=engine).startup.run()
    tenant_b = make_tenant(sessions, top_tenant, 'b')
    make_user('brenda', tenant_uuid=tenant_b)
    _, b_admin = caller(client, client_login(client), make_user, 'b-admin', ['#'],
                        tenant=tenant_b)
    b_admin.ok('POST', '/policies', json={'name': 'everyone', 'acl': ['stolen.#']})
    app = create_app(config, engine=engine)
    try:
        make_user('alice')
        login = client_login(app.test_client())
        assert acl_of(login, 'alice') == ['declared.read']
        assert acl_of(login, 'brenda') == ['declared.read']
    finally:
        shutdown(app)


def client_login(client):
    def do(username, password='s3cret'):
        return client.post('/0.1/token', json={}, headers=basic(username, password))
    return do


# -- 3. leaving a group ------------------------------------------------------------------------

def test_leaving_a_group_cannot_lift_its_deny_entries_unchecked(admin, client, make_user, login):
    bob = make_user('bob', acl=['confd.#'])
    fence = new_policy(admin, name='fence', acl=['!confd.users.#'])
    group = new_group(admin, name='fenced')
    admin.ok('PUT', f"/groups/{group['uuid']}/policies/{fence['uuid']}", 204)
    admin.ok('PUT', f"/groups/{group['uuid']}/users/{bob}", 204)
    _, remover = caller(client, login, make_user, 'remover', ['auth.groups.*.users.*.delete'])

    error = assert_error(remover.delete(f"/groups/{group['uuid']}/users/{bob}"), 401,
                         'unauthorized')

    assert error['details']['required_access'] == '!confd.users.#'
    assert admin.ok('GET', f"/groups/{group['uuid']}/users")['total'] == 1
    token = token_of(login, 'bob')
    assert not scope_ok(client, token, 'confd.users.1.delete')
    admin.ok('DELETE', f"/groups/{group['uuid']}/users/{bob}", 204)
    assert scope_ok(client, token_of(login, 'bob'), 'confd.users.1.delete')


def test_deleting_a_group_cannot_lift_its_deny_entries_unchecked(admin, client, make_user,
                                                                 login):
    bob = make_user('bob', acl=['confd.#'])
    fence = new_policy(admin, name='fence', acl=['!confd.users.#'])
    group = new_group(admin, name='fenced')
    admin.ok('PUT', f"/groups/{group['uuid']}/policies/{fence['uuid']}", 204)
    admin.ok('PUT', f"/groups/{group['uuid']}/users/{bob}", 204)
    _, remover = caller(client, login, make_user, 'remover', ['auth.groups.#'])

    assert_error(remover.delete(f"/groups/{group['uuid']}"), 401, 'unauthorized')

    assert not scope_ok(client, token_of(login, 'bob'), 'confd.users.1.delete')


# -- 4. deny entries bound what a caller hands out ----------------------------------------------

FENCED = ['confd.#', '!confd.users.#', 'auth.#']


def test_a_fenced_caller_cannot_create_a_policy_wider_than_itself(client, make_user, login):
    _, fenced = caller(client, login, make_user, 'fenced', FENCED)
    assert not scope_ok(client, fenced.token, 'confd.users.1.delete')

    for acl in (['confd.#'], ['confd.*.delete'], ['confd.users.*'], ['confd.#', '!confd.x']):
        error = assert_error(fenced.post('/policies', json={'name': 'wide', 'acl': acl}), 401,
                             'unauthorized')
        assert error['details']['required_access'] == acl[0]
    assert fenced.ok('GET', '/policies', query={'search': 'wide'})['filtered'] == 0

    bounded = fenced.ok('POST', '/policies',
                        json={'name': 'bounded', 'acl': ['confd.#', '!confd.users.#']})
    fenced.ok('POST', '/policies', json={'name': 'narrow', 'acl': ['confd.lines.#']})
    assert_error(fenced.put(f"/policies/{bounded['uuid']}",
                            json={'name': 'bounded', 'acl': ['confd.#']}), 401, 'unauthorized')
    assert_error(fenced.put(f"/policies/{bounded['uuid']}/acl/confd.users.read"), 401,
                 'unauthorized')


def test_a_fenced_caller_cannot_lift_a_deny_entry_it_is_under(admin, client, make_user, login):
    # Denied confd.users.1.*: lifting `!confd.users.#` would hand confd.users.1.* out.
    _, fenced = caller(client, login, make_user, 'fenced',
                       ['confd.#', '!confd.users.1.#', 'auth.#'])
    policy = new_policy(admin, name='p', acl=['confd.#', '!confd.users.#'])

    assert_error(fenced.delete(f"/policies/{policy['uuid']}/acl/!confd.users.%23"), 401,
                 'unauthorized')
    assert_error(fenced.put(f"/policies/{policy['uuid']}", json={'name': 'p',
                                                                'acl': ['confd.#']}),
                 401, 'unauthorized')
    assert admin.ok('GET', f"/policies/{policy['uuid']}")['acl'] == ['confd.#',
                                                                    '!confd.users.#']
    fenced.ok('PUT', f"/policies/{policy['uuid']}", 200,
              json={'name': 'p', 'acl': ['confd.#', '!confd.users.1.#']})


def test_a_fenced_caller_cannot_create_or_update_a_wider_client(admin, client, make_user,
                                                                 login):
    _, fenced = caller(client, login, make_user, 'fenced', FENCED)
    wide = new_policy(admin, name='wide', acl=['confd.#'])
    body = {'client_id': 'app', 'public': False, 'name': 'app', 'policies': []}

    error = assert_error(fenced.post('/clients', json={**body, 'acl': ['confd.#']}), 401,
                         'unauthorized')
    assert error['details']['required_access'] == 'confd.#'
    assert_error(fenced.post('/clients', json={**body, 'acl': [],
                                               'policies': [wide['uuid']]}), 401, 'unauthorized')
    made = fenced.ok('POST', '/clients',
                     json={**body, 'acl': ['confd.#', '!confd.users.#']})
    assert_error(fenced.put(f"/clients/{made['uuid']}", json={'name': 'app',
                                                              'acl': ['confd.#']}),
                 401, 'unauthorized')
    assert admin.ok('GET', f"/clients/{made['uuid']}")['acl'] == ['confd.#', '!confd.users.#']


def test_a_fenced_caller_cannot_link_a_wider_policy(admin, client, make_user, login):
    bob = make_user('bob')
    _, fenced = caller(client, login, make_user, 'fenced', FENCED)
    wide = new_policy(admin, name='wide', acl=['confd.#'])
    bounded = new_policy(admin, name='bounded', acl=['confd.#', '!confd.users.#'])
    plain, holding_wide = new_group(admin, name='plain'), new_group(admin, name='holding')
    admin.ok('PUT', f"/groups/{holding_wide['uuid']}/policies/{wide['uuid']}", 204)

    for path in (f"/users/{bob}/policies/{wide['uuid']}",
                 f"/groups/{plain['uuid']}/policies/{wide['uuid']}",
                 f"/groups/{holding_wide['uuid']}/users/{bob}"):
        error = assert_error(fenced.put(path), 401, 'unauthorized')
        assert error['details']['required_access'] == 'confd.#'

    fenced.ok('PUT', f"/users/{bob}/policies/{bounded['uuid']}", 204)
    bob_token = token_of(login, 'bob')
    assert scope_ok(client, bob_token, 'confd.lines.1.read')
    assert not scope_ok(client, bob_token, 'confd.users.1.delete')


# -- 5. a client_id reused by another tenant -----------------------------------------------------

@pytest.fixture
def two_tenants(sessions, top_tenant, make_user, client, login):
    """Tenant A with alice, tenant B with an administrator of clients."""
    tenant_a = make_tenant(sessions, top_tenant, 'a')
    tenant_b = make_tenant(sessions, top_tenant, 'b')
    make_user('alice', tenant_uuid=tenant_a)
    _, b_admin = caller(client, login, make_user, 'b-admin', ['auth.clients.#'],
                        tenant=tenant_b)
    return tenant_a, tenant_b, b_admin


def register(admin_client, client_id, tenant=None):
    return admin_client.ok('POST', '/clients', tenant=tenant, json={
        'client_id': client_id, 'public': False, 'name': client_id, 'acl': []})


def refreshes(client, refresh_token, client_id='crm-app'):
    response = refresh_login(client, refresh_token, client_id)
    assert response.status_code in (200, 401), response.get_data()
    return response.status_code == 200


def test_another_tenant_registering_a_client_id_breaks_no_refresh_token(client, engine,
                                                                        two_tenants):
    _, _, b_admin = two_tenants
    refresh = offline_login(client, 'alice', 'crm-app').get_json()['data']['refresh_token']
    session_token = refresh_login(client, refresh, 'crm-app').get_json()['data']['token']

    b_client = register(b_admin, 'crm-app')
    assert refreshes(client, refresh)

    b_admin.ok('DELETE', f"/clients/{b_client['uuid']}", 204)
    assert len(refresh_rows(engine)) == 1
    assert is_valid(client, session_token)
    assert refreshes(client, refresh)


def test_a_client_id_registered_first_by_another_tenant_binds_no_refresh_token(
        client, engine, two_tenants):
    _, _, b_admin = two_tenants
    b_client = register(b_admin, 'crm-app')

    refresh = offline_login(client, 'alice', 'crm-app').get_json()['data']['refresh_token']
    assert refreshes(client, refresh)
    session_token = refresh_login(client, refresh, 'crm-app').get_json()['data']['token']

    b_admin.ok('DELETE', f"/clients/{b_client['uuid']}", 204)
    assert refresh_rows(engine)[0].client_id == 'crm-app'
    assert is_valid(client, session_token)
    assert refreshes(client, refresh)


def test_a_client_of_the_users_own_tenant_still_governs_its_refresh_tokens(
        admin, client, engine, two_tenants):
    tenant_a, _, _ = two_tenants
    refresh = offline_login(client, 'alice', 'crm-app').get_json()['data']['refresh_token']
    session_token = refresh_login(client, refresh, 'crm-app').get_json()['data']['token']

    a_client = register(admin, 'crm-app', tenant=tenant_a)
    assert not refreshes(client, refresh)  # confidential: only with its secret

    admin.ok('DELETE', f"/clients/{a_client['uuid']}", 204, tenant=tenant_a)
    assert refresh_rows(engine) == []
    assert not is_valid(client, session_token)


def test_a_client_serves_no_user_of_another_tenant_at_the_oauth_endpoint(
        api, make_client, make_user, sessions, top_tenant):
    tenant_a = make_tenant(sessions, top_tenant, 'a')
    tenant_b = make_tenant(sessions, top_tenant, 'b')
    make_user('alice', tenant_uuid=tenant_a)
    make_user('brian', tenant_uuid=tenant_b)
    make_user('b-admin', 'pw', acl=['auth.clients.#'], tenant_uuid=tenant_b)
    b_client = make_client('crm-app', grant_types=['password', 'refresh_token'],
                           token=api.login('b-admin', 'pw'))
    wazo = api.session.post(f'{api.url}/token', auth=('alice', 's3cret'), timeout=10,
                            json={'access_type': 'offline', 'client_id': 'crm-app'})
    alice_refresh = wazo.json()['data']['refresh_token']
    session = OAuth2Session('crm-app', b_client['client_secret'], scope='offline_access')

    with pytest.raises(OAuthError, match='invalid_grant'):
        session.fetch_token(api.token_url(), username='alice', password='s3cret')
    with pytest.raises(OAuthError, match='invalid_grant'):
        session.refresh_token(api.token_url(), refresh_token=alice_refresh)
    own = session.fetch_token(api.token_url(), username='brian', password='s3cret')
    assert api.is_valid(session.refresh_token(api.token_url(),
                                              refresh_token=own['refresh_token'])['access_token'])


def test_a_device_approved_by_a_user_of_another_tenant_gets_no_token(
        api, make_client, make_user, sessions, top_tenant, clock):
    tenant_a = make_tenant(sessions, top_tenant, 'a')
    tenant_b = make_tenant(sessions, top_tenant, 'b')
    make_user('alice', tenant_uuid=tenant_a)
    make_user('b-admin', 'pw', acl=['auth.clients.#'], tenant_uuid=tenant_b)
    make_client('tv', public=True, name='B TV', token=api.login('b-admin', 'pw'))
    tv = OAuth2Session('tv', token_endpoint_auth_method='none')
    started = device_start(api)
    person = Person()

    # The page refuses her at once (the client does not serve her): nothing to approve.
    refused = person.sign_in(started['verification_uri_complete'], 'alice', 's3cret')
    assert refused.status_code == 403 and 'name="consent"' not in refused.text
    clock.advance(1)

    assert device_poll_error(api, tv, started['device_code']) == 'authorization_pending'


# -- 13. purpose and enabled are not self-service -------------------------------------------------

def test_a_user_cannot_change_its_own_purpose_or_enabled_through_me(admin, client, make_user,
                                                                    login):
    user, me = caller(client, login, make_user, 'bob', ['auth.users.me.#'])
    current = admin.ok('GET', f'/users/{user}')

    for change in ({'purpose': 'internal'}, {'enabled': False}):
        error = assert_error(me.put(f'/users/{user}', json={'username': 'bob', **change}), 401,
                             'unauthorized')
        assert error['details']['required_access'] == f'auth.users.{user}.update'
    assert admin.ok('GET', f'/users/{user}') == current

    renamed = me.ok('PUT', f'/users/{user}', json={'username': 'bob', 'firstname': 'Bob'})
    assert (renamed['firstname'], renamed['purpose'], renamed['enabled']) == ('Bob', 'user', True)
    admin.ok('PUT', f'/users/{user}', json={'username': 'bob', 'purpose': 'internal'})
    kept = me.ok('PUT', f'/users/{user}', json={'username': 'bob', 'firstname': 'B'})
    assert kept['purpose'] == 'internal'  # omitted: kept, not reset by a self-service call


def test_an_administrator_of_other_users_changes_purpose_and_enabled(client, make_user, login):
    bob = make_user('bob')
    _, manager = caller(client, login, make_user, 'manager', ['auth.users.*.update'])

    updated = manager.ok('PUT', f'/users/{bob}',
                         json={'username': 'bob', 'purpose': 'external_api', 'enabled': False})

    assert (updated['purpose'], updated['enabled']) == ('external_api', False)
    assert login('bob').status_code == 401
