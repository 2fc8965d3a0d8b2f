"""Regression tests of a review of cross-tenant information leaks: a list filter naming a user
or a group of a tenant the caller cannot see matches nothing, as an unknown uuid would."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update

from tests.support.admin_client import AdminClient, token_of
from tests.support.offline_access import make_tenant
from wazo_like_auth.models import Policy


@pytest.fixture
def neighbours(admin, client, make_user, login, sessions, top_tenant):
    """Tenants ``one`` and ``two`` below the top tenant; an administrator of ``one``; a user
    and a group of ``two`` holding a shared and a config-managed policy (both visible from
    ``one``), and a user and a group of ``one`` holding the same."""
    one = make_tenant(sessions, top_tenant, 'one')
    two = make_tenant(sessions, top_tenant, 'two')
    shared = admin.ok('POST', '/policies', json={'name': 'shared', 'shared': True})
    managed = admin.ok('POST', '/policies', json={'name': 'managed'})
    with sessions.begin() as db:
        db.execute(update(Policy).where(Policy.uuid == uuid.UUID(managed['uuid']))
                   .values(config_managed=True))
    holders = {}
    for name, tenant in (('one', one), ('two', two)):
        user = make_user(f'holder-{name}', tenant_uuid=tenant)
        group = admin.ok('POST', '/groups', json={'name': f'group-{name}'}, tenant=tenant)
        admin.ok('PUT', f"/groups/{group['uuid']}/users/{user}", 204, tenant=tenant)
        for policy in (shared, managed):
            admin.ok('PUT', f"/users/{user}/policies/{policy['uuid']}", 204)
            admin.ok('PUT', f"/groups/{group['uuid']}/policies/{policy['uuid']}", 204)
        holders[name] = (str(user), group['uuid'])
    make_user('operator-one', acl=['auth.#'], tenant_uuid=one)
    return {'caller': AdminClient(client, token_of(login, 'operator-one')), 'one': one,
            'two': two, 'holders': holders, 'policies': {shared['uuid'], managed['uuid']}}


def uuids(page):
    return {item['uuid'] for item in page['items']}


def test_policies_filtered_by_a_hidden_user_or_group_are_an_empty_list(neighbours):
    caller, policies = neighbours['caller'], neighbours['policies']
    (own_user, own_group), (hidden_user, hidden_group) = (neighbours['holders'][name]
                                                          for name in ('one', 'two'))

    for query in ({'user_uuid': hidden_user}, {'group_uuid': hidden_group},
                  {'user_uuid': hidden_user, 'recurse': 'true'}):
        page = caller.ok('GET', '/policies', query=query)
        assert page['items'] == [] and page['filtered'] == 0, query
        assert page == caller.ok('GET', '/policies', query={
            **query, next(iter(query)): str(uuid.uuid4())})
    assert uuids(caller.ok('GET', '/policies', query={'user_uuid': own_user})) == policies
    assert uuids(caller.ok('GET', '/policies', query={'group_uuid': own_group})) == policies


def test_link_policies_filtered_by_a_hidden_user_or_group_are_empty_lists(neighbours):
    caller, policies = neighbours['caller'], neighbours['policies']
    (own_user, own_group), (hidden_user, hidden_group) = (neighbours['holders'][name]
                                                          for name in ('one', 'two'))
    of_group, of_user = f'/groups/{own_group}/policies', f'/users/{own_user}/policies'

    assert caller.ok('GET', of_group, query={'user_uuid': hidden_user})['items'] == []
    assert caller.ok('GET', of_user, query={'group_uuid': hidden_group})['items'] == []
    assert uuids(caller.ok('GET', of_group, query={'user_uuid': own_user})) == policies
    assert uuids(caller.ok('GET', of_user, query={'group_uuid': own_group})) == policies


def test_groups_and_users_filtered_by_hidden_members_or_groups_are_empty_lists(neighbours):
    caller = neighbours['caller']
    (own_user, own_group), (hidden_user, hidden_group) = (neighbours['holders'][name]
                                                          for name in ('one', 'two'))

    for query in ({'user_uuid': hidden_user}, {'user_uuid': hidden_user, 'recurse': 'true'}):
        assert caller.ok('GET', '/groups', query=query)['items'] == []
    assert caller.ok('GET', '/users', query={'group_uuid': hidden_group,
                                              'recurse': 'true'})['items'] == []
    assert uuids(caller.ok('GET', '/groups', query={'user_uuid': own_user})) == {own_group}
    assert uuids(caller.ok('GET', '/users', query={'group_uuid': own_group})) == {own_user}


def test_a_parent_administrator_still_filters_by_the_users_and_groups_below_it(admin,
                                                                              neighbours):
    hidden_user, hidden_group = neighbours['holders']['two']

    for query in ({'user_uuid': hidden_user}, {'group_uuid': hidden_group}):
        assert uuids(admin.ok('GET', '/policies', query=query)) == neighbours['policies']
    assert uuids(admin.ok('GET', '/groups', query={'user_uuid': hidden_user,
                                                    'recurse': 'true'})) == {hidden_group}


@pytest.mark.parametrize('value', ['not-a-uuid', '%', 'x' * 300, str(uuid.UUID(int=0))])
def test_odd_link_filter_values_match_nothing(neighbours, value):
    caller = neighbours['caller']
    own_group = neighbours['holders']['one'][1]

    for path, name in (('/policies', 'user_uuid'), ('/policies', 'group_uuid'),
                       (f'/groups/{own_group}/policies', 'user_uuid')):
        response = caller.get(path, query={name: value})
        assert response.status_code == 200, (path, name, response.get_data())
        assert response.get_json()['items'] == [], (path, name)
