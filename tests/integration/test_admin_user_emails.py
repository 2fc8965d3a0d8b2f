"""A user's e-mail addresses through the HTTP API (admin spec §1.2, §1.9, spec D4)."""
from __future__ import annotations

import uuid

import pytest

from tests.support.admin_client import AdminClient, token_of
from tests.support.offline_access import assert_error


def emails(*addresses, main=0, **extra):
    return {'emails': [{'address': a, 'main': i == main, **extra}
                       for i, a in enumerate(addresses)]}


@pytest.fixture
def user(make_user):
    return make_user('alice', email='alice@example.com')


def test_replacing_keeps_the_identity_and_confirmation_of_kept_addresses(admin, user):
    [before] = admin.ok('GET', f'/users/{user}')['emails']

    result = admin.ok('PUT', f'/users/{user}/emails',
                      json=emails('new@example.com', 'alice@example.com', confirmed=True))

    assert [set(item) for item in result] == [{'uuid', 'address', 'main', 'confirmed'}] * 2
    new, kept = result
    assert (new['address'], new['main'], new['confirmed']) == ('new@example.com', True, False)
    assert kept == {**before, 'main': False}
    listed = admin.ok('GET', f'/users/{user}')['emails']
    assert sorted(listed, key=lambda e: e['address']) == [kept, new]


def test_administrators_say_whether_addresses_are_confirmed(admin, user):
    result = admin.ok('PUT', f'/admin/users/{user}/emails', json={'emails': [
        {'address': 'alice@example.com', 'main': True, 'confirmed': False},
        {'address': 'yes@example.com', 'confirmed': True},
        {'address': 'unsaid@example.com', 'confirmed': None}]})

    assert [(e['address'], e['confirmed']) for e in result] == [
        ('alice@example.com', False), ('yes@example.com', True), ('unsaid@example.com', False)]


def test_only_confirmed_addresses_log_in(admin, login, user):
    admin.ok('PUT', f'/admin/users/{user}/emails', json={'emails': [
        {'address': 'confirmed@example.com', 'main': True, 'confirmed': True},
        {'address': 'pending@example.com'}]})

    assert login('CONFIRMED@example.com', 's3cret').status_code == 200
    assert login('pending@example.com', 's3cret').status_code == 401
    assert login('alice@example.com', 's3cret').status_code == 401


def test_an_empty_list_removes_every_address(admin, user):
    assert admin.ok('PUT', f'/users/{user}/emails', json={'emails': []}) == []

    assert admin.ok('GET', f'/users/{user}')['emails'] == []


def test_an_address_may_change_case(admin, user):
    [result] = admin.ok('PUT', f'/users/{user}/emails', json=emails('Alice@Example.com'))

    assert result['address'] == 'Alice@Example.com'


@pytest.mark.parametrize('body', [
    {},
    {'emails': None},
    {'emails': 'a@example.com'},
    {'emails': [{'main': True}]},
    {'emails': [{'address': 'not-an-email', 'main': True}]},
    {'emails': [{'address': 'a@example.com', 'main': None}]},
    {'emails': [{'address': 'a@example.com'}]},
    {'emails': [{'address': 'a@example.com', 'main': True},
                {'address': 'b@example.com', 'main': True}]},
    {'emails': [{'address': 'a@example.com', 'main': True}, {'address': 'a@example.com'}]},
    {'emails': [{'address': 'a@example.com', 'main': True}, {'address': 'A@example.com'}]},
])
def test_invalid_lists_answer_400(admin, user, body):
    response = admin.put(f'/users/{user}/emails', json=body)

    assert assert_error(response, 400, 'invalid-data')['details']


def test_a_login_of_another_user_conflicts_but_its_own_username_does_not(
        admin, make_user, user):
    make_user('bob', email='bob@example.com')
    make_user('carl@example.com')

    for taken in ('BOB@example.com', 'Carl@Example.com'):
        response = admin.put(f'/users/{user}/emails', json=emails(taken))
        details = assert_error(response, 409, 'conflict')['details']
        assert details['email_address']['constraint_id'] == 'unique'
    own = make_user('dora@example.com')
    assert admin.put(f'/users/{own}/emails', json=emails('dora@example.com')).status_code == 200


def test_unknown_user_answers_404(admin):
    for path in (f'/users/{uuid.uuid4()}/emails', f'/admin/users/{uuid.uuid4()}/emails'):
        assert_error(admin.put(path, json={'emails': []}), 404, 'unknown-user')


def test_users_change_their_own_addresses_but_not_confirmation(client, login, make_user):
    other = make_user('other')
    plain = make_user('plain')
    me = make_user('selfie', acl=['auth.users.me.emails.update'])
    selfie = AdminClient(client, token_of(login, 'selfie'))
    # ``me`` in the token's ACL stands for the token's own user.
    [mine] = selfie.ok('PUT', f'/users/{me}/emails',
                       json=emails('selfie@example.com', confirmed=True))
    [again] = selfie.ok('PUT', '/users/me/emails', json=emails('selfie@example.com'))

    assert mine['confirmed'] is False
    assert again['uuid'] == mine['uuid']
    assert_error(selfie.put(f'/users/{other}/emails', json={'emails': []}), 401, 'unauthorized')
    assert_error(selfie.put(f'/admin/users/{me}/emails', json={'emails': []}), 401,
                 'unauthorized')
    without_acl = AdminClient(client, token_of(login, 'plain'))
    assert_error(without_acl.put(f'/users/{plain}/emails', json={'emails': []}), 401,
                 'unauthorized')


def test_other_tenants_users_are_out_of_reach(admin, client, login, make_user, user):
    child = admin.ok('POST', '/tenants', json={'name': 'child'})['uuid']
    make_user('sub-admin', acl=['#'], tenant_uuid=uuid.UUID(child))
    sub = AdminClient(client, token_of(login, 'sub-admin'))

    for path in (f'/users/{user}/emails', f'/admin/users/{user}/emails'):
        assert_error(sub.put(path, json={'emails': []}), 404, 'unknown-user')
    assert len(admin.ok('GET', f'/users/{user}')['emails']) == 1
