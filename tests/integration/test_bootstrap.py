"""`wazo-like-auth bootstrap` and bootstrap_user_on_startup share BootstrapService."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support.credentials import basic
from wazo_like_auth.exceptions import Conflict
from wazo_like_auth.passwords import PasswordHasher
from wazo_like_auth.services.bootstrap import BootstrapService


def _bootstrap(sessions):
    return BootstrapService(sessions=sessions, hasher=PasswordHasher(rounds=4))


def _acl(client, password='pw'):
    response = client.post('/0.1/token', json={}, headers=basic('root', password))
    return response.status_code, (response.get_json().get('data') or {}).get('acl')


def test_bootstrap_creates_a_full_access_user_and_is_idempotent(client, sessions):
    first = _bootstrap(sessions).ensure_admin('root', 'pw')
    assert _bootstrap(sessions).ensure_admin('root', 'pw') == first
    assert _acl(client) == (200, ['#'])


def test_bootstrap_with_a_new_password_resets_it_and_revokes_sessions(client, sessions):
    _bootstrap(sessions).ensure_admin('root', 'pw')
    token = client.post('/0.1/token', json={}, headers=basic('root', 'pw')) \
        .get_json()['data']['token']
    _bootstrap(sessions).ensure_admin('root', 'new-pw')
    assert client.head(f'/0.1/token/{token}').status_code == 404
    assert _acl(client, 'pw')[0] == 401
    assert _acl(client, 'new-pw') == (200, ['#'])


def test_bootstrap_recreates_a_deleted_full_access_policy(client, sessions, engine):
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM auth_policy WHERE slug = 'wazo_default_master_user_policy'"))
    _bootstrap(sessions).ensure_admin('root', 'pw')
    assert _acl(client) == (200, ['#'])


def test_bootstrap_does_not_give_full_access_to_a_namesake_of_another_tenant(
        admin, client, make_user, sessions):
    # A self-registered 'Ops' of another tenant got the full-access policy and a new password
    # (and its owner, a password reset away, full access) when the operator bootstrapped 'ops'.
    other = admin.ok('POST', '/tenants', json={'name': 'registered'})['uuid']
    make_user('Ops', 'squatter-pw', tenant_uuid=uuid.UUID(other))
    with pytest.raises(Conflict):
        _bootstrap(sessions).ensure_admin('ops', 'operator-pw')
    token = client.post('/0.1/token', json={}, headers=basic('Ops', 'squatter-pw'))
    assert token.status_code == 200  # its password unchanged
    assert '#' not in token.get_json()['data']['acl']


def test_bootstrap_does_not_create_a_username_another_users_address_names(
        make_user, sessions, login):
    make_user('someone', 'someone-pw', email='ops@example.com')
    with pytest.raises(Conflict):
        _bootstrap(sessions).ensure_admin('ops@example.com', 'operator-pw')
    assert login('ops@example.com', 'someone-pw').status_code == 200


def test_deleting_the_embedded_credentials_file_does_not_bring_admin_back(
        make_config, db_uri, engine):
    # The first start was told by the credentials file: deleted (as the file itself asks),
    # the next start reset and re-enabled the 'admin' the operator had disabled.
    from wazo_like_auth import server
    config = make_config(db_uri=db_uri)
    Path(config['state_dir']).mkdir(parents=True)  # as serve's embedded start makes it
    assert server.first_admin(config) is not None  # a database without users: made
    with engine.begin() as conn:
        conn.execute(text("UPDATE auth_user SET enabled = false WHERE username = 'admin'"))
    (Path(config['state_dir']) / 'credentials').unlink()

    assert server.first_admin(config) is None
    with engine.connect() as conn:
        assert conn.execute(text("SELECT enabled FROM auth_user WHERE username = 'admin'")) \
            .scalar() is False


@pytest.mark.parametrize('name', ['wazo_default_master_user_policy',
                                  'WAZO_DEFAULT_MASTER_USER_POLICY'])
def test_bootstrap_refuses_a_policy_of_the_full_access_name_that_is_not_full_access(
        admin, client, sessions, engine, name):
    # The full-access policy deleted, an administrator made one of its name (in any case):
    # bootstrap linked 'root' to whatever it held (a 'full access' user without it) or, in
    # another case, met the case-insensitive unique index (a start-up traceback).
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM auth_policy WHERE slug = 'wazo_default_master_user_policy'"))
    admin.ok('POST', '/policies', json={'name': name, 'acl': ['auth.users.read']})
    with pytest.raises(Conflict, match='not full access'):
        _bootstrap(sessions).ensure_admin('root', 'pw')
    assert _acl(client)[0] == 401  # nobody half-made
