"""Regression tests of a review of cross-tenant information leaks: the ``policy_uuid`` /
``policy_slug`` (and ``has_policy_*``) list filters of ``GET /users`` and ``GET /groups`` naming a
policy the caller cannot see match nothing, as an unknown policy would; they tell neither that
the policy exists nor which of the caller's users and groups hold it."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update

from tests.support.admin_client import AdminClient, token_of
from tests.support.offline_access import make_tenant
from wazo_like_auth.models import Policy

USER_FILTERS = ('policy_uuid', 'policy_slug', 'has_policy_uuid', 'has_policy_slug')
GROUP_FILTERS = ('policy_uuid', 'policy_slug')


@pytest.fixture
def holders(admin, client, make_user, login, sessions, top_tenant):
    """Tenants ``one`` and ``two`` below the top tenant and an administrator of ``one``. A
    user of ``one`` (``holder``) and a group of ``one`` (``group``, holder a member) are given,
    by the top tenant's administrator, policies the administrator of ``one`` cannot see: one of
    ``two``, and a non-shared one of the top tenant; and the ones it sees: its own ``ops``, a
    shared and a config-managed one of the top tenant. ``two`` has an ``ops`` policy too."""
    one = make_tenant(sessions, top_tenant, 'one')
    two = make_tenant(sessions, top_tenant, 'two')
    policies = {
        'hidden-two': admin.ok('POST', '/policies', json={'name': 'ops'}, tenant=two),
        'hidden-top': admin.ok('POST', '/policies', json={'name': 'secret-top'}),
        'own': admin.ok('POST', '/policies', json={'name': 'ops'}, tenant=one),
        'shared': admin.ok('POST', '/policies', json={'name': 'shared', 'shared': True}),
        'managed': admin.ok('POST', '/policies', json={'name': 'managed'}),
    }
    with sessions.begin() as db:
        db.execute(update(Policy).where(Policy.uuid == uuid.UUID(policies['managed']['uuid']))
                   .values(config_managed=True))
    holder = str(make_user('holder', tenant_uuid=one))
    group = admin.ok('POST', '/groups', json={'name': 'holders'}, tenant=one)['uuid']
    admin.ok('PUT', f'/groups/{group}/users/{holder}', 204)
    for policy in policies.values():
        admin.ok('PUT', f"/users/{holder}/policies/{policy['uuid']}", 204)
        admin.ok('PUT', f"/groups/{group}/policies/{policy['uuid']}", 204)
    make_user('operator-one', acl=['auth.#'], tenant_uuid=one)
    return {'caller': AdminClient(client, token_of(login, 'operator-one')), 'one': one,
            'holder': holder, 'group': group, 'policies': policies}


def _value(name: str, policy: dict) -> str:
    return policy['uuid'] if name.endswith('uuid') else policy['slug']


def _unknown(name: str) -> str:
    return str(uuid.uuid4()) if name.endswith('uuid') else 'no-such-slug'


def uuids(page):
    return {item['uuid'] for item in page['items']}


FILTERS = [('/users', n) for n in USER_FILTERS] + [('/groups', n) for n in GROUP_FILTERS]
# two's policy shares its slug with one's own: test_a_slug_names_only_the_callers_policy...
HIDDEN = [(path, name, hidden) for path, name in FILTERS for hidden in ('hidden-two', 'hidden-top')
          if not (hidden == 'hidden-two' and name.endswith('slug'))]


@pytest.mark.parametrize('path,name,hidden', HIDDEN)
@pytest.mark.parametrize('recurse', [None, 'true'])
def test_a_hidden_policy_filters_as_an_unknown_one(holders, path, name, hidden, recurse):
    caller = holders['caller']
    extra = {'recurse': recurse} if recurse else {}
    policy = holders['policies'][hidden]

    page = caller.ok('GET', path, query={name: _value(name, policy), **extra})
    assert page['items'] == [] and page['filtered'] == 0, page
    assert page == caller.ok('GET', path, query={name: _unknown(name), **extra})


@pytest.mark.parametrize('path,name', FILTERS)
def test_visible_policies_still_filter(holders, path, name):
    caller = holders['caller']
    expected = {holders['holder']} if path == '/users' else {holders['group']}

    for visible in ('own', 'shared', 'managed'):
        page = caller.ok('GET', path, query={name: _value(name, holders['policies'][visible])})
        assert uuids(page) == expected, (visible, page)


def test_a_slug_names_only_the_callers_policy_of_that_slug(holders, admin):
    """``ops`` is a slug of both ``one`` and ``two``: a user holding only two's ``ops`` is
    not listed by the administrator of ``one``, but is by the top tenant's."""
    caller, one = holders['caller'], holders['one']
    only_hidden = admin.ok('POST', '/users', json={'username': 'only-hidden'}, tenant=one)['uuid']
    hidden = holders['policies']['hidden-two']['uuid']
    admin.ok('PUT', f'/users/{only_hidden}/policies/{hidden}', 204)

    for name in ('policy_slug', 'has_policy_slug'):
        assert uuids(caller.ok('GET', '/users', query={name: 'ops'})) == {holders['holder']}
        assert uuids(admin.ok('GET', '/users', query={name: 'ops', 'recurse': 'true'})) == {
            holders['holder'], only_hidden}


def test_the_top_administrator_still_filters_by_every_policy(holders, admin):
    for hidden in ('hidden-two', 'hidden-top'):
        policy_uuid = holders['policies'][hidden]['uuid']
        query = {'policy_uuid': policy_uuid, 'recurse': 'true'}
        assert uuids(admin.ok('GET', '/users', query=query)) == {holders['holder']}
        assert uuids(admin.ok('GET', '/groups', query=query)) == {holders['group']}


@pytest.mark.parametrize('value', ['not-a-uuid', '%', 'x' * 300, str(uuid.UUID(int=0))])
def test_odd_policy_filter_values_match_nothing(holders, value):
    caller = holders['caller']

    for path, names in (('/users', USER_FILTERS), ('/groups', GROUP_FILTERS)):
        for name in names:
            response = caller.get(path, query={name: value})
            assert response.status_code == 200, (path, name, response.get_data())
            assert response.get_json()['items'] == [], (path, name)
