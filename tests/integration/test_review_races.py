"""Review of racing requests (round 7): what the first of two requests left is what the second
gets, and no rule breaks in between. Requests are parked on row locks the test holds, as in
test_admin_races.py."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text

from tests.integration.test_admin_races import call, holding, waiting_on_locks
from tests.support.admin_client import AdminClient, token_of
from tests.support.polling import wait_until


def fenced(client, token) -> bool:
    """Whether ``token`` is refused confd.users.1.delete."""
    status = client.head(f'/0.1/token/{token}', query_string={
        'scope': 'confd.users.1.delete'}).status_code
    assert status in (204, 403), status
    return status == 403


def test_a_deny_policy_made_in_a_tenant_being_deleted_is_not_dropped_unchecked(
        app, admin, client, engine, login, make_user):
    customer = admin.ok('POST', '/tenants', json={'name': 'customer'})['uuid']
    carol = make_user('carol', tenant_uuid=customer)
    mallory_uuid = make_user('mallory', acl=['confd.#', 'auth.tenants.#'])
    mallory = AdminClient(client, token_of(login, 'mallory'))
    # Mallory's delete checks what the tenant's policies give outside it (nothing yet), then
    # waits here for carol's row.
    with ThreadPoolExecutor(max_workers=2) as pool, holding(
            engine,
            'SELECT 1 FROM auth_user WHERE uuid = :u FOR UPDATE', u=carol):
        deleted = pool.submit(call, app, mallory.token, 'DELETE', f'/tenants/{customer}')
        assert wait_until(lambda: waiting_on_locks(engine, 1), timeout=10)
        # Meanwhile an administrator fences mallory with a policy of that tenant.
        created = pool.submit(call, app, admin.token, 'POST', '/policies', tenant=customer,
                              json={'name': 'fence', 'acl': ['!confd.users.#']})
        assert wait_until(lambda: created.done() or waiting_on_locks(engine, 2),
                          timeout=10)
        linked = None
        if created.done() and created.result()[0] == 200:
            fence = created.result()[1]['uuid']
            linked = admin.request('PUT', f'/users/{mallory_uuid}/policies/{fence}').status_code
    outcome = (deleted.result(timeout=30)[0], created.result(timeout=30)[0], linked)

    # Either the delete went first (the policy's tenant is gone: 404), or the fence was made
    # and linked first, and the delete, taking it away from mallory, is refused (401).
    assert outcome in ((204, 404, None), (401, 200, 204)), outcome
    assert fenced(client, token_of(login, 'mallory')) == (outcome[0] == 401)


def test_two_groups_whose_names_derive_the_same_slug_are_both_created(app, admin, engine,
                                                                     top_tenant):
    # Both inserts' foreign-key checks wait here, after both derived the slug "ops".
    with ThreadPoolExecutor(max_workers=2) as pool, holding(
            engine, 'SELECT 1 FROM tenant WHERE uuid = :t FOR UPDATE', t=top_tenant):
        created = [pool.submit(call, app, admin.token, 'POST', '/groups', json={'name': name})
                   for name in ('ops!', 'ops?')]
        assert wait_until(lambda: waiting_on_locks(engine, 2), timeout=10)
    answers = [f.result(timeout=30) for f in created]

    # Neither name was taken: the second gets another slug, not "Group already exists".
    assert [status for status, _ in answers] == [200, 200], answers
    assert len({body['slug'] for _, body in answers}) == 2, answers


def test_a_consent_withdrawn_while_its_user_is_deleted_is_404_not_a_deadlock(
        app, admin, engine, login, make_user):
    carol = make_user('carol')
    assert login('carol').status_code == 200  # a session, with its token
    client = admin.ok('POST', '/clients', json={'client_id': 'webapp',
                                                  'grant_types': ['client_credentials']})
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO auth_consent (user_uuid, client_uuid, scope) "
                          "VALUES (:u, :c, '{openid}')"), {'u': carol, 'c': client['uuid']})
    # The user's delete locks carol, then waits here for her session's token; the withdrawal
    # sent meanwhile must not take the consent row the delete's cascade needs, then wait for
    # carol (a deadlock: PostgreSQL aborted one, 503 concurrent-change).
    with ThreadPoolExecutor(max_workers=2) as pool, holding(
            engine, 'SELECT 1 FROM auth_token t JOIN auth_session s ON s.uuid = t.session_uuid '
                    'WHERE s.user_uuid = :u FOR UPDATE OF t', u=carol):
        deleted = pool.submit(call, app, admin.token, 'DELETE', f'/users/{carol}')
        assert wait_until(lambda: waiting_on_locks(engine, 1), timeout=10)
        withdrawn = pool.submit(call, app, admin.token, 'DELETE',
                                f"/users/{carol}/consents/{client['uuid']}")
        assert wait_until(lambda: waiting_on_locks(engine, 2), timeout=10)
    answers = [deleted.result(timeout=30), withdrawn.result(timeout=30)]

    assert [status for status, _ in answers] == [204, 404], answers
