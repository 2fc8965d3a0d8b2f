"""Links between users, groups and policies (admin spec §1.10, §1.11, §4.5, §4.6), and what
they put into new tokens (wazo-token-api §1.3; tokens are snapshots, admin spec §0.8)."""
from __future__ import annotations

import uuid

import pytest

from tests.support.admin_client import AdminClient, token_of
from tests.support.credentials import basic
from tests.support.offline_access import (assert_error, make_tenant, refresh_login,
                                          refresh_token_of)
from wazo_like_auth.app import create_app, shutdown

USER_KEYS = {'uuid', 'username', 'firstname', 'lastname', 'purpose', 'emails', 'enabled',
             'tenant_uuid', 'authentication_method'}


def new_policy(admin, tenant=None, **body):
    return admin.ok('POST', '/policies', json={'name': 'p', **body}, tenant=tenant)


def new_group(admin, tenant=None, **body):
    return admin.ok('POST', '/groups', json={'name': 'g', **body}, tenant=tenant)


def acl_of(login, username):
    response = login(username)
    assert response.status_code == 200, response.get_json()
    return response.get_json()['data']['acl']


def scope_ok(client, token, scope):
    status = client.head(f'/0.1/token/{token}', query_string={'scope': scope}).status_code
    assert status in (204, 403), status
    return status == 204


def test_attached_policy_reaches_new_tokens_only(admin, client, make_user, login):
    user = make_user('bob')
    policy = new_policy(admin, name='calls', acl=['calld.#'])
    before = token_of(login, 'bob')

    admin.ok('PUT', f"/users/{user}/policies/{policy['uuid']}", 204)
    during = token_of(login, 'bob')
    admin.ok('DELETE', f"/users/{user}/policies/{policy['uuid']}", 204)
    after = token_of(login, 'bob')

    assert not scope_ok(client, before, 'calld.calls.read')
    assert scope_ok(client, during, 'calld.calls.read')
    assert not scope_ok(client, after, 'calld.calls.read')
    assert 'calld.#' not in acl_of(login, 'bob')


def test_user_policies_lists_direct_policies_as_stored(admin, make_user, child):
    user = make_user('bob', tenant_uuid=child)
    top_policy = new_policy(admin, name='top', description='from the top', acl=['a'])
    group = new_group(admin, child)
    in_group = new_policy(admin, child, name='via-group')
    admin.ok('PUT', f"/groups/{group['uuid']}/policies/{in_group['uuid']}", 204)
    admin.ok('PUT', f"/groups/{group['uuid']}/users/{user}", 204)

    admin.ok('PUT', f"/users/{user}/policies/{top_policy['uuid']}", 204)
    admin.ok('PUT', f"/users/{user}/policies/{top_policy['uuid']}", 204)  # idempotent
    listed = admin.ok('GET', f'/users/{user}/policies')

    assert listed == {'total': 1, 'filtered': 1, 'items': [top_policy]}
    assert admin.ok('GET', f'/users/{user}/policies',
                    query={'search': 'nothing'})['filtered'] == 0


def test_policies_attach_and_detach_by_slug_of_the_scoping_tenant(admin, make_user, child):
    user = make_user('bob', tenant_uuid=child)
    policy = new_policy(admin, child, name='kid', slug='kid', acl=['kid.#'])

    assert_error(admin.put(f'/users/{user}/policies/kid'), 404, 'unknown-policy')
    admin.ok('PUT', f'/users/{user}/policies/kid', 204, tenant=child)

    assert admin.ok('GET', f'/users/{user}/policies')['items'] == [policy]
    admin.ok('DELETE', f'/users/{user}/policies/kid', 204, tenant=child)
    assert admin.ok('GET', f'/users/{user}/policies')['total'] == 0


def test_linking_needs_every_access_of_the_policy(admin, client, make_user, login):
    user = make_user('bob')
    strong = new_policy(admin, name='strong', acl=['#'])
    group = new_group(admin)
    make_user('weak', acl=['auth.#'])
    weak = AdminClient(client, token_of(login, 'weak'))

    for path in (f"/users/{user}/policies/{strong['uuid']}",
                 f"/groups/{group['uuid']}/policies/{strong['uuid']}"):
        error = assert_error(weak.put(path), 401, 'unauthorized')
        assert error['details']['required_access'] == '#'
        admin.ok('PUT', path, 204)
        assert_error(weak.delete(path), 401, 'unauthorized')
    assert '#' not in acl_of(login, 'weak')


@pytest.mark.parametrize('method', ['GET', 'PUT', 'DELETE'])
def test_unknown_or_foreign_users_are_404(admin, sessions, top_tenant, make_user, method):
    one = make_tenant(sessions, top_tenant, 'one')
    two = make_tenant(sessions, top_tenant, 'two')
    foreign = make_user('bob', tenant_uuid=two)
    policy = new_policy(admin, one, name='p', slug='p')
    suffix = '' if method == 'GET' else f"/{policy['uuid']}"

    for user in (uuid.uuid4(), foreign):
        path = f'/users/{user}/policies{suffix}'
        assert_error(admin.request(method, path, tenant=one), 404, 'unknown-user')
    assert_error(admin.get(f'/users/{uuid.uuid4()}/groups'), 404, 'unknown-user')


def test_unknown_policies_in_links_are_404(admin, make_user):
    user = make_user('bob')
    group = new_group(admin)

    for base in (f'/users/{user}/policies', f"/groups/{group['uuid']}/policies"):
        for ref in (uuid.uuid4(), 'nope'):
            assert_error(admin.put(f'{base}/{ref}'), 404, 'unknown-policy')
            assert_error(admin.delete(f'{base}/{ref}'), 404, 'unknown-policy')


def test_group_members_are_listed_as_users(admin, make_user, all_users):
    bob = make_user('bob', email='bob@example.com')
    make_user('carol')
    group = new_group(admin)

    admin.ok('PUT', f"/groups/{group['uuid']}/users/{bob}", 204)
    admin.ok('PUT', f"/groups/{group['uuid']}/users/{bob}", 204)  # idempotent
    members = admin.ok('GET', f"/groups/{group['uuid']}/users")

    assert (members['total'], members['filtered']) == (1, 1)
    [member] = members['items']
    assert set(member) == USER_KEYS and member['uuid'] == str(bob)
    assert [e['address'] for e in member['emails']] == ['bob@example.com']
    for query in ({'search': 'example'}, {'email_address': 'bob@example.com'},
                  {'username': 'bob'}):
        assert admin.ok('GET', f"/groups/{group['uuid']}/users", query=query)['filtered'] == 1
    assert admin.ok('GET', f"/groups/{group['uuid']}/users",
                    query={'username': 'carol'})['filtered'] == 0


def test_group_membership_rules(admin, make_user, child, all_users):
    bob = make_user('bob')
    kid = make_user('kid', tenant_uuid=child)
    group = new_group(admin)
    members = f"/groups/{group['uuid']}/users"

    error = assert_error(admin.put(f'{members}/{kid}'), 400, 'missmatching-tenant')
    assert error['details'] == {'user_tenant_uuid': str(child),
                                'group_tenant_uuid': group['tenant_uuid']}
    assert_error(admin.put(f'{members}/{uuid.uuid4()}'), 404, 'unknown-user')
    assert_error(admin.put(f'/groups/{uuid.uuid4()}/users/{bob}'), 404, 'unknown-group')
    assert_error(admin.put(f'/groups/{all_users}/users/{bob}'), 403, 'forbidden-group')
    assert_error(admin.delete(f'/groups/{all_users}/users/{bob}'), 403, 'forbidden-group')
    admin.ok('DELETE', f'{members}/{bob}', 204)  # not a member: fine
    assert_error(admin.delete(f'{members}/{uuid.uuid4()}'), 404, 'unknown-user')
    assert_error(admin.get(f'/groups/{uuid.uuid4()}/users'), 404, 'unknown-group')


def test_group_policies_reach_members_new_tokens(admin, client, make_user, login):
    user = make_user('bob')
    group = new_group(admin)
    policy = new_policy(admin, name='group-p', acl=['dird.#'])
    admin.ok('PUT', f"/groups/{group['uuid']}/policies/{policy['uuid']}", 204)
    admin.ok('PUT', f"/groups/{group['uuid']}/policies/{policy['uuid']}", 204)  # idempotent
    assert 'dird.#' not in acl_of(login, 'bob')  # not a member yet

    admin.ok('PUT', f"/groups/{group['uuid']}/users/{user}", 204)
    old = token_of(login, 'bob')
    admin.ok('DELETE', f"/groups/{group['uuid']}/policies/{policy['uuid']}", 204)
    admin.ok('DELETE', f"/groups/{group['uuid']}/policies/{policy['uuid']}", 204)  # fine

    assert scope_ok(client, old, 'dird.x')
    assert 'dird.#' not in acl_of(login, 'bob')


def test_read_only_groups_still_take_policies(admin, all_users):
    policy = new_policy(admin, name='everyone', acl=['x'])

    admin.ok('PUT', f"/groups/{all_users}/policies/{policy['uuid']}", 204)

    assert admin.ok('GET', f'/groups/{all_users}/policies')['items'] == [policy]
    admin.ok('DELETE', f"/groups/{all_users}/policies/{policy['uuid']}", 204)


def test_group_policies_list_relative_to_the_scoping_tenant(admin, child):
    group = new_group(admin, child)
    shared = new_policy(admin, name='shared', shared=True, acl=['x'])
    own = new_policy(admin, child, name='own')
    for policy in (shared, own):
        admin.ok('PUT', f"/groups/{group['uuid']}/policies/{policy['uuid']}", 204)

    from_top = admin.ok('GET', f"/groups/{group['uuid']}/policies")
    from_child = admin.ok('GET', f"/groups/{group['uuid']}/policies", tenant=child)

    assert from_top['items'] == [own, shared]
    assert from_child['items'] == [own, {**shared, 'tenant_uuid': str(child),
                                         'read_only': True, 'shared': False}]
    assert admin.ok('GET', f"/groups/{group['uuid']}/policies",
                    query={'name': 'own'})['items'] == [own]


def test_user_groups_lists_every_group_of_the_user(admin, make_user, all_users):
    user = make_user('bob')
    group = new_group(admin, name='team')
    admin.ok('PUT', f"/groups/{group['uuid']}/users/{user}", 204)

    listed = admin.ok('GET', f'/users/{user}/groups', query={'order': 'name'})

    assert [g['name'] for g in listed['items']] == ['team']
    assert listed['items'][0] == admin.ok('GET', f"/groups/{group['uuid']}")
    assert_error(admin.get(f'/users/{user}/groups', query={'order': 'slug'}), 400,
                 'invalid-list-param')


def test_token_acl_is_default_policy_then_groups_then_own(make_config, db_uri, engine,
                                                          make_user, admin):
    app = create_app(make_config(db_uri=db_uri, default_user_policy='base'), engine=engine)
    try:
        client = app.test_client()
        user = make_user('bob')
        group = new_group(admin)
        base = new_policy(admin, name='base', acl=['base.x'])
        via_group = new_policy(admin, name='via-group', acl=['group.x', 'base.x'])
        also_via_group = new_policy(admin, name='also-via-group', acl=['group.y'])
        own = new_policy(admin, name='own', acl=['own.x'])
        for policy in (via_group, also_via_group):
            admin.ok('PUT', f"/groups/{group['uuid']}/policies/{policy['uuid']}", 204)
        admin.ok('PUT', f"/groups/{group['uuid']}/users/{user}", 204)
        admin.ok('PUT', f"/users/{user}/policies/{own['uuid']}", 204)
        expected = ['base.x', 'group.y', 'group.x', 'base.x', 'own.x']
        response = client.post('/0.1/token', json={}, headers=basic('bob', 's3cret'))
        assert response.get_json()['data']['acl'] == expected
        # The refresh exchange reads the ACL within its lookup statement: the same ACL.
        refresh = refresh_token_of(client, 'bob', 'my-app')
        assert refresh_login(client, refresh, 'my-app').get_json()['data']['acl'] == expected
        assert base['acl'] == ['base.x']
    finally:
        shutdown(app)


def test_a_user_without_policies_gets_an_empty_acl_by_login_and_by_refresh(client, make_user):
    make_user('bob')
    response = client.post('/0.1/token', json={}, headers=basic('bob', 's3cret'))
    assert response.get_json()['data']['acl'] == []
    refresh = refresh_token_of(client, 'bob', 'my-app')
    assert refresh_login(client, refresh, 'my-app').get_json()['data']['acl'] == []
