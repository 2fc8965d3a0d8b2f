"""Regression tests of an adversarial review of the administration API: a caller never hands
out, directly or through a group, client or link, more than it holds itself."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from tests.support.admin_client import AdminClient, token_of
from tests.support.credentials import basic
from tests.support.offline_access import assert_error, make_tenant
from tests.support.polling import wait_until
from wazo_like_auth.app import create_app, shutdown


def scope_ok(client, token, scope):
    status = client.head(f'/0.1/token/{token}', query_string={'scope': scope}).status_code
    assert status in (204, 403), status
    return status == 204


def caller(client, login, make_user, username, acl):
    """A new user holding exactly ``acl``, and an AdminClient logged in as it."""
    user = make_user(username, acl=acl)
    return user, AdminClient(client, token_of(login, username))


def client_login(client):
    def do(username, password='s3cret'):
        return client.post('/0.1/token', json={}, headers=basic(username, password))
    return do


def fenced_by_a_policy_of(admin, tenant, user):
    """A deny policy living in ``tenant``, attached to ``user`` of another tenant."""
    fence = admin.ok('POST', '/policies', tenant=tenant,
                     json={'name': 'fence', 'acl': ['!confd.users.#']})
    admin.ok('PUT', f"/users/{user}/policies/{fence['uuid']}", 204)
    return fence


def test_deleting_a_tenant_cannot_lift_a_deny_entry_it_gives_outside(admin, client, make_user,
                                                                     login, sessions,
                                                                     top_tenant):
    customer = make_tenant(sessions, top_tenant, 'customer')
    mallory = make_user('mallory', acl=['confd.#', 'auth.tenants.#'])
    fenced_by_a_policy_of(admin, customer, mallory)
    weak = AdminClient(client, token_of(login, 'mallory'))
    assert not scope_ok(client, weak.token, 'confd.users.1.delete')

    error = assert_error(weak.delete(f'/tenants/{customer}'), 401, 'unauthorized')

    assert error['details']['required_access'] == '!confd.users.#'
    assert admin.ok('GET', f'/tenants/{customer}')['uuid'] == str(customer)
    assert not scope_ok(client, token_of(login, 'mallory'), 'confd.users.1.delete')
    admin.ok('DELETE', f'/tenants/{customer}', 204)  # who holds confd.users.# may
    assert scope_ok(client, token_of(login, 'mallory'), 'confd.users.1.delete')


def test_a_tenant_whose_policies_stay_inside_is_deleted_by_a_limited_administrator(
        admin, client, make_user, login, sessions, top_tenant):
    customer = make_tenant(sessions, top_tenant, 'customer')
    make_user('carol', acl=['!confd.users.#', 'billing.#'], tenant_uuid=customer)
    make_user('mallory', acl=['auth.tenants.#'])
    weak = AdminClient(client, token_of(login, 'mallory'))

    weak.ok('DELETE', f'/tenants/{customer}', 204)

    assert_error(admin.get(f'/tenants/{customer}'), 404, 'unknown-tenant')


# -- two deny entries, each the other's cover, removed at once ---------------------------------

def waiting_on_locks(engine, count):
    """True once ``count`` other connections wait for a lock."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                 "current_database() AND wait_event_type = 'Lock'")
                            ).scalar() >= count


def test_two_concurrent_removals_cannot_lift_both_deny_entries(app, admin, client, engine,
                                                               make_user, login):
    # Denied confd.users.1.read, the caller may drop either cover of it, not both.
    _, fenced = caller(client, login, make_user, 'fenced',
                       ['confd.#', '!confd.users.1.read', 'auth.policies.#'])
    policy = admin.ok('POST', '/policies', json={
        'name': 'p', 'acl': ['confd.#', '!confd.users.1.#', '!confd.users.*.read']})
    admin.ok('PUT', f"/users/{make_user('carol')}/policies/{policy['uuid']}", 204)
    paths = [f"/policies/{policy['uuid']}/acl/!confd.users.1.%23",
             f"/policies/{policy['uuid']}/acl/!confd.users.*.read"]

    def remove(path):
        return AdminClient(app.test_client(), fenced.token).delete(path).status_code

    with engine.connect() as holder, ThreadPoolExecutor(max_workers=2) as pool:
        holder.execute(text('SELECT 1 FROM auth_policy WHERE uuid = :u FOR UPDATE'),
                       {'u': policy['uuid']})
        statuses = [pool.submit(remove, path) for path in paths]
        assert wait_until(lambda: waiting_on_locks(engine, 2), timeout=30)
        holder.rollback()
        statuses = sorted(f.result(timeout=30) for f in statuses)

    assert statuses == [204, 401]
    assert len([a for a in admin.ok('GET', f"/policies/{policy['uuid']}")['acl']
                if a.startswith('!')]) == 1
    assert not scope_ok(client, token_of(login, 'carol'), 'confd.users.1.read')


# -- the default policy: held by everyone without a link ---------------------------------------

@pytest.fixture
def default_policy_client(make_config, db_uri, engine):
    app = create_app(make_config(db_uri=db_uri, default_user_policy='everyone'), engine=engine)
    yield app.test_client()
    shutdown(app)


def test_renaming_the_default_policy_cannot_lift_its_deny_entry_from_everyone(
        default_policy_client, make_user):
    client = default_policy_client
    login = client_login(client)
    make_user('root-admin', acl=['#'])
    admin = AdminClient(client, token_of(login, 'root-admin'))
    fence = admin.ok('POST', '/policies', json={'name': 'everyone', 'acl': ['!confd.users.#']})
    make_user('mallory', acl=['confd.#', 'auth.policies.#'])
    weak = AdminClient(client, token_of(login, 'mallory'))
    assert not scope_ok(client, weak.token, 'confd.users.1.delete')

    error = assert_error(weak.put(f"/policies/{fence['uuid']}",
                                  json={'name': 'renamed', 'acl': ['!confd.users.#']}),
                         401, 'unauthorized')

    assert error['details']['required_access'] == '!confd.users.#'
    assert admin.ok('GET', f"/policies/{fence['uuid']}")['name'] == 'everyone'
    assert not scope_ok(client, token_of(login, 'mallory'), 'confd.users.1.delete')
    weak.ok('PUT', f"/policies/{fence['uuid']}",  # the same name: nothing taken away
            json={'name': 'everyone', 'acl': ['!confd.users.#'], 'description': 'fence'})
    admin.ok('PUT', f"/policies/{fence['uuid']}", json={'name': 'renamed', 'acl': []})
    assert scope_ok(client, token_of(login, 'mallory'), 'confd.users.1.delete')


# -- a client's secret: whoever knows it gets the client's tokens -------------------------------

def test_rotating_a_secret_cannot_take_over_a_client_holding_more_than_the_caller(
        admin, client, make_user, login):
    wide = admin.ok('POST', '/clients', json={'client_id': 'billing', 'name': 'billing',
                                              'acl': ['billing.#']})
    narrow = admin.ok('POST', '/clients', json={'client_id': 'calls', 'name': 'calls',
                                                'acl': ['calld.calls.read']})
    _, helpdesk = caller(client, login, make_user, 'helpdesk', ['auth.clients.#', 'calld.#'])

    error = assert_error(helpdesk.post(f"/clients/{wide['uuid']}/secret"), 401, 'unauthorized')

    assert error['details']['required_access'] == 'billing.#'
    assert client_token(client, 'billing', wide['client_secret']).status_code == 200
    rotated = helpdesk.ok('POST', f"/clients/{narrow['uuid']}/secret")
    assert client_token(client, 'calls', rotated['client_secret']).status_code == 200


def client_token(client, client_id, secret):
    return client.post('/0.1/oauth2/token', data={'grant_type': 'client_credentials'},
                       headers=basic(client_id, secret))


# -- enabling a user hands it its access back ---------------------------------------------------

def test_enabling_a_user_cannot_hand_back_more_than_the_caller_holds(admin, client, make_user,
                                                                     login):
    boss = make_user('boss', acl=['#'])
    clerk = make_user('clerk', acl=['calld.calls.read'])
    for username, user in (('boss', boss), ('clerk', clerk)):
        admin.ok('PUT', f'/users/{user}', json={'username': username, 'enabled': False})
    _, helpdesk = caller(client, login, make_user, 'helpdesk', ['auth.users.#', 'calld.#'])

    error = assert_error(helpdesk.put(f'/users/{boss}', json={'username': 'boss'}), 401,
                         'unauthorized')

    assert error['details']['required_access'] == '#'
    assert admin.ok('GET', f'/users/{boss}')['enabled'] is False
    assert login('boss').status_code == 401
    helpdesk.ok('PUT', f'/users/{boss}', json={'username': 'boss', 'firstname': 'B',
                                                'enabled': False})  # staying disabled: fine
    assert helpdesk.ok('PUT', f'/users/{clerk}', json={'username': 'clerk'})['enabled'] is True
    assert login('clerk').status_code == 200
