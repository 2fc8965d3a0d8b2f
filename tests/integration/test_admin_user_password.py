"""PUT /users/{u}/password (admin spec §1.8, spec D4, D5, D6)."""
from __future__ import annotations

import uuid

import pytest

from tests.support.admin_client import AdminClient, token_of
from tests.support.offline_access import (assert_error, is_valid, offline_login,
                                              refresh_rows)


def change(client, user, old='s3cret', new='n3w-secret', **kwargs):
    return client.put(f'/users/{user}/password',
                      json={'old_password': old, 'new_password': new}, **kwargs)


@pytest.fixture
def user(make_user):
    return make_user('alice')


def test_new_password_replaces_the_old_and_revokes_sessions_but_not_refresh_tokens(
        admin, client, engine, login, user):
    token = token_of(login, 'alice')
    assert offline_login(client, 'alice', 'app').status_code == 200

    response = change(admin, user)

    assert response.status_code == 204 and response.get_data() == b''
    assert not is_valid(client, token)
    assert len(refresh_rows(engine, user)) == 1
    assert login('alice', 's3cret').status_code == 401
    assert login('alice', 'n3w-secret').status_code == 200


def test_wrong_old_password_fails_authentication_and_changes_nothing(admin, login, user):
    token = token_of(login, 'alice')

    body = assert_error(change(admin, user, old='wrong'), 401, 'authentication-failed')

    assert body['message'] == 'Authentication Failed'
    assert is_valid(admin.client, token)
    assert login('alice', 's3cret').status_code == 200


def test_disabled_users_cannot_change_their_password(admin, make_user):
    disabled = make_user('dan', enabled=False)

    assert_error(change(admin, disabled), 401, 'authentication-failed')


def test_a_user_without_username_uses_its_main_confirmed_address(admin, make_user, login):
    by_email = make_user(None, email='eve@example.com')
    unconfirmed = make_user(None, email='fay@example.com', email_confirmed=False)

    assert change(admin, by_email).status_code == 204
    assert login('eve@example.com', 'n3w-secret').status_code == 200
    assert_error(change(admin, unconfirmed), 401, 'authentication-failed')


@pytest.mark.parametrize('body, field', [
    ({'new_password': 'x'}, 'old_password'),
    ({'old_password': 's3cret'}, 'new_password'),
    ({'old_password': 's3cret', 'new_password': ''}, 'new_password'),
    ({'old_password': None, 'new_password': 'x'}, 'old_password'),
    ({'old_password': 's3cret', 'new_password': 7}, 'new_password'),
])
def test_invalid_bodies_answer_400_naming_the_field(admin, user, body, field):
    response = admin.put(f'/users/{user}/password', json=body)

    assert field in assert_error(response, 400, 'invalid-data')['details']


def test_over_long_new_password_is_refused_and_the_old_one_kept(admin, login, user):
    assert_error(change(admin, user, new='x' * 73), 400, 'password-too-long')

    assert login('alice', 's3cret').status_code == 200


def test_unknown_user_answers_404(admin):
    assert_error(change(admin, uuid.uuid4()), 404, 'unknown-user')


def test_users_change_their_own_password_with_a_me_acl(client, login, make_user):
    me = make_user('selfie', acl=['auth.users.me.password.update'])
    other = make_user('other')
    selfie = AdminClient(client, token_of(login, 'selfie'))

    assert change(selfie, me).status_code == 204
    fresh = AdminClient(client, token_of(login, 'selfie', 'n3w-secret'))
    assert_error(change(fresh, other), 401, 'unauthorized')


def test_self_service_works_whatever_wazo_tenant_says(admin, client, login, make_user):
    child = admin.ok('POST', '/tenants', json={'name': 'child'})['uuid']
    me = make_user('selfie', acl=['auth.users.me.password.update'])
    selfie = AdminClient(client, token_of(login, 'selfie'))

    response = change(selfie, me, tenant=child)

    assert response.status_code == 204


def test_other_tenants_users_are_out_of_reach(admin, client, login, make_user, user):
    child = admin.ok('POST', '/tenants', json={'name': 'child'})['uuid']
    make_user('sub-admin', acl=['#'], tenant_uuid=uuid.UUID(child))
    sub = AdminClient(client, token_of(login, 'sub-admin'))

    assert_error(change(sub, user), 404, 'unknown-user')
