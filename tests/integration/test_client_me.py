"""A client's own token and `me` (README "ACL patterns"): a client_id with dots is no `me`,
or a client named after a user's uuid plus a suffix would reach that user's resources with
`confd.users.me.#`, which anyone may grant who holds it for themselves."""
from __future__ import annotations

from tests.support.admin_client import AdminClient, token_of
from tests.support.credentials import basic


def test_a_client_named_after_a_users_uuid_does_not_reach_that_users_resources(
        client, make_user, login):
    victim = make_user('victim')
    token_of(login, 'victim')  # the victim has a session
    make_user('mallory', acl=['auth.clients.create', 'auth.users.me.#', 'confd.users.me.#'])
    mallory = AdminClient(client, token_of(login, 'mallory'))
    assert mallory.get(f'/users/{victim}/sessions').status_code == 401
    client_id = f'{victim}.sessions'
    created = mallory.post('/clients', json={
        'client_id': client_id, 'acl': ['auth.users.me.#', 'confd.users.me.#']})
    assert created.status_code == 200, created.get_json()
    grant = client.post('/0.1/oauth2/token', data={'grant_type': 'client_credentials'},
                        headers=basic(client_id, created.get_json()['client_secret']))
    robot = grant.get_json()['access_token']

    assert AdminClient(client, robot).get(f'/users/{victim}/sessions').status_code == 401
    assert client.head(f'/0.1/token/{robot}', query_string={
        'scope': f'confd.users.{victim}.sessions.update'}).status_code == 403
