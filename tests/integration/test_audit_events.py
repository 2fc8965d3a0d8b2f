"""The audit trail's own events (issue 18): users, policies, groups, OAuth clients and their
links, written in the transaction of the change with the caller as actor; read back through
GET /events."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from tests.support.admin_client import AdminClient, token_of
from tests.support.audit import actor_of, events, named, stored_events, stored_text
from tests.support.offline_access import assert_error
from tests.support.openapi_check import check_response
from wazo_like_auth.app import create_app, shutdown
from wazo_like_auth.http import openapi

USER_EVENTS = ('auth_user_created', 'auth_user_updated', 'auth_user_deleted')


def test_user_events_carry_the_user_and_name_the_caller(admin, client, top_tenant):
    me = actor_of(client, admin.token)
    bob = admin.ok('POST', '/users', json={'username': 'bob', 'password': 'pw'})
    u = bob['uuid']
    admin.ok('PUT', f'/users/{u}', json={'username': 'bobby', 'firstname': 'Bob'})
    admin.ok('PUT', f'/users/{u}', json={'username': 'bobby', 'firstname': 'Bob'})  # no change
    admin.ok('PUT', f'/users/{u}/password', 204, json={'old_password': 'pw',
                                                         'new_password': 'pw2'})
    admin.ok('DELETE', f'/users/{u}', 204)

    found = named(admin, *USER_EVENTS, user_uuid=u)

    assert [(e['name'], e['routing_key']) for e in found] == [
        ('auth_user_created', f'auth.users.{u}.created'),
        ('auth_user_updated', f'auth.users.{u}.updated'),
        ('auth_user_updated', f'auth.users.{u}.updated'),  # the password (migration 0013)
        ('auth_user_deleted', f'auth.users.{u}.deleted')]
    assert [e['data'] for e in found] == [
        {'uuid': u, 'tenant_uuid': str(top_tenant), 'username': name, 'purpose': 'user'}
        for name in ('bob', 'bobby', 'bobby', 'bobby')]
    assert all(e['actor'] == me and e['user_uuid'] == u and e['tenant_uuid'] == str(top_tenant)
               and e['session_uuid'] is None for e in found)


def test_policy_events_follow_its_acl(admin, client, top_tenant):
    me = actor_of(client, admin.token)
    p = admin.ok('POST', '/policies', json={'name': 'ops', 'acl': ['confd.#']})['uuid']
    admin.ok('PUT', f'/policies/{p}', json={'name': 'ops', 'acl': ['confd.users.read']})
    admin.ok('PUT', f'/policies/{p}/acl/dird.%23', 204)
    admin.ok('DELETE', f'/policies/{p}', 204)

    found = [e for e in named(admin, 'auth_policy_created', 'auth_policy_updated',
                              'auth_policy_deleted') if e['data']['uuid'] == p]

    assert [(e['name'], e['routing_key']) for e in found] == [
        ('auth_policy_created', f'auth.policies.{p}.created'),
        ('auth_policy_updated', f'auth.policies.{p}.updated'),
        ('auth_policy_updated', f'auth.policies.{p}.updated'),
        ('auth_policy_deleted', f'auth.policies.{p}.deleted')]
    assert [e['data']['acl'] for e in found] == [
        ['confd.#'], ['confd.users.read'], ['confd.users.read', 'dird.#'],
        ['confd.users.read', 'dird.#']]
    assert found[0]['data'] == {'uuid': p, 'tenant_uuid': str(top_tenant), 'name': 'ops',
                                'slug': 'ops', 'acl': ['confd.#'], 'shared': False}
    assert all(e['actor'] == me and e['user_uuid'] is None for e in found)


def test_group_and_link_events(admin, client, top_tenant):
    me = actor_of(client, admin.token)
    u = admin.ok('POST', '/users', json={'username': 'carol'})['uuid']
    g = admin.ok('POST', '/groups', json={'name': 'sales'})['uuid']
    p = admin.ok('POST', '/policies', json={'name': 'ops', 'acl': ['a.b']})['uuid']
    for path in (f'/groups/{g}', f'/groups/{g}/users/{u}', f'/users/{u}/policies/{p}',
                 f'/groups/{g}/policies/{p}'):
        admin.ok('PUT', path, 200 if path == f'/groups/{g}' else 204,
                 json={'name': 'sales-2'} if path == f'/groups/{g}' else None)
    admin.ok('DELETE', f'/users/{u}/policies/{p}', 204)
    admin.ok('DELETE', f'/groups/{g}/users/{u}', 204)
    admin.ok('DELETE', f'/groups/{g}', 204)  # its policy link goes with it, silently

    found = named(admin, 'auth_group_created', 'auth_group_updated', 'auth_group_deleted',
                  'auth_group_user_added', 'auth_group_user_removed', 'auth_user_policy_added',
                  'auth_user_policy_removed', 'auth_group_policy_added',
                  'auth_group_policy_removed')
    # Carol's creation made her a member of the all-users group first; the admin was made
    # with a policy of its own.
    found = [e for e in found if g in e['routing_key'] or p in e['routing_key']]

    assert [(e['name'], e['routing_key']) for e in found] == [
        ('auth_group_created', f'auth.groups.{g}.created'),
        ('auth_group_updated', f'auth.groups.{g}.updated'),
        ('auth_group_user_added', f'auth.groups.{g}.users.{u}.added'),
        ('auth_user_policy_added', f'auth.users.{u}.policies.{p}.added'),
        ('auth_group_policy_added', f'auth.groups.{g}.policies.{p}.added'),
        ('auth_user_policy_removed', f'auth.users.{u}.policies.{p}.removed'),
        ('auth_group_user_removed', f'auth.groups.{g}.users.{u}.removed'),
        ('auth_group_deleted', f'auth.groups.{g}.deleted')]
    assert found[1]['data'] == {'uuid': g, 'tenant_uuid': str(top_tenant), 'name': 'sales-2',
                                'slug': 'sales'}
    assert found[2]['data'] == {'group_uuid': g, 'user_uuid': u,
                                'tenant_uuid': str(top_tenant)}
    assert (found[2]['user_uuid'], found[3]['user_uuid'], found[4]['user_uuid']) == (u, u, None)
    assert all(e['actor'] == me for e in found)


def test_client_events_never_carry_its_secret(admin, client, top_tenant, engine):
    me = actor_of(client, admin.token)
    p = admin.ok('POST', '/policies', json={'name': 'svc', 'acl': ['a.b']})['uuid']
    created = admin.ok('POST', '/clients', json={'client_id': 'backend', 'acl': ['x.y']})
    c = created['uuid']
    body = {'name': 'Backend', 'grant_types': ['client_credentials'], 'acl': ['x.y']}
    admin.ok('PUT', f'/clients/{c}', json={**body, 'policies': [p]})
    admin.ok('PUT', f'/clients/{c}', json={**body, 'policies': [p]})  # nothing changes
    rotated = admin.ok('POST', f'/clients/{c}/secret')
    admin.ok('DELETE', f'/clients/{c}', 204)

    found = [e for e in events(admin) if c in e['routing_key']]

    assert [e['name'] for e in found] == [
        'auth_client_created', 'auth_client_updated', 'auth_client_policy_added',
        'auth_client_updated', 'auth_client_deleted']
    assert found[0]['data'] == {'uuid': c, 'client_id': 'backend', 'tenant_uuid':
                                str(top_tenant), 'name': '', 'public': False,
                                'grant_types': ['client_credentials'], 'acl': ['x.y']}
    assert found[2]['data'] == {'client_uuid': c, 'policy_uuid': p,
                                'tenant_uuid': str(top_tenant)}
    assert all(e['actor'] == me for e in found)
    trail = stored_text(engine)
    for secret in (created['client_secret'], rotated['client_secret'], '$2b$'):
        assert secret not in trail


def test_an_administrators_password_reset_names_the_administrator(admin, client, make_user,
                                                                   login):
    """POST /users/password/reset with an access token checks that token in the service, not
    through @required_acl: its events named nobody, as if the service had reset the password
    on its own."""
    me = actor_of(client, admin.token)
    bob = str(make_user('bob', 's3cret'))
    token_of(login, 'bob')  # a session, ended by the reset

    admin.ok('POST', '/users/password/reset', 204, query={'user_uuid': bob},
             json={'password': 'temporary-pass'})

    found = [e for e in named(admin, 'auth_user_updated', 'auth_session_deleted')
             if e['user_uuid'] == bob]
    assert sorted(e['name'] for e in found) == ['auth_session_deleted', 'auth_user_updated']
    assert all(e['actor'] == me for e in found)


def test_an_address_confirmed_with_an_access_token_names_the_caller(admin, client, make_user):
    me = actor_of(client, admin.token)
    bob = str(make_user('bob', 's3cret'))
    [email] = admin.ok('PUT', f'/users/{bob}/emails',
                       json={'emails': [{'address': 'bob@example.com', 'main': True}]})
    assert email['confirmed'] is False

    admin.ok('PUT', f'/emails/{email["uuid"]}/confirm', 204)

    [confirmed] = named(admin, 'auth_user_updated', user_uuid=bob)[-1:]
    assert confirmed['actor'] == me


def test_a_tenant_deleted_with_its_content_emits_one_deleted_event_for_each(admin, client):
    me = actor_of(client, admin.token)
    t = admin.ok('POST', '/tenants', json={'name': 'acme'})['uuid']
    u = admin.ok('POST', '/users', tenant=t, json={'username': 'dave'})['uuid']
    g = admin.ok('POST', '/groups', tenant=t, json={'name': 'team'})['uuid']
    p = admin.ok('POST', '/policies', tenant=t, json={'name': 'pol', 'acl': []})['uuid']
    c = admin.ok('POST', '/clients', tenant=t, json={'client_id': 'acme-app'})['uuid']
    admin.ok('PUT', f'/groups/{g}/users/{u}', 204, tenant=t)
    admin.ok('PUT', f'/groups/{g}/policies/{p}', 204, tenant=t)
    before = len(events(admin))

    admin.ok('DELETE', f'/tenants/{t}', 204)

    deleted = events(admin)[before:]
    names = {(e['name'], e['routing_key'].split('.')[2]) for e in deleted
             if e['tenant_uuid'] == t}
    assert {('auth_user_deleted', u), ('auth_group_deleted', g), ('auth_policy_deleted', p),
            ('auth_client_deleted', c)} <= names
    assert not [e for e in deleted if e['name'].endswith('_removed')]
    assert all(e['actor'] == me for e in deleted)


def test_a_change_that_rolls_back_leaves_no_event(admin, make_config, db_uri, engine,
                                                  top_tenant):
    """Another transaction holds a lock the user's creation needs after the user row (and its
    event) is written: the statement times out, the request fails, nothing of it remains."""
    admin.ok('POST', '/users', json={'username': 'first'})  # the all-users group exists
    assert [e['data']['username'] for e in named(admin, 'auth_user_created')
            if e['data']['username'] == 'first'] == ['first']
    app = create_app(make_config(db_uri=db_uri, db_statement_timeout=300))
    try:
        impatient = AdminClient(app.test_client(), admin.token)
        before = [r.id for r in stored_events(engine)]
        with engine.connect() as blocker:
            blocker.execute(text('SELECT 1 FROM auth_group WHERE tenant_uuid = :t '
                                 'AND system_managed FOR UPDATE'), {'t': top_tenant})
            response = impatient.post('/users', json={'username': 'erin', 'password': 'pw'})
            blocker.rollback()
    finally:
        shutdown(app)

    assert response.status_code == 503, response.get_data()
    assert admin.ok('GET', '/users', query={'username': 'erin'})['items'] == []
    assert [r.id for r in stored_events(engine)] == before


@pytest.fixture
def sub_admin(client, make_user, login, child):
    make_user('sub-admin', acl=['#'], tenant_uuid=child)
    return AdminClient(client, token_of(login, 'sub-admin'))


def test_a_tenant_admin_sees_only_its_tenants_events(admin, sub_admin, login, child,
                                                     top_tenant):
    admin.ok('POST', '/users', json={'username': 'top-user'})
    mine = admin.ok('POST', '/users', tenant=child, json={'username': 'child-user'})['uuid']
    assert login('nobody-at-all', 'x').status_code == 401  # an event of no tenant

    seen = events(sub_admin, recurse='true')

    assert {e['tenant_uuid'] for e in seen} == {str(child)}
    assert mine in {e['user_uuid'] for e in seen}
    assert_error(sub_admin.get('/events', tenant=top_tenant), 401, 'unauthorized-tenant')
    everything = events(admin, recurse='true')
    assert {str(top_tenant), str(child), None} <= {e['tenant_uuid'] for e in everything}
    top_only = events(admin)
    assert {e['tenant_uuid'] for e in top_only} == {str(top_tenant), None}


def test_a_tenant_auditor_sees_what_a_parent_operator_did_not_who_or_where(
        admin, sub_admin, client, child, top_tenant):
    operator, auditor = actor_of(client, admin.token), actor_of(client, sub_admin.token)
    bob = admin.ok('POST', '/users', tenant=child, json={'username': 'bob'})['uuid']
    admin.ok('PUT', f'/users/{bob}', tenant=child, json={'username': 'bobby'})
    group = sub_admin.ok('POST', '/groups', json={'name': 'team'})['uuid']

    body = sub_admin.get('/events', query={'recurse': 'true', 'direction': 'asc'})
    seen = {e['name']: e for e in body.get_json()['items']}
    by_operator = sub_admin.ok('GET', '/events', query={'user_uuid': operator['user_uuid']})

    assert seen['auth_user_created']['data']['uuid'] == bob  # what happened: all there
    assert seen['auth_user_created']['actor'] == seen['auth_user_updated']['actor'] \
        == {'redacted': True}
    assert seen['auth_group_created']['data']['uuid'] == group
    assert seen['auth_group_created']['actor'] == auditor  # its own tenant's: in full
    text = body.get_data(as_text=True)
    assert operator['user_uuid'] not in text and operator['session_uuid'] not in text
    assert by_operator['items'] == [] and by_operator['filtered'] == 0
    operators_view = named(admin, 'auth_user_created', 'auth_user_updated', recurse='true',
                           user_uuid=bob)
    assert [e['actor'] for e in operators_view] == [operator, operator]


def test_answers_match_the_openapi_document(admin, login):
    login('nobody', 'x')
    admin.ok('POST', '/groups', json={'name': 'g'})
    document = openapi.document()
    for query, status in (({'recurse': 'true'}, 200), ({'since': 'soon'}, 400)):
        response = admin.get('/events', query=query)
        assert response.status_code == status
        check_response(document, 'GET', '/0.1/events', response)


def test_list_is_newest_first_and_pages(admin):
    for name in ('a', 'b', 'c'):
        admin.ok('POST', '/groups', json={'name': name})

    body = admin.ok('GET', '/events', query={'name': 'auth_group_created', 'limit': 2})
    ids = [e['id'] for e in admin.ok('GET', '/events',
                                      query={'name': 'auth_group_created'})['items']]

    assert [e['data']['name'] for e in body['items']] == ['c', 'b']
    assert body['filtered'] == 3 and body['total'] >= 3
    assert ids == sorted(ids, reverse=True)
    oldest = admin.ok('GET', '/events', query={'name': 'auth_group_created', 'order': 'id',
                                                'direction': 'asc', 'offset': 1})['items']
    assert [e['data']['name'] for e in oldest] == ['b', 'c']


@pytest.mark.parametrize('param, value', [
    ('since', '2026-12-06T08:00:00'),  # no offset: whose morning?
    ('since', 'yesterday'),
    ('until', '2026-13-01T00:00:00Z'),
    ('user_uuid', 'alice'),
    ('name', 'Auth-Session-Deleted'),
    ('name', ','.join(['auth_x'] * 2 + [f'auth_{i}' for i in range(60)])),
    ('login', 'nul\x00'),
    ('order', 'name'),
    ('direction', 'sideways'),
    ('limit', '-1'),
])
def test_bad_filters_are_400_naming_the_parameter(admin, param, value):
    error = assert_error(admin.get('/events', query={param: value}), 400,
                         'invalid-list-param')
    assert param in error['details']


def test_times_take_any_offset_and_an_unencoded_plus(admin):
    admin.ok('POST', '/groups', json={'name': 'g'})

    for since in ('2000-01-01T00:00:00Z', '2000-01-01T01:00:00+01:00',
                  '2000-01-01T01:00:00 01:00'):
        assert named(admin, 'auth_group_created', since=since)
    assert named(admin, 'auth_group_created', until='2000-01-01T00:00:00-05:00') == []
    # Offsets past PostgreSQL's ±15:59, far years: read as the UTC time they name.
    assert named(admin, 'auth_group_created', since='0462-08-28T00:55:43+23:35')
    assert named(admin, 'auth_group_created', until='9999-12-30T23:00:00-23:59')
    assert named(admin, 'auth_group_created', until='2000-01-01T23:30:00+23:30') == []


def test_a_time_before_year_1_in_utc_is_400(admin):
    error = assert_error(admin.get('/events', query={'since': '0001-01-01T00:00:00+01:00'}),
                         400, 'invalid-list-param')
    assert 'since' in error['details']


def test_events_need_their_acl(client, make_user, login):
    make_user('weak', acl=['auth.users.read'])
    token = token_of(login, 'weak')
    error = assert_error(client.get('/0.1/events', headers={'X-Auth-Token': token}), 401,
                         'unauthorized')
    assert error['details']['required_access'] == 'auth.events.read'


def test_concurrent_callers_each_name_themselves(admin, client, login):
    """The actor is per request: two callers at once, in two threads, each get their own."""
    other = token_of(login, 'root-admin')
    callers = {admin.token: actor_of(client, admin.token), other: actor_of(client, other)}
    results: dict[str, str] = {}

    def create(token: str) -> None:
        own = AdminClient(client.application.test_client(), token)
        results[token] = own.ok('POST', '/groups', json={'name': token[:8]})['uuid']

    threads = [threading.Thread(target=create, args=(t,)) for t in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 2
    for token, group in results.items():
        [event] = [e for e in named(admin, 'auth_group_created') if e['data']['uuid'] == group]
        assert event['actor'] == callers[token]
