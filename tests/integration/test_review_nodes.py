"""Review (several nodes on one database): what one node does while another starts or serves.
Each test parks one node's work on a row lock another node's transaction holds (a separate
connection), then lets that transaction commit."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from sqlalchemy import text

from tests.integration.test_admin_races import call, holding, waiting_on_locks
from tests.support.offline_access import make_tenant
from tests.support.polling import wait_until
from wazo_like_auth.models import Policy
from wazo_like_auth.services.startup import StartupService


def _run_while_committing(engine, work, sql: str, **params) -> None:
    """``work`` (a node's start-up step) run while another node's transaction (``sql``)
    commits: it may wait on its row locks, then runs on."""
    with ThreadPoolExecutor(max_workers=1) as pool, engine.connect() as conn:
        conn.execute(text(sql), params)
        starting = pool.submit(work)
        assert wait_until(lambda: starting.done() or waiting_on_locks(engine, 1), timeout=10)
        conn.commit()
        starting.result(timeout=30)


def _count(engine, sql: str, **params) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


@pytest.mark.parametrize('member', [True, False])
def test_a_node_starts_while_another_deletes_a_user(engine, services, make_user, member):
    """It failed with a traceback (a ForeignKeyViolation of the all-users group's membership):
    systemd started it again 2 s later. ``member``: bob is in the all-users group already, as
    a user made by the API is (else the start-up is what adds him)."""
    user = make_user('bob')
    if member:
        services.startup.run()
    _run_while_committing(engine, services.startup.run, 'DELETE FROM auth_user WHERE uuid = :u', u=user)
    assert _count(engine, 'SELECT count(*) FROM auth_user_group WHERE user_uuid = :u',
                  u=user) == 0


def test_a_node_starts_while_another_deletes_a_tenant(engine, services, sessions, top_tenant):
    tenant = make_tenant(sessions, top_tenant, 'acme')
    services.startup.run()  # the tenant gets its all-users group, as one made by the API has
    _run_while_committing(engine, services.startup.run, 'DELETE FROM tenant WHERE uuid = :t', t=tenant)
    assert _count(engine, 'SELECT count(*) FROM auth_group WHERE tenant_uuid = :t',
                  t=tenant) == 0


def test_a_node_starts_while_another_deletes_a_policy_its_declared_client_names(
        engine, services, sessions, top_tenant):
    with sessions.begin() as db:
        db.add(Policy(tenant_uuid=top_tenant, name='ops', slug='ops', acl=['ops.#']))
    declared = [{'client_id': 'conf-app', 'client_secret': None, 'public': True,
                 'name': 'Configured', 'grant_types': ['urn:ietf:params:oauth:grant-type:'
                                                       'device_code'],
                 'acl': [], 'policies': ['ops']}]
    _run_while_committing(engine, lambda: services.client_service.reconcile(declared),
                          "DELETE FROM auth_policy WHERE slug = 'ops'")
    assert _count(engine, 'SELECT count(*) FROM auth_client_policy') == 0
    assert _count(engine, "SELECT count(*) FROM auth_client WHERE client_id = 'conf-app'") == 1


def _configured_ops(sessions) -> StartupService:
    """A node's start-up with the default policy 'ops'."""
    return StartupService(sessions=sessions, default_policies={'ops': {'acl': ['ops.#']}})


def _ops_policies(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(text("SELECT acl, config_managed FROM auth_policy "
                                 "WHERE slug = 'ops'")).all()


def test_a_node_starts_while_the_api_creates_a_policy_of_a_default_policys_slug(
        app, admin, engine, services, sessions, top_tenant):
    services.startup.run()  # every tenant has its all-users group: no tenant read locked
    # The API's insert waits here for its foreign-key check, its slug 'ops' already indexed.
    with ThreadPoolExecutor(max_workers=2) as pool, holding(
            engine, 'SELECT 1 FROM tenant WHERE uuid = :t FOR UPDATE', t=top_tenant):
        created = pool.submit(call, app, admin.token, 'POST', '/policies',
                              json={'name': 'ops', 'acl': []})
        assert wait_until(lambda: waiting_on_locks(engine, 1), timeout=10)
        starting = pool.submit(_configured_ops(sessions).run)
        assert wait_until(lambda: waiting_on_locks(engine, 2), timeout=10)
    assert created.result(timeout=30)[0] == 200
    starting.result(timeout=30)  # it raised IntegrityError: a start-up traceback

    assert _ops_policies(engine) == [(['ops.#'], True)]  # taken over, as at any start


def test_a_node_starts_while_the_api_deletes_a_policy_of_a_default_policys_slug(
        app, admin, engine, services, sessions, make_user):
    services.startup.run()
    policy = admin.ok('POST', '/policies', json={'name': 'ops', 'acl': []})
    admin.ok('PUT', f"/users/{make_user('holder')}/policies/{policy['uuid']}", 204)
    # The delete cascades to this link: held here, it waits with the policy deleted.
    with ThreadPoolExecutor(max_workers=2) as pool, holding(
            engine, 'SELECT 1 FROM auth_user_policy WHERE policy_uuid = :p FOR UPDATE',
            p=policy['uuid']):
        deleted = pool.submit(call, app, admin.token, 'DELETE', f"/policies/{policy['uuid']}")
        assert wait_until(lambda: waiting_on_locks(engine, 1), timeout=10)
        starting = pool.submit(_configured_ops(sessions).run)
        assert wait_until(lambda: starting.done() or waiting_on_locks(engine, 2), timeout=10)
    assert deleted.result(timeout=30)[0] == 204
    starting.result(timeout=30)  # it raised StaleDataError: a start-up traceback

    assert _ops_policies(engine) == [(['ops.#'], True)]  # made anew


def test_a_node_starts_while_the_api_creates_a_declared_clients_client_id(
        app, admin, engine, services, top_tenant):
    declared = [{'client_id': 'conf-app', 'client_secret': None, 'public': True,
                 'name': 'Configured', 'grant_types': ['urn:ietf:params:oauth:grant-type:'
                                                       'device_code'],
                 'acl': [], 'policies': []}]
    # The API's insert waits here for its foreign-key check, its client_id already indexed.
    with ThreadPoolExecutor(max_workers=2) as pool, holding(
            engine, 'SELECT 1 FROM tenant WHERE uuid = :t FOR UPDATE', t=top_tenant):
        created = pool.submit(call, app, admin.token, 'POST', '/clients', json={
            'client_id': 'conf-app', 'grant_types': ['client_credentials']})
        assert wait_until(lambda: waiting_on_locks(engine, 1), timeout=10)
        starting = pool.submit(services.client_service.reconcile, declared)
        assert wait_until(lambda: waiting_on_locks(engine, 2), timeout=10)
    assert created.result(timeout=30)[0] == 200
    starting.result(timeout=30)  # it raised IntegrityError: a start-up traceback

    # The API's client is left alone, with a warning, as at any start.
    assert _count(engine, "SELECT count(*) FROM auth_client WHERE client_id = 'conf-app' "
                          "AND NOT config_managed") == 1


def test_a_node_bootstraps_its_user_while_the_api_deletes_the_full_access_policy(
        app, admin, engine, services):
    services.bootstrap.ensure_admin('boss', 's3cret-boss')
    with engine.connect() as conn:
        policy = conn.execute(text("SELECT uuid FROM auth_policy "
                                   "WHERE slug = 'wazo_default_master_user_policy'")).scalar()
    # The delete cascades to boss's link: held here, it waits with the policy deleted.
    with ThreadPoolExecutor(max_workers=2) as pool, holding(
            engine, 'SELECT 1 FROM auth_user_policy WHERE policy_uuid = :p FOR UPDATE',
            p=policy):
        deleted = pool.submit(call, app, admin.token, 'DELETE', f'/policies/{policy}')
        assert wait_until(lambda: waiting_on_locks(engine, 1), timeout=10)
        starting = pool.submit(services.bootstrap.ensure_admin, 'ops', 's3cret-ops')
        assert wait_until(lambda: starting.done() or waiting_on_locks(engine, 2), timeout=10)
    assert deleted.result(timeout=30)[0] == 204
    starting.result(timeout=30)  # it raised IntegrityError (the link's foreign key)

    assert _count(engine, "SELECT count(*) FROM auth_user_policy l JOIN auth_user u "
                          "ON u.uuid = l.user_uuid JOIN auth_policy p ON p.uuid = l.policy_uuid "
                          "WHERE u.username = 'ops' AND p.acl = '{#}'") == 1
