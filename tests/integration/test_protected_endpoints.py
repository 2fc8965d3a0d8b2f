"""The in-process token check of protected endpoints (wazo-token-api §0.4): token, ACL with path
parameters substituted, and Wazo-Tenant scoping."""
from __future__ import annotations

import uuid

import pytest

from tests.support.offline_access import (
    assert_error, auth, expire_token, make_tenant, refresh_token_of, token_of)


@pytest.fixture
def alice(make_user):
    return make_user('alice')


def test_missing_token_is_unauthorized(client):
    error = assert_error(client.get('/0.1/tokens'), 401, 'unauthorized')

    assert error['details']['reason'] == 'not_found_or_expired'
    assert error['details']['required_access'] == 'auth.tokens.read'


@pytest.mark.parametrize('value', ['not-a-token', '00000000-0000-0000-0000-000000000000',
                                   'x' * 2000])
def test_unknown_token_is_unauthorized(client, value):
    assert_error(client.get('/0.1/tokens', headers=auth(value)), 401, 'unauthorized')


def test_expired_token_is_unauthorized(client, engine, make_user):
    make_user('admin', acl=['auth.#'])
    token = token_of(client, 'admin')
    expire_token(engine, token)

    assert_error(client.get('/0.1/tokens', headers=auth(token)), 401, 'unauthorized')


def test_token_without_the_acl_is_unauthorized_not_forbidden(client, make_user):
    make_user('weak', acl=['auth.sessions.read'])
    token = token_of(client, 'weak')

    error = assert_error(client.get('/0.1/tokens', headers=auth(token)), 401, 'unauthorized')

    assert error['details']['reason'] == 'missing_permission_or_invalid_tenant'
    assert error['details']['required_access'] == 'auth.tokens.read'


def test_bearer_authorization_is_accepted(client, make_user):
    make_user('admin', acl=['auth.tokens.read'])
    token = token_of(client, 'admin')

    response = client.get('/0.1/tokens', headers={'Authorization': f'Bearer {token}'})

    assert response.status_code == 200


def test_protected_endpoints_answer_under_both_prefixes(client, make_user):
    make_user('admin', acl=['auth.tokens.read'])
    token = token_of(client, 'admin')

    for prefix in ('/0.1', '/api/auth/0.1'):
        assert client.get(f'{prefix}/tokens', headers=auth(token)).status_code == 200


def test_acl_of_a_path_parameter_replaces_dots_with_underscores(client, make_user, alice):
    refresh_token_of(client, 'alice', 'my.app')
    make_user('helper', acl=[f'auth.users.{alice}.tokens.my_app.delete'])
    token = token_of(client, 'helper')

    response = client.delete(f'/0.1/users/{alice}/tokens/my.app', headers=auth(token))

    assert response.status_code == 204


def test_dotted_path_parameter_cannot_match_more_acl_segments(client, make_user, alice):
    refresh_token_of(client, 'alice', 'my.app')
    make_user('helper', acl=[f'auth.users.{alice}.tokens.my.app.delete',
                             f'auth.users.{alice}.tokens.my.*.delete'])
    token = token_of(client, 'helper')

    response = client.delete(f'/0.1/users/{alice}/tokens/my.app', headers=auth(token))

    assert_error(response, 401, 'unauthorized')


def test_user_acl_for_one_user_does_not_open_another(client, make_user, alice):
    bob = make_user('bob')
    make_user('helper', acl=[f'auth.users.{alice}.tokens.read'])
    token = token_of(client, 'helper')

    assert client.get(f'/0.1/users/{alice}/tokens', headers=auth(token)).status_code == 200
    assert_error(client.get(f'/0.1/users/{bob}/tokens', headers=auth(token)), 401,
                 'unauthorized')


def test_me_acl_reads_own_refresh_tokens(client, make_user):
    make_user('carol', acl=['auth.users.me.tokens.read'])
    refresh_token_of(client, 'carol', 'app')
    token = token_of(client, 'carol')

    response = client.get('/0.1/users/me/tokens', headers=auth(token))

    assert response.status_code == 200
    assert [item['client_id'] for item in response.get_json()['items']] == ['app']


@pytest.fixture
def tenants(sessions, top_tenant):
    """A tree: top → a → a_child, and top → b (unrelated to a)."""
    a = make_tenant(sessions, top_tenant, 'a')
    return {'a': a, 'a_child': make_tenant(sessions, a, 'a-child'),
            'b': make_tenant(sessions, top_tenant, 'b')}


@pytest.fixture
def a_admin(client, make_user, tenants):
    make_user('a-admin', acl=['auth.#'], tenant_uuid=tenants['a'])
    return token_of(client, 'a-admin')


def test_wazo_tenant_of_a_descendant_scopes_the_request(client, make_user, tenants, a_admin):
    make_user('dave', tenant_uuid=tenants['a_child'])
    make_user('erin', tenant_uuid=tenants['a'])
    refresh_token_of(client, 'dave', 'dave-app')
    refresh_token_of(client, 'erin', 'erin-app')

    child = client.get('/0.1/tokens', headers=auth(a_admin, tenants['a_child']))
    own = client.get('/0.1/tokens', headers=auth(a_admin))
    recursive = client.get('/0.1/tokens?recurse=true', headers=auth(a_admin))

    assert [i['client_id'] for i in child.get_json()['items']] == ['dave-app']
    assert [i['client_id'] for i in own.get_json()['items']] == ['erin-app']
    assert sorted(i['client_id'] for i in recursive.get_json()['items']) == [
        'dave-app', 'erin-app']


@pytest.mark.parametrize('tenant', ['b', 'top', 'unknown', 'garbage'])
def test_wazo_tenant_outside_the_callers_tree_is_unauthorized(client, tenants, top_tenant,
                                                              a_admin, tenant):
    header = {'b': tenants['b'], 'top': top_tenant, 'unknown': uuid.uuid4(),
              'garbage': 'not-a-uuid'}[tenant]

    response = client.get('/0.1/tokens', headers=auth(a_admin, header))

    error = assert_error(response, 401, 'unauthorized-tenant')
    assert error['details']['tenant_uuid'] == str(header)


def test_user_of_an_unrelated_tenant_is_an_unknown_user(client, make_user, tenants, a_admin):
    stranger = make_user('frank', tenant_uuid=tenants['b'])

    for path in (f'/0.1/users/{stranger}/tokens', f'/0.1/users/{stranger}/sessions'):
        error = assert_error(client.get(path, headers=auth(a_admin)), 404, 'unknown-user')
        assert error['details'] == {'uuid': str(stranger)}
    response = client.delete(f'/0.1/users/{stranger}/tokens/app', headers=auth(a_admin))
    assert_error(response, 404, 'unknown-user')


def test_unknown_user_is_an_unknown_user(client, make_user):
    make_user('admin', acl=['auth.#'])
    token = token_of(client, 'admin')

    response = client.get(f'/0.1/users/{uuid.uuid4()}/tokens', headers=auth(token))

    assert_error(response, 404, 'unknown-user')
