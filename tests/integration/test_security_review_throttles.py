"""Issue 12: the login throttle counts per user whatever login string named it (10), failed
old-password checks count as failed logins (11), every bearer-authenticated endpoint is inside
the unknown-token throttle (12); admin error bodies carry wazo-auth's ``resource`` (15)."""
from __future__ import annotations

import uuid

import pytest

from tests.support.openapi_check import check_response
from tests.support.credentials import basic
from tests.support.envelope import assert_envelope
from wazo_like_auth.app import create_app, shutdown
from wazo_like_auth.http import openapi

ATTACKER = '203.0.113.66'
USER_HOME = '198.51.100.7'


@pytest.fixture
def throttled_app(make_config, db_uri, engine):
    built = []

    def build(**throttle):
        app = create_app(make_config(db_uri=db_uri, throttle=throttle), engine=engine)
        built.append(app)
        return app
    yield build
    for app in built:
        shutdown(app)


def _login(app, address, login, password):
    return app.test_client().post('/0.1/token', json={}, headers=basic(login, password),
                                  environ_base={'REMOTE_ADDR': address})


# 10. Failures count per user (and per user and address), whatever login string was used.

@pytest.fixture
def alice(make_user):
    return make_user('alice', email='alice@example.com', acl=['auth.users.me.password.update'])


def test_username_and_email_share_the_per_address_budget(throttled_app, alice):
    app = throttled_app(login_failures_per_address=4)
    for login in ('alice', 'alice@example.com', 'ALICE', 'Alice@Example.com'):
        assert _login(app, ATTACKER, login, 'guess').status_code == 401
    for login in ('alice', 'alice@example.com'):
        refused = _login(app, ATTACKER, login, 's3cret')
        assert refused.status_code == 429 and int(refused.headers['Retry-After']) > 0
    assert _login(app, USER_HOME, 'alice@example.com', 's3cret').status_code == 200


def test_username_and_email_share_the_per_user_budget(throttled_app, alice, make_user):
    make_user('bob')
    app = throttled_app(login_failures_per_login=6)
    for i in range(6):
        login = 'alice' if i % 2 else 'alice@example.com'
        assert _login(app, f'192.0.2.{i + 1}', login, 'guess').status_code == 401
    assert _login(app, '192.0.2.100', 'alice', 's3cret').status_code == 429
    assert _login(app, '192.0.2.100', 'alice@example.com', 's3cret').status_code == 429
    assert _login(app, '192.0.2.100', 'bob', 's3cret').status_code == 200


# 11. Failed old_password checks of PUT /users/{u}/password count as failed logins.

def _change(app, address, token, user, old, new='n3w-secret'):
    return app.test_client().put(f'/0.1/users/{user}/password', headers={'X-Auth-Token': token},
                                 json={'old_password': old, 'new_password': new},
                                 environ_base={'REMOTE_ADDR': address})


def _token(app):
    response = _login(app, USER_HOME, 'alice', 's3cret')
    assert response.status_code == 200
    return response.get_json()['data']['token']


def test_old_password_guessing_is_throttled_like_logins(throttled_app, alice):
    app = throttled_app(login_failures_per_address=3)
    token = _token(app)
    for _ in range(3):
        assert_envelope(_change(app, ATTACKER, token, alice, 'guess'), 401)
    refused = _change(app, ATTACKER, token, alice, 's3cret')
    assert assert_envelope(refused, 429)['error_id'] == 'too-many-attempts'
    check_response(openapi.document(), 'PUT', f'/0.1/users/{alice}/password', refused)
    assert int(refused.headers['Retry-After']) > 0
    assert _login(app, ATTACKER, 'alice@example.com', 's3cret').status_code == 429
    assert _login(app, USER_HOME, 'alice', 's3cret').status_code == 200


def test_failed_logins_also_close_the_password_change(throttled_app, alice):
    app = throttled_app(login_failures_per_login=4)
    token = _token(app)
    for i in range(4):
        assert _login(app, f'192.0.2.{i + 1}', 'alice@example.com', 'guess').status_code == 401
    assert _change(app, '192.0.2.100', token, alice, 's3cret').status_code == 429
    # The address the user logged in from stays open (as for logins).
    assert _change(app, USER_HOME, token, alice, 's3cret').status_code == 204


# 12. Every bearer-authenticated endpoint shares the unknown-token throttle of HEAD /token.

def test_userinfo_is_inside_the_unknown_token_throttle(throttled_app, make_user):
    app = throttled_app(unknown_token_checks_per_minute=3, trusted_networks=[])
    client = app.test_client()
    attacker = {'REMOTE_ADDR': ATTACKER}
    bearer = lambda token: {'Authorization': f'Bearer {token}'}  # noqa: E731
    answers = [client.get('/0.1/oauth2/userinfo', headers=bearer(uuid.uuid4()),
                          environ_base=attacker).status_code for _ in range(3)]
    refused = client.get('/0.1/oauth2/userinfo', headers=bearer(uuid.uuid4()),
                         environ_base=attacker)
    assert answers == [401] * 3 and refused.status_code == 429
    assert int(refused.headers['Retry-After']) > 0
    assert refused.get_json()['error'] == 'temporarily_unavailable'
    check_response(openapi.document(), 'GET', '/0.1/oauth2/userinfo', refused)
    assert client.head(f'/0.1/token/{uuid.uuid4()}', environ_base=attacker).status_code == 429
    other = client.get('/0.1/oauth2/userinfo', headers=bearer(uuid.uuid4()),
                       environ_base={'REMOTE_ADDR': USER_HOME})
    assert other.status_code == 401


def test_userinfo_and_admin_endpoints_count_toward_the_check_budget(throttled_app):
    app = throttled_app(unknown_token_checks_per_minute=3, trusted_networks=[])
    client = app.test_client()
    attacker = {'REMOTE_ADDR': ATTACKER}
    client.get('/0.1/users/me/tokens', headers={'Authorization': f'Bearer {uuid.uuid4()}'},
               environ_base=attacker)
    client.get('/0.1/oauth2/userinfo', headers={'Authorization': f'Bearer {uuid.uuid4()}'},
               environ_base=attacker)
    assert client.head(f'/0.1/token/{uuid.uuid4()}', environ_base=attacker).status_code == 404
    refused = client.get('/0.1/sessions', headers={'X-Auth-Token': str(uuid.uuid4())},
                         environ_base=attacker)
    assert assert_envelope(refused, 429)['error_id'] == 'too-many-attempts'


# 15. Admin error bodies carry wazo-auth's `resource` where the spec shows it.

def _resource(admin, method: str, path: str, status: int, error_id: str, **kwargs):
    """The ``resource`` of an error answer, checked against the served OpenAPI document."""
    response = admin.request(method, path, **kwargs)
    body = assert_envelope(response, status)
    assert body['error_id'] == error_id, body
    check_response(openapi.document(), method, '/0.1' + path, response)
    return body.get('resource')


def test_unknown_users_tenants_groups_and_refresh_tokens_name_their_resource(admin, make_user):
    alice = make_user('alice')
    unknown = uuid.uuid4()
    assert _resource(admin, 'GET', f'/users/{unknown}/tokens', 404, 'unknown-user') == 'users'
    assert _resource(admin, 'GET', f'/users/{unknown}', 404, 'unknown-user') == 'users'
    assert _resource(admin, 'DELETE', f'/users/{alice}/tokens/no-such-client', 404,
                     'cannot-find-refresh-token-matching-client-id') == 'tokens'
    assert _resource(admin, 'GET', f'/tenants/{unknown}', 404, 'unknown-tenant') == 'tenants'
    assert _resource(admin, 'GET', f'/groups/{unknown}', 404, 'unknown-group') == 'groups'


def test_validation_errors_name_the_resource_of_the_endpoint(admin, make_user):
    alice = make_user('alice')
    assert _resource(admin, 'POST', '/users', 400, 'invalid-data',
                     json={'username': 7}) == 'users'
    assert _resource(admin, 'PUT', f'/users/{alice}/password', 400, 'invalid-data',
                     json={}) == 'users'
    assert _resource(admin, 'POST', '/tenants', 400, 'invalid-data',
                     json={'name': 7}) == 'tenants'
    assert _resource(admin, 'POST', '/groups', 400, 'invalid-data', json={}) == 'groups'
    assert _resource(admin, 'PUT', f'/users/{alice}/emails', 400, 'invalid-data',
                     json={'emails': 'x'}) == 'emails'
    for path in ('/users', '/groups', '/tenants'):
        assert _resource(admin, 'GET', path, 400, 'invalid-list-param',
                         query='limit=-1') == 'users'


def test_conflicts_and_forbidden_changes_name_their_resource(admin, make_user, top_tenant,
                                                             all_users):
    make_user('alice')
    sub = admin.ok('POST', '/tenants', json={'name': 'sub', 'slug': 'sub'})['uuid']
    assert _resource(admin, 'POST', '/users', 409, 'conflict',
                     json={'username': 'alice'}) == 'users'
    assert _resource(admin, 'POST', '/tenants', 409, 'conflict',
                     json={'name': 'again', 'slug': 'sub'}) == 'tenants'
    assert _resource(admin, 'DELETE', f'/tenants/{top_tenant}', 403,
                     'deleting-own-tenant-forbidden') == 'tenants'
    assert _resource(admin, 'DELETE', f'/groups/{all_users}', 403,
                     'forbidden-group') == 'groups'
    group = admin.ok('POST', '/groups', json={'name': 'top-group'})['uuid']
    bob = make_user('bob', tenant_uuid=sub)
    assert _resource(admin, 'PUT', f'/groups/{group}/users/{bob}', 400,
                     'missmatching-tenant') == 'groups'


def test_errors_outside_the_resource_families_of_the_spec_carry_none(admin):
    assert 'resource' not in assert_envelope(admin.get(f'/policies/{uuid.uuid4()}'), 404)
    assert 'resource' not in assert_envelope(admin.get(f'/clients/{uuid.uuid4()}'), 404)
    assert 'resource' not in assert_envelope(admin.post('/token', json={}), 401)
