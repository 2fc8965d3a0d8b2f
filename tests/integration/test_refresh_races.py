"""Concurrent logins and revocations: unique constraints and row locks keep the answers right,
never a 5xx. Each thread has its own Flask test client (one client is not thread-safe)."""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.apps import running_app
from tests.support.credentials import basic
from tests.support.offline_access import (
    auth, offline_login, refresh_login, refresh_rows, refresh_token_of, rows, token_of,
    token_row)


def _together(app, count: int, action: Callable[[object, int], object]) -> list:
    """Run ``action(test_client, index)`` in ``count`` threads released at the same moment."""
    barrier = threading.Barrier(count)

    def run(index: int):
        client = app.test_client()
        barrier.wait(timeout=30)
        return action(client, index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


@pytest.fixture
def config(make_config, db_uri):
    # These races make refresh logins fail on purpose; guessing throttling, which would turn
    # those failures into 429s, is tested in test_throttling.py.
    # (50 logins of one user at once, from loopback: a trusted network, so past
    # logins_in_flight without a 429.)
    return make_config(db_uri=db_uri, throttle={'refresh_failures_per_address': 100_000})


@pytest.fixture
def alice(make_user):
    return make_user('alice')


def test_concurrent_offline_logins_share_one_refresh_token(app, engine, alice):
    responses = _together(app, 50, lambda c, i: offline_login(c, 'alice', 'my-app'))

    assert Counter(r.status_code for r in responses) == {200: 50}
    values = {r.get_json()['data']['refresh_token'] for r in responses}
    assert len(values) == 1
    assert len(refresh_rows(engine, alice)) == 1


def test_concurrent_mobile_logins_leave_one_mobile_refresh_token(app, engine, alice):
    responses = _together(
        app, 12, lambda c, i: offline_login(c, 'alice', f'phone-{i}', mobile=True))

    assert Counter(r.status_code for r in responses) == {200: 12}
    remaining = refresh_rows(engine, alice)
    assert len(remaining) == 1 and remaining[0].mobile
    revoked = sum(int(r.headers['Wazo-Sessions-Revoked']) for r in responses)
    assert revoked == 11
    assert rows(engine, 'SELECT count(*) FROM auth_session')[0][0] == 1


def test_refresh_logins_racing_a_mobile_relogin_never_fail_with_5xx(app, engine, alice):
    client = app.test_client()
    value = refresh_token_of(client, 'alice', 'phone', mobile=True)

    def action(c, i):
        if i % 4 == 0:
            return offline_login(c, 'alice', 'phone', mobile=True)
        return refresh_login(c, value, 'phone')

    for _ in range(5):
        responses = _together(app, 8, action)
        assert {r.status_code for r in responses} <= {200, 401}, \
            [r.get_json() for r in responses if r.status_code not in (200, 401)]
        value = next(r.get_json()['data']['refresh_token'] for i, r in enumerate(responses)
                     if i % 4 == 0 and r.status_code == 200)
    assert len(refresh_rows(engine, alice)) == 1


def test_offline_logins_racing_the_refresh_token_deletion_never_fail_with_5xx(
        app, engine, make_user, alice):
    make_user('admin', acl=['auth.#'])
    client = app.test_client()
    admin = auth(token_of(client, 'admin'))

    def action(c, i):
        if i % 2 == 0:
            return c.delete(f'/0.1/users/{alice}/tokens/my-app', headers=admin)
        return offline_login(c, 'alice', 'my-app')

    for _ in range(5):
        refresh_token_of(client, 'alice', 'my-app')
        responses = _together(app, 8, action)
        assert {r.status_code for r in responses} <= {200, 204, 404}, \
            [r.get_json() for r in responses if r.status_code >= 500]
    assert len(refresh_rows(engine, alice)) <= 1


def test_session_deleted_while_its_token_is_checked_answers_204_or_404(
        app, engine, make_user, alice):
    make_user('admin', acl=['auth.#'])
    client = app.test_client()
    admin = auth(token_of(client, 'admin'))

    for _ in range(5):
        token = token_of(client, 'alice')
        session = token_row(engine, token).session_uuid

        def action(c, i):
            if i == 0:
                return c.delete(f'/0.1/sessions/{session}', headers=admin)
            return c.head(f'/0.1/token/{token}')

        responses = _together(app, 8, action)
        assert responses[0].status_code == 204
        assert {r.status_code for r in responses[1:]} <= {204, 404}
        assert client.head(f'/0.1/token/{token}').status_code == 404


def test_concurrent_logins_at_the_session_limit_never_exceed_it(
        make_config, db_uri, engine, alice):
    config = make_config(db_uri=db_uri, max_user_concurrent_sessions=5)
    with running_app(config, engine) as app:
        responses = _together(app, 12, lambda c, i: c.post(
            '/0.1/token', json={}, headers=basic('alice', 's3cret')))

    assert Counter(r.status_code for r in responses) == {200: 5, 429: 7}
    assert rows(engine, 'SELECT count(*) FROM auth_session')[0][0] == 5


def test_concurrent_refresh_exchanges_at_the_session_limit_never_exceed_it(
        make_config, db_uri, engine, alice):
    config = make_config(db_uri=db_uri, max_user_concurrent_sessions=5,
                         throttle={'refresh_failures_per_address': 100_000})
    with running_app(config, engine) as app:
        value = refresh_token_of(app.test_client(), 'alice', 'my-app')  # session 1 of 5
        for _ in range(3):
            responses = _together(app, 12, lambda c, i: refresh_login(c, value, 'my-app'))
            assert {r.status_code for r in responses} <= {200, 429}

    assert rows(engine, 'SELECT count(*) FROM auth_session')[0][0] == 5
