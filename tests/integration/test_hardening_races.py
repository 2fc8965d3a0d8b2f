"""Races between revocation and use: a token being revoked while it is checked, a user being
deleted while it logs in. Answers stay within the documented ones (never a 5xx) and no orphan
row is left: no session without its token, no session or token of a deleted user.

Each thread has its own Flask test client (one client is not thread-safe). The process-kill
variant, against the served process, is in tests/e2e/test_hardening_http.py.
"""
from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.admin_client import token_of
from tests.support.credentials import basic
from tests.support.offline_access import rows

ORPHAN_SESSIONS = ('SELECT count(*) FROM auth_session s WHERE NOT EXISTS '
                   '(SELECT 1 FROM auth_token t WHERE t.session_uuid = s.uuid)')


@pytest.fixture
def config(make_config, db_uri):
    # Logins of a deleted user fail on purpose, many times; throttling is not under test.
    return make_config(db_uri=db_uri, throttle={'login_failures_per_address': 100_000,
                                                'login_failures_per_login': 100_000})


def in_threads(app, actions) -> list:
    """Run each ``action(test_client)`` in its own thread, all released at the same moment."""
    barrier = threading.Barrier(len(actions))

    def run(action):
        client = app.test_client()
        barrier.wait(timeout=30)
        return action(client)

    with ThreadPoolExecutor(max_workers=len(actions)) as pool:
        return list(pool.map(run, actions))


def assert_no_orphans(engine) -> None:
    assert rows(engine, ORPHAN_SESSIONS)[0][0] == 0


def test_revoking_a_token_while_it_is_checked_answers_only_204_or_404(app, client, engine,
                                                                      make_user, login):
    make_user('alice', acl=['confd.#'])

    def checks(token):
        def run(c):
            return [c.head(f'/0.1/token/{token}?scope=confd.users.read').status_code
                    for _ in range(15)]
        return run

    def revoke(token):
        return lambda c: [c.delete(f'/0.1/token/{token}').status_code]

    for _ in range(8):
        token = token_of(login, 'alice')
        results = in_threads(app, [checks(token)] * 4 + [revoke(token), revoke(token)])
        statuses = Counter(status for result in results[:4] for status in result)
        assert set(statuses) <= {204, 404}, statuses
        assert [r[0] for r in results[4:]] == [200, 200]
        # Once revoked, revoked for good: the validation cache does not resurrect it.
        assert client.head(f'/0.1/token/{token}').status_code == 404
        assert client.get(f'/0.1/token/{token}').status_code == 404
    assert_no_orphans(engine)
    assert rows(engine, 'SELECT count(*) FROM auth_session')[0][0] == 0


def test_deleting_a_user_while_it_logs_in_leaves_no_session_and_no_valid_token(
        app, client, engine, make_user, login):
    make_user('root', acl=['#'])
    root = {'X-Auth-Token': token_of(login, 'root')}

    for attempt in range(6):
        username = f'victim-{attempt}'
        victim = make_user(username)

        logged_in = threading.Event()

        def log_in(c):
            responses = []
            for _ in range(8):
                responses.append(c.post('/0.1/token', json={},
                                        headers=basic(username, 's3cret')))
                if responses[-1].status_code == 200:
                    logged_in.set()
            return responses

        def delete(c):
            # Once logins succeed, so the deletion lands among logins in flight.
            logged_in.wait(timeout=10)
            return [c.delete(f'/0.1/users/{victim}', headers=root)]

        results = in_threads(app, [log_in] * 5 + [delete])
        logins = [r for result in results[:5] for r in result]
        assert {r.status_code for r in logins} <= {200, 401}, \
            [r.get_json() for r in logins if r.status_code not in (200, 401)]
        assert results[5][0].status_code == 204
        for response in logins:
            if response.status_code == 200:
                token = response.get_json()['data']['token']
                assert client.head(f'/0.1/token/{token}').status_code == 404
        assert rows(engine, 'SELECT count(*) FROM auth_session WHERE user_uuid = :u',
                    u=victim)[0][0] == 0
        assert rows(engine, 'SELECT count(*) FROM auth_token WHERE auth_id = :u',
                    u=str(victim))[0][0] == 0
    assert_no_orphans(engine)
