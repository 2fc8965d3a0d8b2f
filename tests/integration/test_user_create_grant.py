"""Creating a user makes it a member of its tenant's all-users group: a grant like adding it
to a group by hand (README "What a caller may grant"). The creator chooses the password and
could sign in as the user, so it must hold what the group's policies give."""
from __future__ import annotations

from tests.support.admin_client import AdminClient, token_of


def _child_whose_users_get(admin, acl: list[str]) -> str:
    child = admin.ok('POST', '/tenants', json={'name': 'child'})['uuid']
    policy = admin.ok('POST', '/policies', json={'name': 'ops', 'acl': acl}, tenant=child)
    [all_users] = admin.ok('GET', '/groups', tenant=child, query={'read_only': True})['items']
    admin.ok('PUT', f"/groups/{all_users['uuid']}/policies/{policy['uuid']}", 204,
             tenant=child)
    return child


def test_a_creator_not_holding_what_the_all_users_group_gives_cannot_create_a_user(
        admin, client, make_user, login):
    child = _child_whose_users_get(admin, ['confd.#'])
    make_user('mallory', acl=['auth.users.create'])
    mallory = AdminClient(client, token_of(login, 'mallory'))
    created = mallory.post('/users', tenant=child,
                           json={'username': 'puppet', 'password': 'puppet-pw'})
    assert created.status_code == 401, created.get_json()
    assert created.get_json()['details']['required_access'] == 'confd.#'
    assert login('puppet', 'puppet-pw').status_code == 401  # no such user was made


def test_a_creator_holding_it_creates_the_user_who_gets_it(admin, client, login):
    child = _child_whose_users_get(admin, ['confd.users.read'])
    created = admin.post('/users', tenant=child,
                         json={'username': 'worker', 'password': 'worker-pw'})
    assert created.status_code == 200, created.get_json()
    token = token_of(login, 'worker', 'worker-pw')
    assert client.head(f'/0.1/token/{token}',
                       query_string={'scope': 'confd.users.read'}).status_code == 204
