"""Administration requests racing each other: a 404 or 409 in the envelope, never a 500 or a
deadlock answered 503, no rule broken. Each test parks one request on a row lock the test holds
(a separate connection), lets the other request run into it, then releases."""
from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from tests.support.admin_client import AdminClient, token_of
from tests.support.credentials import basic
from tests.support.polling import wait_until
from tests.support.smtp_server import mail_config, mailbox  # noqa: F401 (fixtures)
from wazo_like_auth.app import create_app, shutdown
from wazo_like_auth.services.concurrency import service_error_of


def waiting_on_locks(engine, count: int) -> bool:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")).scalar() >= count


@contextlib.contextmanager
def holding(engine, sql: str, **params):
    """Hold the row locks ``sql`` (a SELECT ... FOR UPDATE) takes until the block ends."""
    with engine.connect() as conn:
        assert conn.execute(text(sql), params).first() is not None
        yield
        conn.rollback()


def call(app, token, method, path, **kwargs):
    """One request on its own test client (one per thread); (status, JSON body)."""
    response = AdminClient(app.test_client(), token).request(method, path, **kwargs)
    return response.status_code, response.get_json(silent=True)


def parked_pair(app, token, engine, lock: tuple, first: tuple, then: tuple) -> tuple:
    """``first`` (method, path, request options) parked on the row lock ``lock`` (sql,
    params) holds, then ``then`` sent into it and parked too; both answers once it goes."""
    with ThreadPoolExecutor(max_workers=2) as pool, holding(engine, lock[0], **lock[1]):
        one = pool.submit(call, app, token, first[0], first[1], **first[2])
        assert wait_until(lambda: waiting_on_locks(engine, 1), timeout=10)
        other = pool.submit(call, app, token, then[0], then[1], **then[2])
        assert wait_until(lambda: waiting_on_locks(engine, 2), timeout=10)
    return one.result(timeout=30), other.result(timeout=30)


def new_tenant(admin, name):
    return admin.ok('POST', '/tenants', json={'name': name})['uuid']


# -- 1. a group or policy created in a tenant being deleted -----------------------------------

def _create_in_a_tenant_being_deleted(app, admin, engine, path, body):
    return _create_in_a_tenant_being_deleted_from(app, admin, engine,
                                                  new_tenant(admin, 'doomed'), path, body)


def _create_in_a_tenant_being_deleted_from(app, admin, engine, tenant, path, body):
    # The tenant's delete cascades to its all-users group: held here, the delete waits with the
    # tenant row already deleted (not committed).
    return parked_pair(
        app, admin.token, engine,
        ('SELECT 1 FROM auth_group WHERE tenant_uuid = :t FOR UPDATE', {'t': tenant}),
        ('DELETE', f'/tenants/{tenant}', {}), ('POST', path, {'json': body, 'tenant': tenant}))


def test_a_group_created_in_a_tenant_being_deleted_is_not_a_500(app, admin, engine):
    (deleted, _), (status, body) = _create_in_a_tenant_being_deleted(
        app, admin, engine, '/groups', {'name': 'g'})

    assert deleted == 204
    assert status in (401, 404), (status, body)  # the tenant is gone: not a 500


def test_a_policy_created_in_a_tenant_being_deleted_is_not_a_500(app, admin, engine):
    (deleted, _), (status, body) = _create_in_a_tenant_being_deleted(
        app, admin, engine, '/policies', {'name': 'p', 'acl': ['a.b']})

    assert deleted == 204
    assert status in (401, 404), (status, body)


# -- 2. a policy attached (to a group, to a client) while it is deleted ------------------------

def _while_a_policy_is_deleted(app, admin, engine, make_user, method, path, **kwargs):
    policy = admin.ok('POST', '/policies', json={'name': 'p', 'acl': ['a.b']})
    holder = make_user('holder')
    admin.ok('PUT', f"/users/{holder}/policies/{policy['uuid']}", 204)
    # The policy's delete cascades to this link: held here, it waits with the policy deleted.
    return parked_pair(
        app, admin.token, engine,
        ('SELECT 1 FROM auth_user_policy WHERE policy_uuid = :p FOR UPDATE',
         {'p': policy['uuid']}),
        ('DELETE', f"/policies/{policy['uuid']}", {}),
        (method, path(policy), {k: v(policy) for k, v in kwargs.items()}))


def test_attaching_a_policy_being_deleted_to_a_group_is_404_not_500(app, admin, engine,
                                                                     make_user):
    group = admin.ok('POST', '/groups', json={'name': 'g'})
    (deleted, _), (status, body) = _while_a_policy_is_deleted(
        app, admin, engine, make_user, 'PUT',
        lambda p: f"/groups/{group['uuid']}/policies/{p['uuid']}")

    assert deleted == 204
    assert status == 404, (status, body)


def test_giving_a_client_a_policy_being_deleted_is_4xx_not_500(app, admin, engine, make_user):
    created = admin.ok('POST', '/clients', json={'client_id': 'backend', 'name': 'b',
                                                   'grant_types': ['client_credentials']})
    (deleted, _), (status, body) = _while_a_policy_is_deleted(
        app, admin, engine, make_user, 'PUT', lambda p: f"/clients/{created['uuid']}",
        json=lambda p: {'name': 'b', 'grant_types': ['client_credentials'],
                        'policies': [p['uuid']]})
    assert deleted == 204
    assert status in (400, 404), (status, body)


def test_attaching_a_policy_to_a_group_being_deleted_is_404_not_500(app, admin, engine,
                                                                    make_user):
    group = admin.ok('POST', '/groups', json={'name': 'g'})
    policy = admin.ok('POST', '/policies', json={'name': 'p', 'acl': ['a.b']})
    member = make_user('member')
    admin.ok('PUT', f"/groups/{group['uuid']}/users/{member}", 204)
    # The group's delete cascades to this membership: held here, it waits with the group deleted.
    (deleted, _), (status, body) = parked_pair(
        app, admin.token, engine,
        ('SELECT 1 FROM auth_user_group WHERE group_uuid = :g FOR UPDATE', {'g': group['uuid']}),
        ('DELETE', f"/groups/{group['uuid']}", {}),
        ('PUT', f"/groups/{group['uuid']}/policies/{policy['uuid']}", {}))
    assert deleted == 204
    assert status == 404, (status, body)


# -- 3. deadlocks: two deletes taking the same rows in opposite orders -------------------------

def test_two_deletes_of_the_same_group_holding_a_policy_answer_204_and_404(app, admin, engine):
    group = admin.ok('POST', '/groups', json={'name': 'g'})
    policy = admin.ok('POST', '/policies', json={'name': 'p', 'acl': ['a.b']})
    admin.ok('PUT', f"/groups/{group['uuid']}/policies/{policy['uuid']}", 204)
    # Both deletes read the group and share-lock its policy link (acl_of), then wait here.
    with ThreadPoolExecutor(max_workers=2) as pool, holding(
            engine, 'SELECT 1 FROM auth_group WHERE uuid = :g FOR UPDATE', g=group['uuid']):
        deletes = [pool.submit(call, app, admin.token, 'DELETE', f"/groups/{group['uuid']}")
                   for _ in range(2)]
        assert wait_until(lambda: waiting_on_locks(engine, 2), timeout=10)
    answers = sorted((f.result(timeout=30) for f in deletes), key=lambda a: a[0])

    assert [status for status, _ in answers] == [204, 404], answers


def test_deleting_a_user_while_its_tenant_is_deleted_does_not_deadlock(app, admin, engine,
                                                                       make_user, login):
    tenant = new_tenant(admin, 'doomed')
    carol = make_user('carol', tenant_uuid=tenant)
    assert login('carol').status_code == 200  # a session, with its token
    # The tenant's delete removes carol's session first (its token cascades: held here), then
    # the tenant (carol cascades); the user's delete locks carol first, then her sessions.
    with ThreadPoolExecutor(max_workers=2) as pool, holding(
            engine, 'SELECT 1 FROM auth_token t JOIN auth_session s ON s.uuid = t.session_uuid '
                    'WHERE s.user_uuid = :u FOR UPDATE OF t', u=carol):
        tenant_deleted = pool.submit(call, app, admin.token, 'DELETE', f'/tenants/{tenant}')
        assert wait_until(lambda: waiting_on_locks(engine, 1), timeout=10)
        user_deleted = pool.submit(call, app, admin.token, 'DELETE', f'/users/{carol}')
        assert wait_until(lambda: waiting_on_locks(engine, 2), timeout=10)
    answers = [tenant_deleted.result(timeout=30), user_deleted.result(timeout=30)]

    assert answers[0][0] == 204, answers
    assert answers[1][0] in (204, 404), answers  # not a 503 "Database unavailable"


def test_deleting_a_group_while_the_tenant_of_its_policy_is_deleted_does_not_deadlock(
        app, admin, engine):
    tenant = new_tenant(admin, 'doomed')
    policy = admin.ok('POST', '/policies', json={'name': 'p', 'acl': ['a.b']}, tenant=tenant)
    group = admin.ok('POST', '/groups', json={'name': 'g'})  # in the top tenant
    admin.ok('PUT', f"/groups/{group['uuid']}/policies/{policy['uuid']}", 204)
    # Both used to share-lock the link (acl_of, acl_given_outside), then delete it by
    # cascade: each waited for the other. The group's delete waits here for its group row.
    with ThreadPoolExecutor(max_workers=2) as pool, holding(
            engine, 'SELECT 1 FROM auth_group WHERE uuid = :g FOR UPDATE', g=group['uuid']):
        group_deleted = pool.submit(call, app, admin.token, 'DELETE', f"/groups/{group['uuid']}")
        assert wait_until(lambda: waiting_on_locks(engine, 1), timeout=10)
        tenant_deleted = pool.submit(call, app, admin.token, 'DELETE', f'/tenants/{tenant}')
        assert wait_until(lambda: tenant_deleted.done() or waiting_on_locks(engine, 2),
                          timeout=10)
    answers = [group_deleted.result(timeout=30), tenant_deleted.result(timeout=30)]

    assert [status for status, _ in answers] == [204, 204], answers


# -- 4. a shared policy and a sub-tenant's namesake created at once ----------------------------

def test_a_shared_policy_and_a_namesake_below_it_cannot_both_be_created(app, admin, engine,
                                                                       top_tenant):
    child = new_tenant(admin, 'child')
    # Both inserts' foreign-key checks wait here, after both name checks passed.
    with ThreadPoolExecutor(max_workers=2) as pool, holding(
            engine, 'SELECT 1 FROM tenant WHERE uuid IN (:a, :b) FOR UPDATE',
            a=top_tenant, b=child):
        shared = pool.submit(call, app, admin.token, 'POST', '/policies',
                             json={'name': 'ops', 'acl': [], 'shared': True})
        below = pool.submit(call, app, admin.token, 'POST', '/policies',
                            json={'name': 'ops', 'acl': []}, tenant=child)
        assert wait_until(lambda: waiting_on_locks(engine, 2), timeout=10)
    statuses = sorted([shared.result(timeout=30)[0], below.result(timeout=30)[0]])

    assert statuses == [200, 409], statuses


# -- 5. minor: the wrong 4xx ------------------------------------------------------------------

def test_a_sub_tenant_created_below_a_tenant_being_deleted_is_404(app, admin, engine):
    parent = new_tenant(admin, 'doomed')
    (deleted, _), (status, body) = _create_in_a_tenant_being_deleted_from(
        app, admin, engine, parent, '/tenants', {'name': 'kid'})
    assert deleted == 204
    assert (status, body['error_id']) == (404, 'unknown-tenant'), body


# -- 6. two names deriving the same slug at once ----------------------------------------------

def test_two_policies_whose_names_derive_the_same_slug_are_both_created(app, admin, engine,
                                                                       top_tenant):
    with ThreadPoolExecutor(max_workers=2) as pool, holding(
            engine, 'SELECT 1 FROM tenant WHERE uuid = :t FOR UPDATE', t=top_tenant):
        created = [pool.submit(call, app, admin.token, 'POST', '/policies',
                               json={'name': name, 'acl': []}) for name in ('ops!', 'ops?')]
        assert wait_until(lambda: waiting_on_locks(engine, 2), timeout=10)
    answers = [f.result(timeout=30) for f in created]

    # Neither name was taken: the loser should get another slug, not "already exists".
    assert [status for status, _ in answers] == [200, 200], answers


# -- 7. a confirmation link requested for a user being deleted --------------------------------

@pytest.fixture
def mail_app(mail_config, mailbox, engine):  # noqa: F811
    app = create_app(mail_config(mailbox.port), engine=engine)
    yield app
    shutdown(app)


def test_a_confirmation_requested_for_a_user_being_deleted_is_404_not_500(mail_app, engine,
                                                                          make_user):
    make_user('root-admin', acl=['#'])
    token = token_of(lambda u, p: mail_app.test_client().post(
        '/0.1/token', json={}, headers=basic(u, p)), 'root-admin')
    carol = make_user('carol', email='carol@example.com', email_confirmed=False)
    with engine.connect() as conn:
        email = conn.execute(text('SELECT uuid FROM auth_email WHERE user_uuid = :u'),
                             {'u': carol}).scalar()
    # The user's delete cascades to her address: held here, it waits with carol deleted.
    (deleted, _), (status, body) = parked_pair(
        mail_app, token, engine,
        ('SELECT 1 FROM auth_email WHERE uuid = :e FOR UPDATE', {'e': email}),
        ('DELETE', f'/users/{carol}', {}), ('GET', f'/users/{carol}/emails/{email}/confirm', {}))
    assert deleted == 204
    assert status == 404, (status, body)


# -- 8. minor: a 4xx naming the wrong thing ----------------------------------------------------

def test_attaching_a_policy_being_deleted_to_a_user_names_the_policy(app, admin, engine,
                                                                    make_user):
    bob = make_user('bob')
    (deleted, _), (status, body) = _while_a_policy_is_deleted(
        app, admin, engine, make_user, 'PUT', lambda p: f"/users/{bob}/policies/{p['uuid']}")

    assert deleted == 204
    assert (status, body['error_id']) == (404, 'unknown-policy'), body  # bob exists


def test_creating_a_client_with_a_policy_being_deleted_is_not_a_client_id_conflict(
        app, admin, engine, make_user):
    (deleted, _), (status, body) = _while_a_policy_is_deleted(
        app, admin, engine, make_user, 'POST', lambda p: '/clients',
        json=lambda p: {'client_id': 'backend', 'grant_types': ['client_credentials'],
                        'policies': [p['uuid']]})

    assert deleted == 204
    assert status in (400, 404), body  # no client "backend" exists


def test_two_deletes_of_the_same_group_answer_204_and_404(app, admin, engine):
    group = admin.ok('POST', '/groups', json={'name': 'g'})
    with ThreadPoolExecutor(max_workers=2) as pool, holding(
            engine, 'SELECT 1 FROM auth_group WHERE uuid = :g FOR UPDATE', g=group['uuid']):
        deletes = [pool.submit(call, app, admin.token, 'DELETE', f"/groups/{group['uuid']}")
                   for _ in range(2)]
        assert wait_until(lambda: waiting_on_locks(engine, 2), timeout=10)
    statuses = sorted(f.result(timeout=30)[0] for f in deletes)

    assert statuses == [204, 404], statuses


def test_a_deadlock_is_a_concurrent_change_to_retry_not_an_unavailable_database(engine):
    # A real deadlock between two transactions: what the service answers for the one chosen.
    with engine.connect() as first, engine.connect() as second:
        first.execute(text('SELECT pg_advisory_xact_lock(4242)'))
        second.execute(text('SELECT pg_advisory_xact_lock(4343)'))
        with ThreadPoolExecutor(max_workers=1) as pool:
            blocked = pool.submit(first.execute, text('SELECT pg_advisory_xact_lock(4343)'))
            assert wait_until(lambda: waiting_on_locks(engine, 1), timeout=10)
            errors = []
            try:
                second.execute(text('SELECT pg_advisory_xact_lock(4242)'))
            except OperationalError as e:
                errors.append(e)
            try:
                blocked.result(timeout=10)
            except OperationalError as e:
                errors.append(e)
    [victim] = errors
    raced = service_error_of(victim)
    assert (raced.status_code, raced.error_id, raced.headers) == \
        (503, 'concurrent-change', {'Retry-After': '1'})
