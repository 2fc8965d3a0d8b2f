"""Policies (admin spec §3): CRUD by uuid or slug, ACL edits, visibility across tenants, and
the anti-escalation guard (§0.6)."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update

from tests.support.admin_client import AdminClient, token_of
from tests.support.offline_access import assert_error, make_tenant
from wazo_like_auth.models import Policy

POLICY_KEYS = {'uuid', 'tenant_uuid', 'name', 'slug', 'description', 'acl', 'read_only',
               'shared'}


def new_policy(admin, tenant=None, **body):
    return admin.ok('POST', '/policies', json={'name': 'p', **body}, tenant=tenant)


def config_managed(sessions, policy_uuid):
    with sessions.begin() as db:
        db.execute(update(Policy).where(Policy.uuid == uuid.UUID(policy_uuid))
                   .values(config_managed=True))


@pytest.fixture
def child(sessions, top_tenant):
    return make_tenant(sessions, top_tenant, 'child')


def limited(client, make_user, login, acl, tenant=None, name='limited'):
    make_user(name, acl=acl, tenant_uuid=tenant)
    return AdminClient(client, token_of(login, name))


def test_create_answers_the_policy_which_get_by_uuid_and_slug_return(admin, top_tenant):
    created = new_policy(admin, name='Ops team', slug='ops', description='d',
                         acl=['confd.#', '!confd.users.*.delete'])

    assert set(created) == POLICY_KEYS
    assert created['tenant_uuid'] == str(top_tenant)
    assert created['read_only'] is False and created['shared'] is False
    assert admin.ok('GET', f"/policies/{created['uuid']}") == created
    assert admin.ok('GET', f"/policies/{created['uuid'].upper()}") == created
    assert admin.ok('GET', '/policies/ops') == created


def test_defaults_and_slug_derived_from_the_name(admin):
    created = new_policy(admin, name='Ops team #1!')

    assert created['slug'] == 'Opsteam1'
    assert created['description'] is None and created['acl'] == []


def test_a_taken_derived_slug_becomes_random(admin):
    new_policy(admin, name='first', slug='same')

    created = new_policy(admin, name='same!')

    assert len(created['slug']) == 3 and created['slug'] != 'same'


def test_acl_is_a_set_in_insertion_order(admin):
    created = new_policy(admin, acl=['b', 'a', 'b', '!c'])

    assert created['acl'] == ['b', 'a', '!c']


INVALID_BODIES = [
    ({}, 'name'),
    ({'name': None}, 'name'),
    ({'name': ''}, 'name'),
    ({'name': 'x' * 81}, 'name'),
    ({'name': 42}, 'name'),
    ({'name': 'n', 'slug': 'a b'}, 'slug'),
    ({'name': 'n', 'slug': 'x' * 81}, 'slug'),
    ({'name': 'n', 'slug': 'ok\n'}, 'slug'),
    ({'name': 'n', 'acl': None}, 'acl'),
    ({'name': 'n', 'acl': 'confd.#'}, 'acl'),
    ({'name': 'n', 'acl': ['ok', 42]}, 'acl'),
    ({'name': 'n', 'acl': [None]}, 'acl'),
    ({'name': 'n', 'acl': ['x' * 1025]}, 'acl'),
    ({'name': 'n', 'acl': ['nul\x00']}, 'acl'),
    ({'name': 'n', 'shared': None}, 'shared'),
    ({'name': 'n', 'description': 3}, 'description'),
]


def test_invalid_bodies_are_400_naming_the_field(admin):
    # One test over every case: each is one request, and an app per case costs more.
    for body, field in INVALID_BODIES:
        error = assert_error(admin.post('/policies', json=body), 400, 'invalid-data')
        assert field in error['details'], (body, error)


def test_non_object_and_invalid_json_bodies_are_400(admin):
    assert_error(admin.post('/policies', json=[1]), 400, 'invalid-data')
    assert_error(admin.post('/policies', data='{'), 400, 'invalid-data')


def test_an_entry_of_1024_characters_is_accepted(admin):
    assert new_policy(admin, acl=['x' * 1024])['acl'] == ['x' * 1024]


@pytest.mark.parametrize('second', [{'name': 'p'}, {'name': 'q', 'slug': 'P-SLUG'}])
def test_same_name_or_slug_in_any_case_in_a_tenant_is_409(admin, second):
    new_policy(admin, name='p', slug='p-slug')

    error = assert_error(admin.post('/policies', json=second), 409, 'conflict')

    assert error['message'] == f'Policy "{second["name"]}" already exists'


def test_same_name_in_unrelated_tenants_is_fine(admin, sessions, top_tenant):
    one = make_tenant(sessions, top_tenant, 'one')
    two = make_tenant(sessions, top_tenant, 'two')
    new_policy(admin, one, name='p', slug='p')

    assert new_policy(admin, two, name='p', slug='p')['tenant_uuid'] == str(two)


def test_shared_policies_reserve_their_name_above_and_below(admin, child, top_tenant):
    new_policy(admin, name='up', shared=True)
    new_policy(admin, child, name='down')

    assert_error(admin.post('/policies', json={'name': 'up'}, tenant=child), 409, 'conflict')
    assert_error(admin.post('/policies', json={'name': 'down', 'shared': True}), 409,
                 'conflict')


def test_a_caller_cannot_grant_access_it_does_not_hold(client, make_user, login):
    caller = limited(client, make_user, login, ['auth.policies.#', 'confd.users.*'])

    error = assert_error(caller.post('/policies', json={'name': 'p', 'acl': ['confd.#']}),
                         401, 'unauthorized')

    assert error['details']['required_access'] == 'confd.#'
    created = caller.ok('POST', '/policies',
                        json={'name': 'q', 'acl': ['confd.users.*', '!confd.#']})
    assert created['acl'] == ['confd.users.*', '!confd.#']


def test_a_denied_access_cannot_be_granted_by_a_broader_pattern(client, make_user, login):
    caller = limited(client, make_user, login, ['#', '!confd.secret'])

    refused = caller.post('/policies', json={'name': 'p', 'acl': ['confd.secret']})
    assert_error(refused, 401, 'unauthorized')
    # The refusal names the token only in its redacted form: error bodies get logged.
    shown = refused.get_json()['details']['invalid_token']
    assert shown.startswith('XXXXXXXX-XXXX-XXXX-XXXX-XXXX') and len(shown) == 36


def test_list_sorts_searches_filters_and_counts(admin, make_user):
    for name, description in (('b_one', 'x'), ('a-one', 'y'), ('c', 'one here')):
        new_policy(admin, name=name, description=description)

    everything = admin.ok('GET', '/policies')
    found = admin.ok('GET', '/policies', query={'search': 'one', 'order': 'name',
                                                 'direction': 'desc', 'limit': 2})

    assert set(everything) == {'total', 'filtered', 'items'}
    assert found['total'] == everything['total'] == len(everything['items'])
    assert found['filtered'] == 3
    assert [p['name'] for p in found['items']] == ['c', 'b_one']
    assert [p['name'] for p in admin.ok('GET', '/policies', query={'search': 'one'})['items']] \
        == ['a-one', 'b_one', 'c']
    assert admin.ok('GET', '/policies', query={'slug': 'c'})['items'][0]['name'] == 'c'


def test_list_filters_on_links_and_read_only(admin, make_user, sessions):
    user = make_user('bob')
    linked = new_policy(admin, name='linked')
    ro = new_policy(admin, name='ro')
    config_managed(sessions, ro['uuid'])
    admin.ok('PUT', f"/users/{user}/policies/{linked['uuid']}", 204)

    by_user = admin.ok('GET', '/policies', query={'user_uuid': str(user)})
    read_only = admin.ok('GET', '/policies', query={'read_only': 'true'})

    assert [p['uuid'] for p in by_user['items']] == [linked['uuid']]
    assert [p['uuid'] for p in read_only['items']] == [ro['uuid']]
    assert ro['uuid'] not in [p['uuid'] for p in admin.ok(
        'GET', '/policies', query={'read_only': 'false'})['items']]


@pytest.mark.parametrize('query', [{'order': 'read_only'}, {'limit': '-1'},
                                   {'direction': 'up'}, {'recurse': 'maybe'}])
def test_invalid_list_parameters_are_400(admin, query):
    assert_error(admin.get('/policies', query=query), 400, 'invalid-list-param')


def test_child_sees_a_shared_ancestor_policy_as_its_own_read_only(admin, child, top_tenant):
    shared = new_policy(admin, name='shared', shared=True)
    new_policy(admin, name='private')

    seen = admin.ok('GET', f"/policies/{shared['uuid']}", tenant=child)
    listed = admin.ok('GET', '/policies', tenant=child)['items']

    assert seen == {**shared, 'tenant_uuid': str(child), 'read_only': True, 'shared': False}
    assert [p['name'] for p in listed] == ['shared']
    assert admin.ok('GET', f"/policies/{shared['uuid']}") == shared


def test_config_managed_policies_are_visible_read_only_everywhere(admin, child, sessions):
    managed = new_policy(admin, name='managed')
    config_managed(sessions, managed['uuid'])

    seen = admin.ok('GET', f"/policies/{managed['uuid']}", tenant=child)
    listed = admin.ok('GET', '/policies', tenant=child)['items']

    assert seen['read_only'] is True and seen['tenant_uuid'] == str(child)
    assert [p['uuid'] for p in listed] == [managed['uuid']]


def test_a_parent_reaches_a_child_policy_by_uuid_not_by_slug(admin, child):
    policy = new_policy(admin, child, name='kid', slug='kid')

    assert admin.ok('GET', f"/policies/{policy['uuid']}")['uuid'] == policy['uuid']
    assert admin.ok('GET', '/policies', query={'recurse': 'true'})['total'] >= 2
    error = assert_error(admin.get('/policies/kid'), 404, 'unknown-policy')
    assert error['details'] == {'slug': 'kid'}
    assert admin.ok('GET', '/policies/kid', tenant=child)['uuid'] == policy['uuid']


def test_a_child_cannot_see_its_parent_private_policy(admin, child):
    policy = new_policy(admin, name='private')

    assert_error(admin.get(f"/policies/{policy['uuid']}", tenant=child), 404, 'unknown-policy')


def test_unknown_policies_are_404(admin):
    for ref in (uuid.uuid4(), 'no-such-slug', 'bad%00slug', 'a.b', 'x' * 200):
        assert_error(admin.get(f'/policies/{ref}'), 404, 'unknown-policy')
        assert_error(admin.put(f'/policies/{ref}', json={'name': 'n'}), 404, 'unknown-policy')
        assert_error(admin.delete(f'/policies/{ref}'), 404, 'unknown-policy')


def test_put_replaces_name_description_and_acl(admin):
    policy = new_policy(admin, name='old', slug='keep', description='d', acl=['a', 'b'],
                        shared=True)

    updated = admin.ok('PUT', '/policies/keep', json={'name': 'new', 'acl': ['!x', 'c', 'c'],
                                                       'slug': 'ignored', 'shared': False})

    assert updated == {**policy, 'name': 'new', 'description': None, 'acl': ['!x', 'c']}
    assert admin.ok('GET', f"/policies/{policy['uuid']}") == updated


def test_put_name_clash_is_409_and_bad_body_400(admin):
    new_policy(admin, name='one')
    two = new_policy(admin, name='two')

    assert_error(admin.put(f"/policies/{two['uuid']}", json={'name': 'one'}), 409, 'conflict')
    for body, field in (({}, 'name'), ({'name': 'n', 'acl': [1]}, 'acl')):
        error = assert_error(admin.put(f"/policies/{two['uuid']}", json=body), 400,
                             'invalid-data')
        assert field in error['details']


def test_read_only_policies_cannot_change(admin, child, sessions):
    shared = new_policy(admin, name='shared', shared=True)
    managed = new_policy(admin, name='managed')
    config_managed(sessions, managed['uuid'])

    for ref, tenant in ((shared['uuid'], child), (managed['uuid'], None)):
        assert_error(admin.put(f'/policies/{ref}', json={'name': 'x'}, tenant=tenant), 403,
                     'forbidden-policy')
        assert_error(admin.delete(f'/policies/{ref}', tenant=tenant), 403, 'forbidden-policy')
        assert_error(admin.put(f'/policies/{ref}/acl/more', tenant=tenant), 403,
                     'forbidden-policy')
        assert_error(admin.delete(f'/policies/{ref}/acl/more', tenant=tenant), 403,
                     'forbidden-policy')


def test_updating_needs_every_new_access_and_every_dropped_one(client, make_user, login,
                                                               admin):
    policy = new_policy(admin, name='p', acl=['confd.#', 'calld.x'])
    caller = limited(client, make_user, login, ['auth.policies.#', 'calld.#'])
    path = f"/policies/{policy['uuid']}"

    assert_error(caller.put(path, json={'name': 'p', 'acl': ['calld.x']}), 401, 'unauthorized')
    assert_error(caller.put(path, json={'name': 'p', 'acl': ['confd.#', 'dird.#']}), 401,
                 'unauthorized')
    assert_error(caller.delete(path), 401, 'unauthorized')
    assert admin.ok('GET', path) == policy


def test_delete_removes_the_policy_and_its_links(admin, make_user):
    user = make_user('bob')
    policy = new_policy(admin, name='gone', acl=['a'])
    admin.ok('PUT', f"/users/{user}/policies/{policy['uuid']}", 204)

    admin.ok('DELETE', f"/policies/{policy['uuid']}", 204)

    assert_error(admin.get(f"/policies/{policy['uuid']}"), 404, 'unknown-policy')
    assert admin.ok('GET', f'/users/{user}/policies')['total'] == 0


def test_access_can_be_added_and_removed_one_by_one(admin):
    policy = new_policy(admin, name='p', slug='p')

    admin.ok('PUT', '/policies/p/acl/authorized', 204)
    admin.ok('PUT', f"/policies/{policy['uuid']}/acl/!forbid-access", 204)
    admin.ok('PUT', '/policies/p/acl/confd.%23', 204)
    duplicate = assert_error(admin.put('/policies/p/acl/authorized'), 409, 'conflict')
    admin.ok('DELETE', '/policies/p/acl/never-there', 204)

    assert duplicate['message'] == 'Policy already associated to authorized'
    assert admin.ok('GET', '/policies/p')['acl'] == ['authorized', '!forbid-access', 'confd.#']
    admin.ok('DELETE', '/policies/p/acl/!forbid-access', 204)
    assert admin.ok('GET', '/policies/p')['acl'] == ['authorized', 'confd.#']


def test_access_edits_go_through_the_guard(client, make_user, login, admin):
    new_policy(admin, name='p', slug='p', acl=['!confd.x'])
    caller = limited(client, make_user, login, ['auth.policies.#', '!confd.x'])

    assert_error(caller.put('/policies/p/acl/confd.x'), 401, 'unauthorized')
    assert_error(caller.delete('/policies/p/acl/!confd.x'), 401, 'unauthorized')
    caller.ok('PUT', '/policies/p/acl/!confd.y', 204)


def test_access_of_over_1024_characters_is_400(admin):
    new_policy(admin, name='p', slug='p')

    assert_error(admin.put('/policies/p/acl/' + 'x' * 1025), 400, 'invalid-data')


def test_required_acl_uses_the_uuid_or_the_slug_given(client, make_user, login, admin):
    policy = new_policy(admin, name='p', slug='p')
    by_slug = limited(client, make_user, login, ['auth.policies.p.read'])

    assert by_slug.ok('GET', '/policies/p')['uuid'] == policy['uuid']
    assert_error(by_slug.get(f"/policies/{policy['uuid']}"), 401, 'unauthorized')


def test_policies_are_scoped_by_wazo_tenant(admin, client, make_user, login, sessions,
                                            top_tenant):
    one = make_tenant(sessions, top_tenant, 'one')
    two = make_tenant(sessions, top_tenant, 'two')
    caller = limited(client, make_user, login, ['auth.#'], tenant=one)

    assert_error(caller.get('/policies', tenant=two), 401, 'unauthorized-tenant')
    created = caller.ok('POST', '/policies', json={'name': 'mine'})
    assert created['tenant_uuid'] == str(one)


def test_policies_answer_under_the_public_prefix(admin):
    public = AdminClient(admin.client, admin.token, prefix='/api/auth/0.1')

    created = public.ok('POST', '/policies', json={'name': 'p'})

    assert public.ok('GET', f"/policies/{created['uuid']}") == created
