"""Refresh-token management endpoints (wazo-token-api §3.3): list, per user, me, delete."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.support.offline_access import (
    assert_error, auth, execute, is_valid, make_tenant, offline_login, refresh_login,
    refresh_token_of, token_of, token_row)
from wazo_like_auth.repositories import refresh_tokens as refresh_repo

FIELDS = {'client_id', 'created_at', 'mobile', 'user_uuid', 'tenant_uuid', 'metadata'}


@pytest.fixture
def alice(make_user):
    return make_user('alice', acl=['auth.users.me.tokens.#'])


@pytest.fixture
def admin(client, make_user):
    make_user('admin', acl=['auth.#'])
    return auth(token_of(client, 'admin'))


def _client_ids(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item['client_id'] for item in response.get_json()['items']]


def test_list_shows_exactly_the_public_fields(client, admin, alice, top_tenant):
    value = offline_login(client, 'alice', 'my-app',
                          headers={'User-Agent': 'agent-007'}).get_json()['data'][
        'refresh_token']

    response = client.get('/0.1/tokens', headers=admin)

    body = response.get_json()
    assert (body['total'], body['filtered']) == (1, 1)
    [item] = body['items']
    assert set(item) == FIELDS
    assert item['client_id'] == 'my-app' and item['mobile'] is False
    assert item['user_uuid'] == str(alice) and item['tenant_uuid'] == str(top_tenant)
    assert item['metadata'] == {}
    assert dt.datetime.fromisoformat(item['created_at']).utcoffset() is not None
    text = response.get_data(as_text=True)
    assert value not in text and 'agent-007' not in text and '127.0.0.1' not in text


def test_user_tokens_lists_only_that_users_refresh_tokens(client, admin, make_user, alice):
    make_user('bob')
    refresh_token_of(client, 'alice', 'alice-app')
    refresh_token_of(client, 'bob', 'bob-app')

    assert _client_ids(client.get(f'/0.1/users/{alice}/tokens', headers=admin)) == [
        'alice-app']
    assert sorted(_client_ids(client.get('/0.1/tokens', headers=admin))) == [
        'alice-app', 'bob-app']


def test_me_tokens_equals_the_admin_view_of_the_user(client, admin, make_user, alice):
    make_user('bob')
    refresh_token_of(client, 'alice', 'one')
    refresh_token_of(client, 'alice', 'two', mobile=True)
    refresh_token_of(client, 'bob', 'bob-app')
    mine = auth(token_of(client, 'alice'))

    me = client.get('/0.1/users/me/tokens', headers=mine).get_json()
    admin_view = client.get(f'/0.1/users/{alice}/tokens', headers=admin).get_json()

    assert me == admin_view
    assert [item['client_id'] for item in me['items']] == ['one', 'two']


def test_parent_tenant_admin_sees_a_sub_tenant_users_tokens(client, admin, make_user, sessions,
                                                            top_tenant):
    child = make_tenant(sessions, top_tenant, 'child')
    dave = make_user('dave', tenant_uuid=child)
    refresh_token_of(client, 'dave', 'dave-app')

    response = client.get(f'/0.1/users/{dave}/tokens', headers=admin)

    assert _client_ids(response) == ['dave-app']
    assert response.get_json()['items'][0]['tenant_uuid'] == str(child)


def test_deleting_a_refresh_token_refuses_it_but_keeps_its_access_tokens(client, engine, admin,
                                                                         alice):
    offline = offline_login(client, 'alice', 'my.app').get_json()['data']
    refreshed = refresh_login(client, offline['refresh_token'], 'my.app').get_json()['data']

    response = client.delete(f'/0.1/users/{alice}/tokens/my.app', headers=admin)

    assert response.status_code == 204
    assert_error(refresh_login(client, offline['refresh_token'], 'my.app'), 401,
                 'authentication-failed')
    assert is_valid(client, offline['token']) and is_valid(client, refreshed['token'])
    assert token_row(engine, refreshed['token']).refresh_token_uuid is None
    assert _client_ids(client.get(f'/0.1/users/{alice}/tokens', headers=admin)) == []


def test_deleting_an_unknown_client_id_is_not_found(client, admin, alice):
    refresh_token_of(client, 'alice', 'my-app')

    response = client.delete(f'/0.1/users/{alice}/tokens/other-app', headers=admin)

    error = assert_error(response, 404, 'cannot-find-refresh-token-matching-client-id')
    assert error['details'] == {'client_id': 'other-app'}


@pytest.mark.parametrize('client_id', ['a%00b', 'x' * 5000])
def test_deleting_an_impossible_client_id_is_not_found(client, admin, alice, client_id):
    for path in (f'/0.1/users/{alice}/tokens/{client_id}', f'/0.1/users/me/tokens/{client_id}'):
        assert_error(client.delete(path, headers=admin), 404,
                     'cannot-find-refresh-token-matching-client-id')


@pytest.mark.parametrize('client_id', ['team/chat', 'a/b/c', 'trail/'])
def test_a_client_id_holding_slashes_can_be_deleted(client, admin, alice, client_id):
    # Any client_id may ask for a refresh token: each must also be removable, by its owner
    # and by an administrator (wazo-auth's route stops at the first slash: never found).
    value = refresh_token_of(client, 'alice', client_id)
    mine = auth(token_of(client, 'alice'))
    assert client.delete(f'/0.1/users/me/tokens/{client_id}', headers=mine).status_code == 204
    assert_error(refresh_login(client, value, client_id), 401, 'authentication-failed')
    refresh_token_of(client, 'alice', client_id)
    assert client.delete(f'/0.1/users/{alice}/tokens/{client_id}',
                         headers=admin).status_code == 204
    assert _client_ids(client.get(f'/0.1/users/{alice}/tokens', headers=admin)) == []


def test_deleting_twice_is_not_found_the_second_time(client, admin, alice):
    refresh_token_of(client, 'alice', 'my-app')
    path = f'/0.1/users/{alice}/tokens/my-app'

    assert client.delete(path, headers=admin).status_code == 204
    assert_error(client.delete(path, headers=admin), 404,
                 'cannot-find-refresh-token-matching-client-id')


def test_deleting_only_removes_the_named_users_token(client, admin, make_user, alice):
    bob = make_user('bob')
    refresh_token_of(client, 'alice', 'shared')
    bob_value = refresh_token_of(client, 'bob', 'shared')

    assert client.delete(f'/0.1/users/{alice}/tokens/shared', headers=admin).status_code == 204

    assert refresh_login(client, bob_value, 'shared').status_code == 200
    assert _client_ids(client.get(f'/0.1/users/{bob}/tokens', headers=admin)) == ['shared']


def test_user_deletes_own_refresh_token_through_me(client, alice):
    value = refresh_token_of(client, 'alice', 'my-app')
    mine = auth(token_of(client, 'alice'))

    assert client.delete('/0.1/users/me/tokens/my-app', headers=mine).status_code == 204

    assert_error(refresh_login(client, value, 'my-app'), 401, 'authentication-failed')
    assert_error(client.delete('/0.1/users/me/tokens/my-app', headers=mine), 404,
                 'cannot-find-refresh-token-matching-client-id')


def test_me_delete_needs_the_acl_of_that_client_id(client, make_user):
    make_user('carol', acl=['auth.users.me.tokens.phone.delete'])
    refresh_token_of(client, 'carol', 'laptop')
    refresh_token_of(client, 'carol', 'phone')
    mine = auth(token_of(client, 'carol'))

    assert_error(client.delete('/0.1/users/me/tokens/laptop', headers=mine), 401,
                 'unauthorized')
    assert client.delete('/0.1/users/me/tokens/phone', headers=mine).status_code == 204


@pytest.fixture
def catalogue(client, alice):
    """Refresh tokens of alice, in creation order."""
    names = [('Web-Client', False), ('mobile-ios', True), ('mobile-android', True),
             ('desktop', False)]
    for name, mobile in names:
        refresh_token_of(client, 'alice', name, mobile=mobile)
    # A mobile login revokes the other mobile refresh tokens: re-add ios as non-mobile.
    refresh_token_of(client, 'alice', 'mobile-ios')
    return ['Web-Client', 'mobile-android', 'desktop', 'mobile-ios']


def test_search_is_a_case_insensitive_substring_of_client_id(client, admin, catalogue):
    response = client.get('/0.1/tokens?search=MOBILE', headers=admin)

    assert sorted(_client_ids(response)) == ['mobile-android', 'mobile-ios']
    assert (response.get_json()['total'], response.get_json()['filtered']) == (4, 2)
    assert _client_ids(client.get('/0.1/tokens?search=web', headers=admin)) == ['Web-Client']


def test_strict_filters_match_client_id_and_mobile_exactly(client, admin, catalogue):
    assert _client_ids(client.get('/0.1/tokens?client_id=desktop', headers=admin)) == [
        'desktop']
    assert _client_ids(client.get('/0.1/tokens?client_id=DESKTOP', headers=admin)) == []
    assert _client_ids(client.get('/0.1/tokens?client_id=desk', headers=admin)) == []
    mobile = client.get('/0.1/tokens?mobile=true', headers=admin)
    assert _client_ids(mobile) == ['mobile-android']
    assert (mobile.get_json()['total'], mobile.get_json()['filtered']) == (4, 1)
    assert len(_client_ids(client.get('/0.1/tokens?mobile=False', headers=admin))) == 3


def test_default_order_is_creation_time_and_order_direction_apply(client, admin, catalogue):
    assert _client_ids(client.get('/0.1/tokens', headers=admin)) == catalogue
    by_name = client.get('/0.1/tokens?order=client_id&direction=desc', headers=admin)
    assert _client_ids(by_name) == sorted(catalogue, reverse=True)
    newest_first = client.get('/0.1/tokens?direction=desc', headers=admin)
    assert _client_ids(newest_first) == catalogue[::-1]


def test_limit_and_offset_page_without_changing_the_counts(client, admin, alice, catalogue):
    response = client.get('/0.1/tokens?order=client_id&limit=2&offset=1', headers=admin)

    assert _client_ids(response) == sorted(catalogue)[1:3]
    assert (response.get_json()['total'], response.get_json()['filtered']) == (4, 4)
    user_page = client.get(f'/0.1/users/{alice}/tokens?limit=1&offset=3', headers=admin)
    assert _client_ids(user_page) == catalogue[3:]


def test_the_created_at_filter_finds_the_created_at_the_list_shows(client, make_user):
    alice = make_user('alice')
    make_user('admin', acl=['#'])
    admin = auth(token_of(client, 'admin'))
    refresh_token_of(client, 'alice', 'my-app')
    listed = client.get(f'/0.1/users/{alice}/tokens', headers=admin).get_json()['items'][0]
    found = client.get(f'/0.1/users/{alice}/tokens',
                       query_string={'created_at': listed['created_at']}, headers=admin)
    assert found.status_code == 200 and found.get_json()['filtered'] == 1, found.get_json()
    bad = client.get(f'/0.1/users/{alice}/tokens', query_string={'created_at': 'yesterday'},
                     headers=admin)
    assert bad.status_code == 400 and bad.get_json()['error_id'] == 'invalid-list-param'


def test_deleting_refresh_tokens_of_a_user_deleted_meanwhile_is_404_not_500(
        client, engine, make_user, monkeypatch):
    alice = make_user('alice')
    make_user('admin', acl=['#'])
    admin = auth(token_of(client, 'admin'))
    refresh_token_of(client, 'alice', 'my-app')
    found_rows = refresh_repo.all_for_client

    def then_another_node_deletes_alice(db, user_uuid, client_id):
        found = found_rows(db, user_uuid, client_id)
        execute(engine, 'DELETE FROM auth_user WHERE uuid = :u', u=alice)  # committed now
        return found
    monkeypatch.setattr(refresh_repo, 'all_for_client', then_another_node_deletes_alice)
    response = client.delete(f'/0.1/users/{alice}/tokens/my-app', headers=admin)
    assert response.status_code == 404, response.get_json()
