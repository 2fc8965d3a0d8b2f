"""Regression tests of an adversarial review of the administration API: a caller never hands
out, directly or through a group, client or link, more than it holds itself."""
from __future__ import annotations

from tests.support.admin_client import AdminClient, token_of
from tests.support.offline_access import assert_error, make_tenant


def scope_ok(client, token, scope):
    status = client.head(f'/0.1/token/{token}', query_string={'scope': scope}).status_code
    assert status in (204, 403), status
    return status == 204


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
