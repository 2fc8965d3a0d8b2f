"""Session endpoints (wazo-token-api §3.4, with the D5 fix on DELETE /users/{u}/sessions/{s})."""
from __future__ import annotations

import uuid

import pytest

from tests.support.credentials import basic
from tests.support.offline_access import (
    assert_error, auth, is_valid, make_tenant, rows, token_of, token_row)
from wazo_like_auth.app import services_of

FIELDS = {'uuid', 'mobile', 'tenant_uuid', 'user_uuid'}


@pytest.fixture
def admin(client, make_user):
    make_user('admin', acl=['auth.#'])
    return auth(token_of(client, 'admin'))


@pytest.fixture
def alice(make_user):
    return make_user('alice')


def _session_of(engine, token: str) -> str:
    return str(token_row(engine, token).session_uuid)


def _outsider_and_alices_session(client, make_user, sessions, top_tenant):
    """Headers of an admin of another tenant, and alice's token and session uuid."""
    other = make_tenant(sessions, top_tenant, 'other')
    make_user('other-admin', acl=['auth.#'], tenant_uuid=other)
    admin = auth(token_of(client, 'other-admin'))
    token = token_of(client, 'alice')
    return admin, token, _session_of(services_of(client.application).engine,
                                     token)


def _items(response) -> list[dict]:
    assert response.status_code == 200, response.get_json()
    return response.get_json()['items']


def test_sessions_list_shows_uuid_mobile_tenant_and_user(client, engine, admin, alice,
                                                         top_tenant):
    token = client.post('/0.1/token', json={}, headers={
        **basic('alice', 's3cret'), 'Wazo-Session-Type': 'mobile'}).get_json()['data']['token']

    body = client.get(f'/0.1/users/{alice}/sessions', headers=admin).get_json()

    assert (body['total'], body['filtered']) == (1, 1)
    assert body['items'] == [{'uuid': _session_of(engine, token), 'mobile': True,
                              'tenant_uuid': str(top_tenant), 'user_uuid': str(alice)}]
    everyone = _items(client.get('/0.1/sessions', headers=admin))
    assert len(everyone) == 2 and all(set(item) == FIELDS for item in everyone)


def test_sessions_list_is_scoped_to_the_tenant_and_recurses_on_demand(
        client, make_user, sessions, top_tenant):
    child = make_tenant(sessions, top_tenant, 'child')
    make_user('root-admin', acl=['auth.sessions.read'])
    make_user('dave', tenant_uuid=child)
    admin = auth(token_of(client, 'root-admin'))
    token_of(client, 'dave')

    def tenants(query='', tenant=None):
        response = client.get(f'/0.1/sessions{query}', headers={**admin, **(
            {'Wazo-Tenant': str(tenant)} if tenant else {})})
        return sorted(item['tenant_uuid'] for item in _items(response))

    assert tenants() == [str(top_tenant)]
    assert tenants('?recurse=true') == sorted([str(top_tenant), str(child)])
    assert tenants(tenant=child) == [str(child)]


def test_sessions_order_by_mobile_with_limit_and_offset(client, admin, alice):
    token_of(client, 'alice')
    client.post('/0.1/token', json={}, headers={**basic('alice', 's3cret'),
                                                'Wazo-Session-Type': 'mobile'})

    desc = client.get('/0.1/sessions?order=mobile&direction=desc', headers=admin)
    page = client.get('/0.1/sessions?order=mobile&limit=1&offset=2', headers=admin)

    assert [item['mobile'] for item in _items(desc)] == [True, False, False]
    assert [item['mobile'] for item in _items(page)] == [True]
    assert (page.get_json()['total'], page.get_json()['filtered']) == (3, 3)


def test_deleting_a_session_invalidates_its_token_at_once(client, engine, admin, alice):
    token = token_of(client, 'alice')
    assert is_valid(client, token)  # now possibly cached

    response = client.delete(f'/0.1/sessions/{_session_of(engine, token)}', headers=admin)

    assert response.status_code == 204
    assert not is_valid(client, token)
    assert _items(client.get(f'/0.1/users/{alice}/sessions', headers=admin)) == []


def test_deleting_an_unknown_session_answers_204(client, admin):
    assert client.delete(f'/0.1/sessions/{uuid.uuid4()}', headers=admin).status_code == 204


def test_session_path_that_is_not_a_uuid_is_not_found(client, admin):
    assert_error(client.delete('/0.1/sessions/not-a-uuid', headers=admin), 404, 'not-found')


def test_deleting_a_session_of_another_tenant_does_nothing(client, make_user, sessions,
                                                           top_tenant, alice):
    admin, token, session = _outsider_and_alices_session(client, make_user, sessions,
                                                         top_tenant)

    assert client.delete(f'/0.1/sessions/{session}', headers=admin).status_code == 204

    assert is_valid(client, token)


def test_user_deletes_own_session_with_my_session_acl(client, engine, make_user):
    make_user('carol', acl=['auth.sessions.my_session.delete'])
    token = token_of(client, 'carol')
    other = token_of(client, 'carol')

    assert_error(client.delete(f'/0.1/sessions/{_session_of(engine, other)}',
                               headers=auth(token)), 401, 'unauthorized')
    response = client.delete(f'/0.1/sessions/{_session_of(engine, token)}',
                             headers=auth(token))

    assert response.status_code == 204
    assert not is_valid(client, token) and is_valid(client, other)


def test_user_sessions_lists_only_that_users_sessions(client, engine, admin, make_user, alice):
    make_user('bob')
    mine = token_of(client, 'alice')
    token_of(client, 'bob')

    items = _items(client.get(f'/0.1/users/{alice}/sessions', headers=admin))

    assert [item['uuid'] for item in items] == [_session_of(engine, mine)]


def test_deleting_a_users_session_revokes_it(client, engine, admin, alice):
    token = token_of(client, 'alice')

    path = f'/0.1/users/{alice}/sessions/{_session_of(engine, token)}'
    assert client.delete(path, headers=admin).status_code == 204

    assert not is_valid(client, token)


def test_deleting_another_users_session_through_a_user_path_does_nothing(
        client, engine, admin, make_user, alice):
    make_user('bob')
    bob_token = token_of(client, 'bob')

    path = f'/0.1/users/{alice}/sessions/{_session_of(engine, bob_token)}'
    assert client.delete(path, headers=admin).status_code == 204

    assert is_valid(client, bob_token)
    assert rows(engine, 'SELECT count(*) FROM auth_session')[0][0] == 2


def test_user_session_delete_for_an_invisible_user_is_unknown_user(client, make_user, sessions,
                                                                   top_tenant, alice):
    admin, token, session = _outsider_and_alices_session(client, make_user, sessions,
                                                         top_tenant)

    response = client.delete(f'/0.1/users/{alice}/sessions/{session}', headers=admin)

    assert_error(response, 404, 'unknown-user')
    assert is_valid(client, token)
