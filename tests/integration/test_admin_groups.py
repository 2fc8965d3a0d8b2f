"""Groups (admin spec §4.1–§4.4): CRUD, list parameters, tenant scoping, read-only groups."""
from __future__ import annotations

import uuid

import pytest

from tests.support.offline_access import assert_error, make_tenant

GROUP_KEYS = {'uuid', 'tenant_uuid', 'name', 'slug', 'read_only', 'system_managed'}


def new_group(admin, tenant=None, **body):
    return admin.ok('POST', '/groups', json={'name': 'g', **body}, tenant=tenant)


def test_create_answers_the_group_that_get_and_list_return(admin, top_tenant):
    created = new_group(admin, name='Sales team', slug='sales')

    assert set(created) == GROUP_KEYS
    assert created['tenant_uuid'] == str(top_tenant)
    assert created['read_only'] is False and created['system_managed'] is False
    assert admin.ok('GET', f"/groups/{created['uuid']}") == created
    assert admin.ok('GET', '/groups')['items'] == [created]


def test_slug_is_derived_from_the_name_or_random_when_taken(admin):
    first = new_group(admin, name='Sales team!')
    new_group(admin, name='other', slug='x')
    second = new_group(admin, name='x!')

    assert first['slug'] == 'Salesteam'
    assert len(second['slug']) == 3 and second['slug'] != 'x'


@pytest.mark.parametrize('second', [{'name': 'g'}, {'name': 'h', 'slug': 'G-SLUG'}])
def test_same_name_or_slug_in_a_tenant_is_409(admin, second):
    new_group(admin, name='g', slug='g-slug')

    error = assert_error(admin.post('/groups', json=second), 409, 'conflict')

    assert error['message'] == f'Group "{second["name"]}" already exists'


def test_same_name_in_another_tenant_is_fine(admin, child):
    new_group(admin, name='g')

    assert new_group(admin, child, name='g')['tenant_uuid'] == str(child)


def test_invalid_bodies_are_400_naming_the_field(admin):
    for body, field in (({}, 'name'), ({'name': None}, 'name'), ({'name': ''}, 'name'),
                        ({'name': 'x' * 129}, 'name'), ({'name': ['g']}, 'name'),
                        ({'name': 'g', 'slug': 'a.b'}, 'slug'), ({'name': 'nul\x00'}, 'name')):
        error = assert_error(admin.post('/groups', json=body), 400, 'invalid-data')
        assert field in error['details'], (body, error)


def test_list_sorts_searches_and_filters(admin, make_user, child):
    for name in ('b_x', 'a-x', 'c'):
        new_group(admin, name=name)
    new_group(admin, child, name='kid-x')

    found = admin.ok('GET', '/groups', query={'search': 'x', 'order': 'name',
                                               'direction': 'desc'})
    recursive = admin.ok('GET', '/groups', query={'recurse': 'true', 'search': 'x'})

    assert (found['total'], found['filtered']) == (3, 2)
    assert [g['name'] for g in found['items']] == ['b_x', 'a-x']
    assert [g['name'] for g in recursive['items']] == ['a-x', 'b_x', 'kid-x']
    assert [g['name'] for g in admin.ok('GET', '/groups', query={'name': 'c'})['items']] \
        == ['c']
    assert_error(admin.get('/groups', query={'order': 'read_only'}), 400, 'invalid-list-param')


def test_list_filters_on_members_policies_and_read_only(admin, make_user, all_users,
                                                       top_tenant):
    user = make_user('bob')
    with_member = new_group(admin, name='members')
    with_policy = new_group(admin, name='policies')
    policy = admin.ok('POST', '/policies', json={'name': 'p', 'slug': 'pslug'})
    admin.ok('PUT', f"/groups/{with_member['uuid']}/users/{user}", 204)
    admin.ok('PUT', f"/groups/{with_policy['uuid']}/policies/{policy['uuid']}", 204)

    def names(**query):
        return [g['name'] for g in admin.ok('GET', '/groups', query=query)['items']]

    assert names(user_uuid=str(user)) == ['members']
    assert names(policy_uuid=policy['uuid']) == ['policies']
    assert names(policy_slug='pslug') == ['policies']
    assert names(read_only='true') == [f'wazo-all-users-tenant-{top_tenant}']
    assert names(read_only='false') == ['members', 'policies']


def test_put_renames_and_ignores_the_slug(admin):
    group = new_group(admin, name='old', slug='keep')

    renamed = admin.ok('PUT', f"/groups/{group['uuid']}", json={'name': 'new', 'slug': 'no'})

    assert renamed == {**group, 'name': 'new'}
    assert admin.ok('GET', f"/groups/{group['uuid']}") == renamed


def test_put_on_an_unknown_group_is_404_before_the_body_is_read(admin):
    error = assert_error(admin.put(f'/groups/{uuid.uuid4()}', json={'name': None}), 404,
                         'unknown-group')

    assert set(error['details']) == {'uuid'}


def test_put_name_clash_is_409_and_bad_body_400(admin):
    new_group(admin, name='one')
    two = new_group(admin, name='two')

    assert_error(admin.put(f"/groups/{two['uuid']}", json={'name': 'one'}), 409, 'conflict')
    assert_error(admin.put(f"/groups/{two['uuid']}", json={}), 400, 'invalid-data')


def test_read_only_groups_cannot_be_renamed_or_deleted(admin, all_users):
    assert_error(admin.put(f'/groups/{all_users}', json={'name': 'x'}), 403, 'forbidden-group')
    assert_error(admin.delete(f'/groups/{all_users}'), 403, 'forbidden-group')
    assert admin.ok('GET', f'/groups/{all_users}')['read_only'] is True


def test_delete_removes_the_group(admin):
    group = new_group(admin)

    admin.ok('DELETE', f"/groups/{group['uuid']}", 204)

    assert_error(admin.get(f"/groups/{group['uuid']}"), 404, 'unknown-group')
    assert_error(admin.delete(f"/groups/{group['uuid']}"), 404, 'unknown-group')


def test_groups_of_other_tenants_are_unknown(admin, sessions, top_tenant):
    one = make_tenant(sessions, top_tenant, 'one')
    two = make_tenant(sessions, top_tenant, 'two')
    group = new_group(admin, two)

    assert admin.ok('GET', f"/groups/{group['uuid']}")['uuid'] == group['uuid']
    for method in ('GET', 'DELETE'):
        assert_error(admin.request(method, f"/groups/{group['uuid']}", tenant=one), 404,
                     'unknown-group')
    assert admin.ok('GET', '/groups', tenant=one)['total'] == 0
