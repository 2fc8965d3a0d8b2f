"""Edges of the administration API: the anti-escalation rule under races and at start-up,
and pages of lists whose sort values tie."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text

from tests.support.admin_client import AdminClient, token_of
from tests.support.offline_access import make_tenant
from tests.support.polling import wait_until
from wazo_like_auth.composition import build_services


def scope_ok(client, token, scope):
    status = client.head(f'/0.1/token/{token}', query_string={'scope': scope}).status_code
    assert status in (204, 403), status
    return status == 204


def waiting_on_locks(engine, count):
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                 "current_database() AND wait_event_type = 'Lock'")
                            ).scalar() >= count


# -- a tenant's delete and a link to one of its policies made meanwhile --------------------------

def test_a_deny_policy_linked_outside_while_its_tenant_is_deleted_is_not_lifted(
        app, admin, client, engine, make_user, login, sessions, top_tenant):
    # mallory may delete the customer tenant only while none of its policies bounds someone
    # outside it (test_review_admin.py). The root administrator fences her with the tenant's
    # deny policy while her delete runs: serially, either the link comes first and her delete
    # is refused (401), or the delete comes first and the link finds no policy (404). Both
    # answering 204 loses the link the administrator was told was made, and the fence with
    # it, which mallory could not lift herself.
    customer = make_tenant(sessions, top_tenant, 'customer')
    make_user('carol', tenant_uuid=customer)
    fence = admin.ok('POST', '/policies', tenant=customer,
                     json={'name': 'fence', 'acl': ['!confd.users.#']})
    mallory = make_user('mallory', acl=['confd.#', 'auth.tenants.#'])
    weak = token_of(login, 'mallory')

    def send(token, method, path):
        return AdminClient(app.test_client(), token).request(method, path).status_code

    with engine.connect() as holder, ThreadPoolExecutor(max_workers=2) as pool:
        # The delete locks the tenant's users after its check of the links outside: held
        # here, it waits there, its check done.
        holder.execute(text('SELECT 1 FROM auth_user WHERE tenant_uuid = :t FOR UPDATE'),
                       {'t': customer})
        deleting = pool.submit(send, weak, 'DELETE', f'/tenants/{customer}')
        assert wait_until(lambda: waiting_on_locks(engine, 1), timeout=10)
        linking = pool.submit(send, admin.token, 'PUT',
                              f"/users/{mallory}/policies/{fence['uuid']}")
        assert wait_until(lambda: linking.done() or waiting_on_locks(engine, 2), timeout=10)
        holder.rollback()
        linked, deleted = linking.result(timeout=30), deleting.result(timeout=30)

    assert (linked, deleted) in ((204, 401), (404, 204)), (linked, deleted)
    if linked == 204:  # the fence was put, and still holds
        assert not scope_ok(client, token_of(login, 'mallory'), 'confd.users.1.delete')


# -- pagination ---------------------------------------------------------------------------------

def test_paging_through_users_with_the_same_sort_value_lists_each_once(admin, top_tenant):
    # Users without a username (a valid `{}` body, spec §1.3) all sort alike by the default
    # order: the pages of limit/offset must still be one listing cut in pieces.
    created = {admin.ok('POST', '/users', json={})['uuid'] for _ in range(40)}
    listed = []
    for offset in range(0, 50, 7):
        page = admin.ok('GET', '/users', query={'limit': 7, 'offset': offset})
        listed += [user['uuid'] for user in page['items'] if user['uuid'] in created]

    assert sorted(listed) == sorted(created)


# -- a policy the caller cannot see, named in a refusal ------------------------------------------

def test_a_default_policy_taken_over_at_start_up_does_not_reach_who_its_creator_linked(
        client, make_config, db_uri, engine, make_user, login):
    # An operator holding only the policy and user administration rights creates, empty, the
    # policy a package will declare (wazo_default_admin_policy) and links it to itself: the
    # start-up that makes it the configured, read-only policy must not hand its ACL to the
    # links made by someone who could not grant it.
    operator = make_user('helpdesk', acl=['auth.policies.#', 'auth.users.#'])
    helpdesk = AdminClient(client, token_of(login, 'helpdesk'))
    planted = helpdesk.ok('POST', '/policies', json={
        'name': 'placeholder', 'slug': 'wazo_default_admin_policy', 'acl': []})
    helpdesk.ok('PUT', f"/users/{operator}/policies/{planted['uuid']}", 204)

    build_services(make_config(db_uri=db_uri, default_policies={
        'wazo_default_admin_policy': {'acl': ['confd.#']}}), engine=engine).startup.run()

    assert not scope_ok(client, token_of(login, 'helpdesk'), 'confd.users.1.delete')
def test_a_refused_membership_does_not_tell_the_entries_of_a_policy_the_caller_cannot_see(
        admin, client, make_user, login, sessions, top_tenant):
    # The top tenant's operator gives a group of tenant `one` a private policy of its own:
    # `one`'s administrator sees neither that policy (404) nor it among the group's policies,
    # and must not read its entries in the 401 refusing a new member either.
    one = make_tenant(sessions, top_tenant, 'one')
    member = make_user('member', tenant_uuid=one)
    group = admin.ok('POST', '/groups', tenant=one, json={'name': 'billing'})
    secret = admin.ok('POST', '/policies', json={'name': 'top-secret',
                                                 'acl': ['billing.payroll.export.#']})
    admin.ok('PUT', f"/groups/{group['uuid']}/policies/{secret['uuid']}", 204)
    make_user('operator-one', acl=['auth.#', 'confd.#'], tenant_uuid=one)
    operator = AdminClient(client, token_of(login, 'operator-one'))
    assert operator.get(f"/policies/{secret['uuid']}").status_code == 404
    assert operator.ok('GET', f"/groups/{group['uuid']}/policies")['items'] == []

    refused = operator.put(f"/groups/{group['uuid']}/users/{member}")

    assert refused.status_code == 401
    assert 'billing.payroll' not in refused.get_data(as_text=True)
    assert refused.get_json()['details']['reason'] == 'policy_not_visible'
    # An entry of a policy the operator sees (of its tenant) is named, as before.
    admin.ok('DELETE', f"/groups/{group['uuid']}/policies/{secret['uuid']}", 204)
    visible = admin.ok('POST', '/policies', tenant=one, json={'name': 'visible',
                                                              'acl': ['billing.read']})
    admin.ok('PUT', f"/groups/{group['uuid']}/policies/{visible['uuid']}", 204)
    named = operator.put(f"/groups/{group['uuid']}/users/{member}")
    assert named.status_code == 401
    assert named.get_json()['details']['required_access'] == 'billing.read'
