"""User administration through the HTTP API (admin spec §1.1–§1.7, spec D4, D5, D6)."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from tests.support.admin_client import AdminClient, token_of
from tests.support.offline_access import (assert_error, is_valid, offline_login,
                                              refresh_rows, rows)
from wazo_like_auth.models import Group, GroupPolicy, Policy, UserGroup

USER_KEYS = {'uuid', 'username', 'firstname', 'lastname', 'purpose', 'emails', 'enabled',
             'tenant_uuid', 'authentication_method'}


def new_user(admin, tenant=None, **body):
    return admin.ok('POST', '/users', json=body, tenant=tenant)


@pytest.fixture
def child(admin):
    return admin.ok('POST', '/tenants', json={'name': 'child'})['uuid']


@pytest.fixture
def sub_admin(client, make_user, login, child):
    make_user('sub-admin', acl=['#'], tenant_uuid=uuid.UUID(child))
    return AdminClient(client, token_of(login, 'sub-admin'))


def test_created_user_reads_back_equal_from_get_and_list(admin, top_tenant):
    created = new_user(admin, username='bob', firstname='Bob', lastname='Builder',
                       password='pw', email_address='bob@example.com', tenant_uuid='ignored')

    assert set(created) == USER_KEYS
    assert created['tenant_uuid'] == str(top_tenant)
    assert (created['purpose'], created['enabled'], created['authentication_method']) == \
        ('user', True, 'default')
    [email] = created['emails']
    assert set(email) == {'uuid', 'address', 'main', 'confirmed'}
    assert (email['address'], email['main'], email['confirmed']) == \
        ('bob@example.com', True, True)
    assert admin.ok('GET', f"/users/{created['uuid']}") == created
    assert admin.ok('GET', '/users', query={'username': 'bob'})['items'] == [created]


def test_an_empty_body_is_a_user_without_login(admin):
    created = new_user(admin)

    assert created['username'] is None and created['emails'] == []
    assert uuid.UUID(created['uuid'])


@pytest.mark.parametrize('purpose, method', [('user', 'default'), ('internal', 'native'),
                                             ('external_api', 'native')])
def test_default_authentication_method_depends_on_purpose(admin, purpose, method):
    assert new_user(admin, purpose=purpose)['authentication_method'] == method


def test_user_is_created_in_the_scoping_tenant_and_its_all_users_group(admin, engine, child):
    created = new_user(admin, tenant=child, username='in-child')

    assert created['tenant_uuid'] == child
    groups = rows(engine, 'SELECT g.name FROM auth_group g JOIN auth_user_group ug '
                          'ON ug.group_uuid = g.uuid WHERE ug.user_uuid = :u', u=created['uuid'])
    assert [row.name for row in groups] == [f'wazo-all-users-tenant-{child}']


def test_password_and_email_given_at_creation_log_in(admin, login):
    new_user(admin, username='carol', password='pa55', email_address='Carol@Example.com')
    new_user(admin, username='nopass')

    assert login('carol', 'pa55').status_code == 200
    assert login('carol@example.COM', 'pa55').status_code == 200
    assert login('nopass', '').status_code == 401


def test_explicit_uuid_is_kept_and_a_duplicate_conflicts(admin):
    wanted = str(uuid.uuid4())
    assert new_user(admin, uuid=wanted)['uuid'] == wanted

    body = assert_error(admin.post('/users', json={'uuid': wanted}), 409, 'conflict')

    assert body['details']['uuid']['constraint_id'] == 'unique'


@pytest.mark.parametrize('body, field', [
    ({'username': ''}, 'username'),
    ({'username': 'x' * 257}, 'username'),
    ({'username': 42}, 'username'),
    ({'username': 'nul\x00'}, 'username'),
    ({'firstname': ['x']}, 'firstname'),
    ({'purpose': None}, 'purpose'),
    ({'purpose': 'robot'}, 'purpose'),
    ({'enabled': None}, 'enabled'),
    ({'enabled': 'maybe'}, 'enabled'),
    ({'password': ''}, 'password'),
    ({'email_address': 'not-an-email'}, 'email_address'),
    ({'uuid': 'nope'}, 'uuid'),
    ({'authentication_method': None}, 'authentication_method'),
])
def test_invalid_fields_answer_400_naming_the_field(admin, body, field):
    response = admin.post('/users', json=body)

    assert field in assert_error(response, 400, 'invalid-data')['details']


@pytest.mark.parametrize('method', ['ldap', 'saml', 'not-native', ''])
def test_unavailable_authentication_methods_are_refused(admin, method):
    response = admin.post('/users', json={'authentication_method': method})

    body = assert_error(response, 400, 'invalid-data')
    assert body['details'] == {'authentication_method': method}


def test_over_long_password_is_refused(admin):
    response = admin.post('/users', json={'username': 'long', 'password': 'é' * 37})

    assert_error(response, 400, 'password-too-long')
    assert admin.ok('GET', '/users', query={'username': 'long'})['filtered'] == 0


@pytest.mark.parametrize('existing, body, field', [
    ({'username': 'dave'}, {'username': 'DAVE'}, 'username'),
    ({'email_address': 'dave@example.com'}, {'username': 'Dave@Example.com'}, 'username'),
    ({'username': 'dave@example.com'}, {'email_address': 'DAVE@example.com'}, 'email_address'),
    ({'email_address': 'dave@example.com'}, {'email_address': 'dave@EXAMPLE.com'},
     'email_address'),
])
def test_logins_are_unique_case_insensitively_across_usernames_and_emails(
        admin, child, existing, body, field):
    new_user(admin, **existing)

    response = admin.post('/users', json=body, tenant=child)

    details = assert_error(response, 409, 'conflict')['details']
    assert list(details) == [field]
    assert details[field]['constraint_id'] == 'unique'


def test_list_is_the_scoping_tenant_or_its_subtree_with_recurse(admin, sub_admin, child):
    new_user(admin, tenant=child, username='child-user')

    top_only = admin.ok('GET', '/users')
    recursive = admin.ok('GET', '/users', query={'recurse': 'true'})
    from_child = sub_admin.ok('GET', '/users', query={'recurse': 'true'})

    assert [u['username'] for u in top_only['items']] == ['root-admin']
    assert [u['username'] for u in recursive['items']] == [
        'child-user', 'root-admin', 'sub-admin']
    assert [u['username'] for u in from_child['items']] == ['child-user', 'sub-admin']


def test_list_search_filters_sort_and_paginate(admin):
    new_user(admin, username='a-user', firstname='Zed', email_address='first@one.example')
    new_user(admin, username='b_user', firstname='Yan', purpose='internal')
    new_user(admin, username='c-user', lastname='Xu', email_address='third@three.example')

    def names(**query):
        return [u['username'] for u in admin.ok('GET', '/users', query=query)['items']]

    assert names(search='ONE.EX') == ['a-user']
    assert names(search='user', order='firstname') == ['b_user', 'a-user', 'c-user']
    assert names(search='t three') == ['c-user']
    assert names(purpose='internal') == ['b_user']
    assert names(email_address='third@three.example') == ['c-user']
    assert names(email_address='THIRD@three.example') == []
    assert names(username='A-USER') == []
    assert names(order='username', direction='desc', limit=2) == ['root-admin', 'c-user']
    assert names(offset=1, limit=2) == ['b_user', 'c-user']
    page = admin.ok('GET', '/users', query={'search': '-user'})
    assert (page['total'], page['filtered']) == (4, 2)


def test_list_filters_on_groups_and_policies(admin, sessions, make_user, top_tenant):
    direct = make_user('direct', acl=['x'])
    via_group = make_user('via-group')
    with sessions.begin() as db:
        policy = db.scalars(select(Policy).where(Policy.name == f'p-{direct}')).one()
        group = Group(uuid=uuid.uuid4(), tenant_uuid=top_tenant, name='g', slug='g')
        db.add(group)
        db.flush()
        db.add_all([UserGroup(user_uuid=via_group, group_uuid=group.uuid),
                    GroupPolicy(group_uuid=group.uuid, policy_uuid=policy.uuid)])
        policy_uuid, slug, group_uuid = str(policy.uuid), policy.slug, str(group.uuid)

    def names(**query):
        return sorted(u['username'] for u in admin.ok('GET', '/users', query=query)['items'])

    assert names(policy_uuid=policy_uuid) == ['direct']
    assert names(policy_slug=slug) == ['direct']
    assert names(has_policy_uuid=policy_uuid) == ['direct', 'via-group']
    assert names(has_policy_slug=slug) == ['direct', 'via-group']
    assert names(group_uuid=group_uuid) == ['via-group']


@pytest.mark.parametrize('query', [{'order': 'purpose'}, {'direction': 'sideways'},
                                   {'offset': 'x'}, {'recurse': 'maybe'},
                                   {'username': 'a\x00'}])
def test_invalid_list_parameters_answer_400(admin, query):
    assert_error(admin.get('/users', query=query), 400, 'invalid-list-param')


def test_users_outside_the_subtree_do_not_exist(admin, sub_admin, make_user):
    outsider = make_user('outsider')

    for target in (str(outsider), str(uuid.uuid4())):
        body = assert_error(sub_admin.get(f'/users/{target}'), 404, 'unknown-user')
        assert body['details'] == {'uuid': target}
        assert_error(sub_admin.put(f'/users/{target}', json={}), 404, 'unknown-user')
        assert_error(sub_admin.delete(f'/users/{target}'), 404, 'unknown-user')
    assert admin.ok('GET', f'/users/{outsider}')['username'] == 'outsider'


def test_update_is_a_full_replacement(admin):
    created = new_user(admin, username='erin', firstname='Erin', lastname='E', enabled=False,
                       purpose='internal', email_address='erin@example.com')

    updated = admin.ok('PUT', f"/users/{created['uuid']}",
                       json={'username': 'ERIN', 'email_address': 'ignored@example.com',
                             'password': 'ignored'})

    assert updated == {**created, 'username': 'ERIN', 'firstname': None, 'lastname': None,
                       'enabled': True, 'purpose': 'user', 'authentication_method': 'default'}
    assert admin.ok('GET', f"/users/{created['uuid']}") == updated


def test_update_to_a_login_of_another_user_conflicts(admin):
    new_user(admin, username='frank', email_address='frank@example.com')
    other = new_user(admin, username='gina')

    for login in ('FRANK', 'Frank@example.com'):
        response = admin.put(f"/users/{other['uuid']}", json={'username': login})
        assert list(assert_error(response, 409, 'conflict')['details']) == ['username']


def test_update_checks_the_body_before_the_user(admin):
    response = admin.put(f'/users/{uuid.uuid4()}', json={'purpose': 'robot'})

    assert_error(response, 400, 'invalid-data')


def test_disabling_a_user_revokes_its_tokens_and_refuses_logins(
        admin, client, login, make_user):
    user = make_user('henry')
    token = token_of(login, 'henry')
    assert is_valid(client, token)

    updated = admin.ok('PUT', f'/users/{user}', json={'username': 'henry', 'enabled': False})

    assert updated['enabled'] is False
    assert not is_valid(client, token)
    assert login('henry', 's3cret').status_code == 401


def test_deleting_a_user_revokes_everything_it_holds(admin, client, engine, login, make_user):
    user = make_user('ivan', email='ivan@example.com')
    token = token_of(login, 'ivan')
    assert offline_login(client, 'ivan', 'app').status_code == 200

    admin.ok('DELETE', f'/users/{user}', 204)

    assert not is_valid(client, token)
    assert refresh_rows(engine, user) == []
    assert rows(engine, 'SELECT 1 FROM auth_session WHERE user_uuid = :u', u=user) == []
    assert rows(engine, 'SELECT 1 FROM auth_email WHERE user_uuid = :u', u=user) == []
    assert_error(admin.get(f'/users/{user}'), 404, 'unknown-user')
    assert login('ivan', 's3cret').status_code == 401


def test_each_endpoint_requires_its_acl(client, make_user, login):
    me = make_user('reader', acl=['auth.users.read', 'auth.users.me.read'])
    other = make_user('other')
    reader = AdminClient(client, token_of(login, 'reader'))

    assert reader.get('/users').status_code == 200
    assert reader.get(f'/users/{me}').status_code == 200
    assert_error(reader.get(f'/users/{other}'), 401, 'unauthorized')
    assert_error(reader.post('/users', json={}), 401, 'unauthorized')
    assert_error(reader.put(f'/users/{me}', json={}), 401, 'unauthorized')
    assert_error(reader.delete(f'/users/{me}'), 401, 'unauthorized')


def test_there_is_no_users_me_resource(admin):
    assert_error(admin.get('/users/me'), 404, 'not-found')
