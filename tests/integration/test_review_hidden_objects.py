"""Regression tests of an audit of the administration API for cross-tenant oracles: for an
object of a tenant the caller cannot see (a sibling tenant, or the parent tenant), every route
answers exactly as for a uuid (slug, name, client_id...) that names nothing: same status, same
body once the two values are written alike. Path parameters, list filters, ``recurse`` and the
``Wazo-Tenant`` header are all tried."""
from __future__ import annotations

import json
import uuid

import pytest

from tests.support.admin_client import AdminClient, token_of
from tests.support.offline_access import make_tenant

RECURSE = {'recurse': 'true'}


@pytest.fixture
def world(admin, client, make_user, login, sessions, top_tenant):
    """Tenant ``one`` (with a child) below the top tenant, administered by ``operator-one``
    (ACL ``#``) and holding its own user, group, policy and client; the sibling tenant ``two``
    holding the hidden ones (a user with an address, a session and a refresh token, a group, a
    policy, a client), and a non-shared policy of the top tenant, hidden too."""
    one = make_tenant(sessions, top_tenant, 'one')
    two = make_tenant(sessions, top_tenant, 'two-hidden')
    hidden_user = make_user('hidden-user', tenant_uuid=two, email='hidden@two.example')
    logged = login('hidden-user', body={'access_type': 'offline', 'client_id': 'hidden-app'})
    assert logged.status_code == 200, logged.get_json()
    hidden = {
        'tenant': str(two), 'user': str(hidden_user), 'username': 'hidden-user',
        'address': 'hidden@two.example',
        'email': admin.ok('GET', f'/users/{hidden_user}')['emails'][0]['uuid'],
        'session': logged.get_json()['data']['session_uuid'], 'refresh_app': 'hidden-app',
        'tenant_name': 'two-hidden',
    }
    group = admin.ok('POST', '/groups', json={'name': 'hidden-group'}, tenant=two)
    policy = admin.ok('POST', '/policies', json={'name': 'hidden-policy'}, tenant=two)
    top_policy = admin.ok('POST', '/policies', json={'name': 'top-secret-policy'})
    hidden_client = admin.ok('POST', '/clients', json={'client_id': 'hidden-client'},
                             tenant=two)
    hidden.update(group=group['uuid'], group_name='hidden-group', policy=policy['uuid'],
                  slug=policy['slug'], policy_name='hidden-policy', top_policy=top_policy['uuid'],
                  top_slug=top_policy['slug'], client=hidden_client['uuid'],
                  client_id='hidden-client')
    own_user = make_user('own-user', tenant_uuid=one)
    make_user('operator-one', acl=['#'], tenant_uuid=one)
    own = {
        'own_tenant': str(one), 'own_child': str(make_tenant(sessions, one, 'one-child')),
        'own_user': str(own_user),
        'own_group': admin.ok('POST', '/groups', json={'name': 'own-group'}, tenant=one)['uuid'],
        'own_policy': admin.ok('POST', '/policies', json={'name': 'own-policy'},
                               tenant=one)['uuid'],
        'own_client': admin.ok('POST', '/clients', json={'client_id': 'own-client'},
                               tenant=one)['uuid'],
    }
    # Ties between hidden and visible objects, wherever the top tenant's administrator can
    # make them: a filter naming the hidden side would find the visible one.
    admin.ok('PUT', f"/groups/{own['own_group']}/users/{own_user}", 204)
    for policy in (hidden['policy'], hidden['top_policy'], own['own_policy']):
        admin.ok('PUT', f"/users/{own_user}/policies/{policy}", 204)
        admin.ok('PUT', f"/groups/{own['own_group']}/policies/{policy}", 204)
    admin.ok('PUT', f"/users/{hidden_user}/policies/{own['own_policy']}", 204)
    admin.ok('PUT', f"/groups/{group['uuid']}/policies/{own['own_policy']}", 204)
    admin.ok('PUT', f"/groups/{group['uuid']}/users/{hidden_user}", 204)
    # The top tenant's operator names one of its users as contact of the caller's tenant.
    hidden['contact'] = str(make_user('top-contact'))
    admin.ok('PUT', f'/tenants/{one}', json={'name': 'one', 'contact': hidden['contact']})
    return {'caller': AdminClient(client, token_of(login, 'operator-one')),
            'hidden': hidden, 'own': own}


def nothing(hidden: dict[str, str]) -> dict[str, str]:
    """Values like the hidden ones that name nothing at all."""
    names = {'username': 'nobody-user', 'address': 'nobody@nowhere.example',
             'slug': 'no-such-slug', 'top_slug': 'no-such-top-slug',
             'refresh_app': 'no-such-app', 'client_id': 'no-such-client',
             'group_name': 'no-such-group', 'policy_name': 'no-such-policy',
             'tenant_name': 'no-such-tenant'}
    return {key: names.get(key) or str(uuid.uuid4()) for key in hidden}


def fill(value, values: dict[str, str]):
    """``value`` (a str, or JSON-like data) with every ``{key}`` replaced."""
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, dict):
        return {fill(k, values): fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    return value


def answer(response, values: dict[str, str]) -> tuple[int, str]:
    """Status and body, the body with its timestamp dropped and each of ``values`` written
    as its key."""
    text = response.get_data(as_text=True)
    if response.is_json and text:
        body = response.get_json()
        if isinstance(body, dict):
            body.pop('timestamp', None)
        text = json.dumps(body, sort_keys=True)
    for key, value in sorted(values.items(), key=lambda kv: -len(kv[1])):
        text = text.replace(value, f'<{key}>')
    return response.status_code, text


# (method, path, query, body, Wazo-Tenant); {key} names a hidden object, {own_key} a visible one.
CASES = [
    # users and their sub-resources
    ('GET', '/users/{user}', None, None, None),
    ('PUT', '/users/{user}', None, {'username': 'renamed'}, None),
    ('DELETE', '/users/{user}', None, None, None),
    ('PUT', '/users/{user}/password', None, {'old_password': 'a', 'new_password': 'b'}, None),
    ('PUT', '/users/{user}/emails', None, {'emails': []}, None),
    ('PUT', '/admin/users/{user}/emails', None, {'emails': []}, None),
    ('GET', '/users/{user}/emails/{email}/confirm', None, None, None),
    ('GET', '/users/{own_user}/emails/{email}/confirm', None, None, None),
    ('PUT', '/emails/{email}/confirm', None, None, None),
    ('POST', '/users/password/reset', {'user_uuid': '{user}'}, {'password': 'n3w'}, None),
    ('GET', '/users/{user}/policies', None, None, None),
    ('GET', '/users/{user}/groups', None, None, None),
    ('GET', '/users/{user}/sessions', None, None, None),
    ('DELETE', '/users/{user}/sessions/{session}', None, None, None),
    ('DELETE', '/users/{own_user}/sessions/{session}', None, None, None),
    ('GET', '/users/{user}/tokens', None, None, None),
    ('DELETE', '/users/{user}/tokens/{refresh_app}', None, None, None),
    ('GET', '/users/{user}/consents', None, None, None),
    ('DELETE', '/users/{user}/consents/{own_client}', None, None, None),
    ('DELETE', '/users/{own_user}/consents/{client}', None, None, None),
    # user <-> policy, group <-> user, group <-> policy
    ('PUT', '/users/{user}/policies/{own_policy}', None, None, None),
    ('DELETE', '/users/{user}/policies/{own_policy}', None, None, None),
    ('PUT', '/users/{own_user}/policies/{policy}', None, None, None),
    ('DELETE', '/users/{own_user}/policies/{top_policy}', None, None, None),
    ('PUT', '/users/{own_user}/policies/{slug}', None, None, None),
    ('DELETE', '/users/{own_user}/policies/{top_slug}', None, None, None),
    ('PUT', '/groups/{group}/users/{own_user}', None, None, None),
    ('DELETE', '/groups/{group}/users/{own_user}', None, None, None),
    ('PUT', '/groups/{own_group}/users/{user}', None, None, None),
    ('DELETE', '/groups/{own_group}/users/{user}', None, None, None),
    ('PUT', '/groups/{group}/policies/{own_policy}', None, None, None),
    ('DELETE', '/groups/{group}/policies/{own_policy}', None, None, None),
    ('PUT', '/groups/{own_group}/policies/{policy}', None, None, None),
    ('DELETE', '/groups/{own_group}/policies/{top_policy}', None, None, None),
    ('PUT', '/groups/{own_group}/policies/{slug}', None, None, None),
    # groups
    ('GET', '/groups/{group}', None, None, None),
    ('PUT', '/groups/{group}', None, {'name': 'renamed'}, None),
    ('DELETE', '/groups/{group}', None, None, None),
    ('GET', '/groups/{group}/users', None, None, None),
    ('GET', '/groups/{group}/policies', None, None, None),
    # policies
    ('GET', '/policies/{policy}', None, None, None),
    ('GET', '/policies/{top_policy}', None, None, None),
    ('GET', '/policies/{slug}', None, None, None),
    ('PUT', '/policies/{policy}', None, {'name': 'renamed'}, None),
    ('PUT', '/policies/{top_slug}', None, {'name': 'renamed'}, None),
    ('DELETE', '/policies/{policy}', None, None, None),
    ('PUT', '/policies/{policy}/acl/some.access', None, None, None),
    ('DELETE', '/policies/{top_policy}/acl/some.access', None, None, None),
    # tenants
    ('GET', '/tenants/{tenant}', None, None, None),
    ('PUT', '/tenants/{tenant}', None, {'name': 'renamed'}, None),
    ('DELETE', '/tenants/{tenant}', None, None, None),
    ('GET', '/tenants/{tenant}/domains', None, None, None),
    ('PUT', '/tenants/{tenant}/parent/{own_tenant}', None, None, None),
    ('PUT', '/tenants/{own_child}/parent/{tenant}', None, None, None),
    ('POST', '/tenants', None, {'name': 'new-tenant', 'contact': '{user}'}, None),
    ('PUT', '/tenants/{own_child}', None, {'name': 'renamed', 'contact': '{user}'}, None),
    # clients, sessions
    ('GET', '/clients/{client}', None, None, None),
    ('PUT', '/clients/{client}', None, {}, None),
    ('DELETE', '/clients/{client}', None, None, None),
    ('POST', '/clients/{client}/secret', None, None, None),
    ('POST', '/clients', None, {'client_id': 'new-client', 'policies': ['{policy}']}, None),
    ('PUT', '/clients/{own_client}', None, {'policies': ['{top_policy}']}, None),
    ('DELETE', '/sessions/{session}', None, None, None),
]

# List filters naming hidden objects, each also with recurse=true.
FILTERED_LISTS = [
    ('/users', {'uuid': '{user}'}), ('/users', {'username': '{username}'}),
    ('/users', {'email_address': '{address}'}), ('/users', {'search': '{username}'}),
    ('/users', {'group_uuid': '{group}'}), ('/users', {'policy_uuid': '{policy}'}),
    ('/users', {'policy_slug': '{slug}'}), ('/users', {'policy_uuid': '{top_policy}'}),
    ('/users', {'has_policy_uuid': '{policy}'}), ('/users', {'has_policy_slug': '{top_slug}'}),
    ('/users', {'tenant_uuid': '{tenant}'}),
    ('/groups', {'uuid': '{group}'}), ('/groups', {'name': '{group_name}'}),
    ('/groups', {'user_uuid': '{user}'}), ('/groups', {'policy_uuid': '{policy}'}),
    ('/groups', {'policy_slug': '{top_slug}'}), ('/groups', {'policy_uuid': '{top_policy}'}),
    ('/groups', {'policy_slug': '{slug}'}), ('/groups', {'search': '{group_name}'}),
    ('/policies', {'uuid': '{policy}'}), ('/policies', {'slug': '{slug}'}),
    ('/policies', {'name': '{policy_name}'}), ('/policies', {'search': '{policy_name}'}),
    ('/policies', {'user_uuid': '{user}'}), ('/policies', {'group_uuid': '{group}'}),
    ('/policies', {'tenant_uuid': '{tenant}'}), ('/policies', {'uuid': '{top_policy}'}),
    ('/tenants', {'uuid': '{tenant}'}), ('/tenants', {'uuids': '{tenant}'}),
    ('/tenants', {'name': '{tenant_name}'}), ('/tenants', {'search': '{tenant_name}'}),
    ('/clients', {'uuid': '{client}'}), ('/clients', {'client_id': '{client_id}'}),
    ('/tokens', {'client_id': '{refresh_app}'}), ('/sessions', {}),
    ('/events', {'user_uuid': '{user}'}), ('/events', {'login': '{username}'}),
    ('/users/{own_user}/policies', {'group_uuid': '{group}'}),
    ('/users/{own_user}/policies', {'uuid': '{policy}'}),
    ('/users/{own_user}/groups', {'uuid': '{group}'}),
    ('/groups/{own_group}/policies', {'user_uuid': '{user}'}),
    ('/groups/{own_group}/policies', {'uuid': '{top_policy}'}),
    ('/groups/{own_group}/users', {'uuid': '{user}'}),
]
CASES += [('GET', path, query, None, None) for path, query in FILTERED_LISTS]
CASES += [('GET', path, {**query, **RECURSE}, None, None) for path, query in FILTERED_LISTS]

# Wazo-Tenant naming the hidden tenant.
CASES += [(method, path, None, body, '{tenant}') for method, path, body in (
    ('GET', '/users', None), ('POST', '/users', {'username': 'new-user'}),
    ('GET', '/users/{own_user}', None), ('GET', '/groups', None),
    ('POST', '/groups', {'name': 'new-group'}), ('GET', '/policies', None),
    ('POST', '/policies', {'name': 'new-policy'}), ('GET', '/tenants', None),
    ('POST', '/tenants', {'name': 'new-tenant'}), ('GET', '/sessions', None),
    ('GET', '/tokens', None), ('GET', '/clients', None), ('GET', '/events', None),
    ('GET', '/users/{own_user}/policies', None),
)]


def _case_id(case) -> str:
    method, path, query, _, tenant = case
    extra = '&'.join(f'{k}={v}' for k, v in (query or {}).items())
    return f"{method} {path}{'?' + extra if extra else ''}{' T' if tenant else ''}"


def _ask(caller, case, values: dict[str, str], scoping: str | None) -> tuple[int, str]:
    method, path, query, body, tenant = case
    response = caller.request(method, fill(path, values), query=fill(query, values),
                              json=fill(body, values),
                              tenant=fill(tenant, values) if tenant else scoping)
    return answer(response, values)


# A read changes nothing, so one world serves every read (and the test lists every read that
# differs); a write may, if it wrongly succeeds: each gets a world of its own.
READS = [case for case in CASES if case[0] == 'GET']
WRITES = [case for case in CASES if case[0] != 'GET']


def _differences(caller, cases, world, scoping: str | None) -> dict[str, list]:
    hidden, own = world['hidden'], world['own']
    found = {}
    for case in cases:
        answers = [_ask(caller, case, {**values, **own}, scoping)
                   for values in (hidden, nothing(hidden))]
        if answers[0] != answers[1] or answers[0][0] == 500:
            found[_case_id(case)] = answers
    return found


def test_every_read_of_a_hidden_object_answers_as_nothing(world):
    assert _differences(world['caller'], READS, world, None) == {}


@pytest.mark.parametrize('case', WRITES, ids=[_case_id(c) for c in WRITES])
def test_a_write_to_a_hidden_object_answers_as_nothing(world, case):
    assert _differences(world['caller'], [case], world, None) == {}


# The top tenant's administrator scoped to ``one`` by Wazo-Tenant (it sees everything else).
# PUT /emails/{e}/confirm ignores Wazo-Tenant (spec §1.9: no tenant check; the token's own
# tenants bound it): there, the top tenant's administrator sees two's address, rightly.
SCOPED = [case for case in CASES
          if case[4] is None and not case[2] and case[1] != '/emails/{email}/confirm']


def test_every_read_of_a_hidden_object_answers_as_nothing_through_wazo_tenant(world, admin):
    reads = [case for case in SCOPED if case[0] == 'GET']
    assert _differences(admin, reads, world, world['own']['own_tenant']) == {}


@pytest.mark.parametrize('case', [c for c in SCOPED if c[0] != 'GET'],
                         ids=[_case_id(c) for c in SCOPED if c[0] != 'GET'])
def test_a_write_to_a_hidden_object_answers_as_nothing_through_wazo_tenant(world, admin, case):
    assert _differences(admin, [case], world, world['own']['own_tenant']) == {}


SWEPT = ['/users', '/groups', '/policies', '/tenants', '/clients', '/sessions', '/tokens',
         '/events', '/users/{own_user}/policies', '/users/{own_user}/groups',
         '/users/{own_user}/sessions', '/users/{own_user}/tokens', '/groups/{own_group}/users',
         '/groups/{own_group}/policies']


def test_no_list_names_a_hidden_object(world):
    """Every list the caller reads, recursive, says nothing of the hidden objects, though
    visible ones hold them (a policy of another tenant attached to the caller's user...)."""
    own, hidden = world['own'], world['hidden']
    named = {}
    for path in SWEPT:
        page = world['caller'].ok('GET', fill(path, own), query=RECURSE)
        text = json.dumps(page)
        assert page['total'] >= len(page['items']), path
        named[path] = [key for key, value in hidden.items() if value in text]
    assert named == {path: [] for path in SWEPT}


def test_the_policies_of_a_visible_user_or_group_count_only_visible_ones(world):
    caller, own = world['caller'], world['own']

    for path in (f"/users/{own['own_user']}/policies", f"/groups/{own['own_group']}/policies"):
        page = caller.ok('GET', path)
        assert [item['uuid'] for item in page['items']] == [own['own_policy']], page
        assert page['total'] == page['filtered'] == 1, page


def test_link_events_name_only_the_policies_the_caller_sees(world, admin):
    """The top tenant's administrator attached a policy of ``two`` to the caller's user: the
    caller's trail says a policy was attached, not which; its own policy is named."""
    caller, own, hidden = world['caller'], world['own'], world['hidden']
    query = {'name': 'auth_user_policy_added', 'user_uuid': own['own_user']}

    seen = {event['data']['policy_uuid']: event['routing_key']
            for event in caller.ok('GET', '/events', query=query)['items']}
    prefix = f"auth.users.{own['own_user']}.policies."
    assert seen == {None: prefix + 'redacted.added',
                    own['own_policy']: prefix + own['own_policy'] + '.added'}, seen
    everything = {event['data']['policy_uuid'] for event in admin.ok(
        'GET', '/events', query={**query, **RECURSE})['items']}
    assert everything == {hidden['policy'], hidden['top_policy'], own['own_policy']}


def test_a_contact_outside_the_callers_tenants_reads_null(world, admin):
    """The caller reads its tenant's contact, set by the top tenant's operator to one of its
    own users, as null (PUT replaces it, as every field); the operator still reads it."""
    caller, own, contact = world['caller'], world['own'], world['hidden']['contact']
    tenant = f"/tenants/{own['own_tenant']}"

    assert caller.ok('GET', tenant)['contact'] is None
    assert [t['contact'] for t in caller.ok('GET', '/tenants')['items']] == [None, None]
    assert admin.ok('GET', tenant)['contact'] == contact
    assert caller.ok('PUT', tenant, json={'name': 'one', 'phone': '555'})['contact'] is None
    assert admin.ok('GET', tenant)['contact'] is None
