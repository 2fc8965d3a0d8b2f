"""Tenant administration through the HTTP API (admin spec §2, spec D4)."""
from __future__ import annotations

import uuid

import pytest

from tests.support.admin_client import AdminClient, token_of
from tests.support.offline_access import (assert_error, is_valid, offline_login,
                                              refresh_rows, rows)

TENANT_KEYS = {'uuid', 'parent_uuid', 'name', 'slug', 'contact', 'phone',
               'default_authentication_method', 'domain_names', 'address'}
NO_ADDRESS = {'line_1': None, 'line_2': None, 'city': None, 'state': None, 'country': None,
              'zip_code': None}


def new_tenant(admin, tenant=None, **body):
    return admin.ok('POST', '/tenants', json=body, tenant=tenant)


@pytest.fixture
def sub_admin(admin, client, make_user, login):
    """A full-access user of a child tenant of the top tenant, and that tenant."""
    tenant = new_tenant(admin, name='child')
    make_user('sub-admin', acl=['#'], tenant_uuid=uuid.UUID(tenant['uuid']))
    return AdminClient(client, token_of(login, 'sub-admin')), tenant


def test_created_tenant_is_a_child_of_the_scoping_tenant_and_reads_back_equal(admin, top_tenant):
    created = new_tenant(admin, name='Acme Corp', phone='+15551234',
                         domain_names=['b.example.com', 'a.example.com', 'a.example.com'],
                         address={'city': 'Québec', 'country': 'CA'},
                         parent_uuid=str(uuid.uuid4()))

    assert set(created) == TENANT_KEYS
    assert created['parent_uuid'] == str(top_tenant)
    assert created['slug'] == 'AcmeCorp'
    assert created['default_authentication_method'] == 'native'
    assert created['domain_names'] == ['a.example.com', 'b.example.com']
    assert created['address'] == {**NO_ADDRESS, 'city': 'Québec', 'country': 'CA'}
    assert admin.ok('GET', f"/tenants/{created['uuid']}") == created
    listed = admin.ok('GET', '/tenants', query={'uuid': created['uuid']})
    assert listed['items'] == [created]


def test_empty_body_gives_a_tenant_with_defaults_under_the_other_prefix(admin):
    admin.prefix = '/api/auth/0.1'

    created = new_tenant(admin)

    assert created['name'] is None and created['contact'] is None
    assert created['domain_names'] == [] and created['address'] == NO_ADDRESS
    assert len(created['slug']) == 3


def test_wazo_tenant_header_chooses_the_parent(admin):
    parent = new_tenant(admin, name='parent')

    child = new_tenant(admin, tenant=parent['uuid'], name='child')

    assert child['parent_uuid'] == parent['uuid']


def test_new_tenant_gets_its_all_users_group(admin, engine):
    created = new_tenant(admin, name='grouped')

    found = rows(engine, 'SELECT name, slug, system_managed FROM auth_group '
                         'WHERE tenant_uuid = :t', t=created['uuid'])
    name = f"wazo-all-users-tenant-{created['uuid']}"
    assert [tuple(row) for row in found] == [(name, name, True)]


def test_explicit_slug_is_kept_and_a_duplicate_slug_conflicts(admin):
    assert new_tenant(admin, slug='acme_1')['slug'] == 'acme_1'

    body = assert_error(admin.post('/tenants', json={'slug': 'acme_1'}), 409, 'conflict')

    assert body['details']['slug']['constraint_id'] == 'unique'


def test_slug_derived_from_a_taken_name_falls_back_to_random(admin):
    first = new_tenant(admin, name='Same name')
    second = new_tenant(admin, name='Same name')

    assert first['slug'] == 'Samename'
    assert second['slug'] != first['slug'] and len(second['slug']) == 3


@pytest.mark.parametrize('body, field', [
    ({'slug': 'with-dash'}, 'slug'),
    ({'slug': 'elevenchars'}, 'slug'),
    ({'name': ''}, 'name'),
    ({'name': 42}, 'name'),
    ({'phone': 'x' * 33}, 'phone'),
    ({'contact': 'not-a-uuid'}, 'contact'),
    ({'uuid': 'nope'}, 'uuid'),
    ({'address': None}, 'address'),
    ({'address': {'city': ''}}, 'address'),
    ({'domain_names': None}, 'domain_names'),
    ({'domain_names': 'wazo.io'}, 'domain_names'),
    ({'default_authentication_method': None}, 'default_authentication_method'),
])
def test_invalid_fields_answer_400_naming_the_field(admin, body, field):
    response = admin.post('/tenants', json=body)

    assert field in assert_error(response, 400, 'invalid-data')['details']


@pytest.mark.parametrize('domain', ['-wazo.io', ' wazo.io', '#', '123', 'wazo .io', 'wazo.io-',
                                    'wazo', '=wazo.io', '+wazo.io', '_wazo.io', 'wazo_io', '',
                                    None, 'a\x00.io'])
def test_invalid_domain_names_are_refused(admin, domain):
    response = admin.post('/tenants', json={'domain_names': [domain]})

    assert 'domain_names' in assert_error(response, 400, 'invalid-data')['details']


@pytest.mark.parametrize('method', ['ldap', 'saml', 'default', ''])
def test_unavailable_authentication_methods_are_refused(admin, method):
    response = admin.post('/tenants', json={'default_authentication_method': method})

    body = assert_error(response, 400, 'invalid-data')
    assert body['details'] == {'default_authentication_method': method}


@pytest.mark.parametrize('raw', [b'', b'{', b'[1]', b'"x"'])
def test_bodies_that_are_not_json_objects_answer_400(admin, raw):
    assert_error(admin.post('/tenants', data=raw), 400, 'invalid-data')


def test_a_domain_name_belongs_to_one_tenant_only(admin):
    first = new_tenant(admin, domain_names=['wazo.io'])

    response = admin.post('/tenants', json={'domain_names': ['other.io', 'wazo.io']})

    body = assert_error(response, 409, 'conflict')
    assert 'domain_names' in body['details']
    kept = admin.put(f"/tenants/{first['uuid']}", json={'domain_names': ['wazo.io']})
    assert kept.status_code == 200


def test_uuid_of_an_existing_tenant_conflicts(admin):
    existing = new_tenant(admin)

    response = admin.post('/tenants', json={'uuid': existing['uuid']})

    assert assert_error(response, 409, 'tenant-identity-conflict')['details']['uuid']


def test_uuid_of_the_parent_is_forbidden(admin, top_tenant):
    response = admin.post('/tenants', json={'uuid': str(top_tenant)})

    assert 'parent_uuid' in assert_error(response, 403, 'conflict')['details']


def test_contact_must_be_a_visible_user(admin, sub_admin, make_user):
    sub, child = sub_admin
    top_user = make_user('top-user')
    assert_error(admin.post('/tenants', json={'contact': str(uuid.uuid4())}), 404,
                 'unknown-user')

    response = sub.put(f"/tenants/{child['uuid']}", json={'contact': str(top_user)})

    assert_error(response, 404, 'unknown-user')
    assert new_tenant(admin, contact=str(top_user))['contact'] == str(top_user)


def test_deleting_the_contact_user_leaves_the_tenant_without_contact(admin, make_user):
    contact = make_user('contact')
    tenant = new_tenant(admin, contact=str(contact))

    admin.ok('DELETE', f'/users/{contact}', 204)

    assert admin.ok('GET', f"/tenants/{tenant['uuid']}")['contact'] is None


def test_list_is_the_scoping_subtree_whatever_recurse_says(admin, sub_admin, top_tenant):
    sub, child = sub_admin
    grandchild = new_tenant(sub, name='grandchild')
    new_tenant(admin, name='sibling')

    from_child = sub.ok('GET', '/tenants', query={'recurse': 'false'})
    from_top = admin.ok('GET', '/tenants')

    assert {t['uuid'] for t in from_child['items']} == {child['uuid'], grandchild['uuid']}
    assert from_child['total'] == from_child['filtered'] == 2
    assert from_top['total'] == 4
    assert [t['name'] for t in from_top['items']] == ['child', 'grandchild', 'master', 'sibling']


def test_list_search_filters_sort_and_paginate(admin):
    alpha = new_tenant(admin, name='alpha-one', slug='alpha', domain_names=['alpha.example.org'])
    beta = new_tenant(admin, name='beta_two', slug='beta', domain_names=['beta.example.org'])
    new_tenant(admin, name='gamma', slug='gamma')

    def names(**query):
        return [t['name'] for t in admin.ok('GET', '/tenants', query=query)['items']]

    assert names(search='EXAMPLE') == ['alpha-one', 'beta_two']
    assert names(search='al one') == ['alpha-one']
    assert names(domain_name='beta.example.org') == ['beta_two']
    assert names(domain_name='beta') == []
    assert names(slug='gamma') == ['gamma']
    assert names(name='ALPHA-ONE') == []
    assert names(uuids=[alpha['uuid'], beta['uuid']]) == ['alpha-one', 'beta_two']
    assert names(order='slug', direction='desc', limit=2) == ['master', 'gamma']
    assert names(offset=3) == ['master']
    page = admin.ok('GET', '/tenants', query={'search': 'a', 'limit': 1})
    assert (page['total'], page['filtered'], len(page['items'])) == (4, 4, 1)


@pytest.mark.parametrize('query', [{'order': 'phone'}, {'direction': 'up'}, {'limit': '-1'},
                                   {'uuids': [str(uuid.uuid4()) for _ in range(26)]},
                                   {'search': 'a\x00'}])
def test_invalid_list_parameters_answer_400(admin, query):
    assert_error(admin.get('/tenants', query=query), 400, 'invalid-list-param')


def test_tenants_outside_the_subtree_do_not_exist(admin, sub_admin, top_tenant):
    sub, child = sub_admin
    sibling = new_tenant(admin, name='sibling')

    for target in (sibling['uuid'], str(top_tenant), str(uuid.uuid4())):
        body = assert_error(sub.get(f'/tenants/{target}'), 404, 'unknown-tenant')
        assert body['details'] == {'uuid': target}
        assert_error(sub.put(f'/tenants/{target}', json={}), 404, 'unknown-tenant')
        assert_error(sub.get(f'/tenants/{target}/domains'), 404, 'unknown-tenant')


def test_update_replaces_every_writable_field(admin, make_user):
    contact = make_user('contact')
    tenant = new_tenant(admin, name='before', slug='keep', phone='1', contact=str(contact),
                        domain_names=['before.io'], address={'city': 'Paris'})

    updated = admin.ok('PUT', f"/tenants/{tenant['uuid']}",
                       json={'name': 'after', 'slug': 'ignored', 'uuid': str(uuid.uuid4()),
                             'parent_uuid': str(uuid.uuid4())})

    assert updated == {**tenant, 'name': 'after', 'phone': None, 'contact': None,
                       'domain_names': [], 'address': NO_ADDRESS}
    assert admin.ok('GET', f"/tenants/{tenant['uuid']}") == updated


def test_update_checks_the_body_before_the_tenant(admin):
    response = admin.put(f'/tenants/{uuid.uuid4()}', json={'name': ''})

    assert_error(response, 400, 'invalid-data')


def test_domains_of_a_tenant_keep_their_uuid_while_kept(admin):
    tenant = new_tenant(admin, domain_names=['a.io', 'b.io'])
    before = admin.ok('GET', f"/tenants/{tenant['uuid']}/domains")

    admin.ok('PUT', f"/tenants/{tenant['uuid']}", json={'domain_names': ['b.io', 'c.io']})
    after = admin.ok('GET', f"/tenants/{tenant['uuid']}/domains")

    assert before['total'] == 2 and set(after) == {'total', 'items'}
    kept = {d['name']: d['uuid'] for d in before['items']}['b.io']
    assert {d['name']: d['uuid'] for d in after['items']}['b.io'] == kept
    assert [d['name'] for d in after['items']] == ['b.io', 'c.io']


def test_deleting_its_own_tenant_is_forbidden(sub_admin):
    sub, child = sub_admin

    body = assert_error(sub.delete(f"/tenants/{child['uuid']}"), 403,
                        'deleting-own-tenant-forbidden')

    assert body['details'] == {'tenant_uuid': child['uuid']}


def test_deleting_a_tenant_with_children_deletes_nothing(admin):
    parent = new_tenant(admin, name='parent')
    child = new_tenant(admin, tenant=parent['uuid'], name='child')

    assert_error(admin.delete(f"/tenants/{parent['uuid']}"), 400, 'tenant-has-children')

    assert admin.ok('GET', f"/tenants/{parent['uuid']}")['name'] == 'parent'
    admin.ok('DELETE', f"/tenants/{child['uuid']}", 204)
    admin.ok('DELETE', f"/tenants/{parent['uuid']}", 204)
    assert_error(admin.get(f"/tenants/{parent['uuid']}"), 404, 'unknown-tenant')


def test_deleting_a_tenant_removes_its_users_groups_policies_and_revokes_tokens(
        admin, client, engine, make_user, login):
    tenant = new_tenant(admin, name='doomed')
    user = make_user('doomed-user', acl=['some.acl'], tenant_uuid=uuid.UUID(tenant['uuid']),
                     email='doomed@example.com')
    token = token_of(login, 'doomed-user')
    assert offline_login(client, 'doomed-user', 'app').status_code == 200

    admin.ok('DELETE', f"/tenants/{tenant['uuid']}", 204)

    assert not is_valid(client, token)
    assert refresh_rows(engine, user) == []
    for table in ('auth_user', 'auth_group', 'auth_policy', 'auth_session'):
        assert rows(engine, f'SELECT 1 FROM {table} WHERE tenant_uuid = :t',
                    t=tenant['uuid']) == []
    assert rows(engine, 'SELECT 1 FROM auth_email WHERE user_uuid = :u', u=user) == []
    assert_error(admin.get(f'/users/{user}'), 404, 'unknown-user')


def test_a_tenant_moves_below_another_visible_tenant_but_never_below_itself(admin, sub_admin):
    sub, child = sub_admin
    first = new_tenant(admin, name='first')
    second = new_tenant(admin, name='second')
    below_child = new_tenant(sub, name='below-child')

    admin.ok('PUT', f"/tenants/{second['uuid']}/parent/{first['uuid']}", 204)

    assert admin.ok('GET', f"/tenants/{second['uuid']}")['parent_uuid'] == first['uuid']
    cycle = admin.put(f"/tenants/{first['uuid']}/parent/{second['uuid']}")
    assert assert_error(cycle, 409, 'conflict')['details'] == {
        'uuid': first['uuid'], 'parent_uuid': second['uuid']}
    escape = sub.put(f"/tenants/{below_child['uuid']}/parent/{first['uuid']}")
    assert_error(escape, 404, 'unknown-tenant')


def test_each_endpoint_requires_its_acl(admin, client, make_user, login, top_tenant):
    tenant = new_tenant(admin)
    make_user('reader', acl=['auth.tenants.read', f"auth.tenants.{tenant['uuid']}.read"])
    reader = AdminClient(client, token_of(login, 'reader'))

    assert reader.get('/tenants').status_code == 200
    assert reader.get(f"/tenants/{tenant['uuid']}").status_code == 200
    assert_error(reader.get(f'/tenants/{top_tenant}'), 401, 'unauthorized')
    assert_error(reader.post('/tenants', json={}), 401, 'unauthorized')
    assert_error(reader.put(f"/tenants/{tenant['uuid']}", json={}), 401, 'unauthorized')
    assert_error(reader.delete(f"/tenants/{tenant['uuid']}"), 401, 'unauthorized')
    assert_error(admin.get('/tenants', token=str(uuid.uuid4())), 401, 'unauthorized')


def test_a_wazo_tenant_outside_the_callers_tree_is_refused(admin, sub_admin, top_tenant):
    sub, child = sub_admin

    response = sub.get('/tenants', tenant=top_tenant)

    assert_error(response, 401, 'unauthorized-tenant')
