"""Online-guessing defences: per (login, address), per login, refresh tokens, token scans."""
from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from tests.support.apps import running_app
from tests.support.credentials import basic
from wazo_like_auth.app import create_app, services_of, shutdown

ATTACKER = '203.0.113.66'
USER_HOME = '198.51.100.7'


@pytest.fixture
def throttled_app(make_config, db_uri, engine):
    def build(**throttle):
        config = make_config(db_uri=db_uri, throttle=throttle, password_hash_rounds=4)
        app = create_app(config, engine=engine)
        built.append(app)
        return app
    built = []
    yield build
    for app in built:
        shutdown(app)


def _login(app, address, password, username='alice', body=None):
    client = app.test_client()
    return client.post('/0.1/token', json=body or {}, headers=basic(username, password),
                       environ_base={'REMOTE_ADDR': address})


def test_one_address_is_throttled_after_five_failures_even_with_the_right_password(
        throttled_app, make_user):
    make_user()
    app = throttled_app()
    for _ in range(5):
        assert _login(app, ATTACKER, 'guess').status_code == 401
    refused = _login(app, ATTACKER, 's3cret')
    assert refused.status_code == 429
    assert 0 < int(refused.headers['Retry-After']) <= 900
    assert refused.get_json()['error_id'] == 'too-many-attempts'


def test_the_real_user_logs_in_from_another_address_during_an_attack(throttled_app, make_user):
    make_user()
    app = throttled_app()
    for _ in range(30):
        _login(app, ATTACKER, 'guess')
    assert _login(app, USER_HOME, 's3cret').status_code == 200


def test_throttled_attempts_spend_no_bcrypt(make_config, db_uri, engine):
    # An unknown login is verified against the dummy hash, made at the configured cost.
    app = create_app(make_config(db_uri=db_uri, password_hash_rounds=12), engine=engine)
    try:
        for _ in range(5):
            started = time.perf_counter()
            _login(app, ATTACKER, 'guess', username='nobody')
            bcrypt_time = time.perf_counter() - started
        started = time.perf_counter()
        assert _login(app, ATTACKER, 'guess', username='nobody').status_code == 429
        assert time.perf_counter() - started < bcrypt_time / 5
    finally:
        shutdown(app)


def test_success_clears_the_address_counter(throttled_app, make_user):
    make_user()
    app = throttled_app()
    for _ in range(4):
        _login(app, USER_HOME, 'typo')
    assert _login(app, USER_HOME, 's3cret').status_code == 200
    for _ in range(4):
        assert _login(app, USER_HOME, 'typo').status_code == 401
    assert _login(app, USER_HOME, 's3cret').status_code == 200


def test_distributed_guessing_is_stopped_but_known_addresses_still_log_in(
        throttled_app, make_user):
    make_user()
    app = throttled_app(login_failures_per_login=10)
    assert _login(app, USER_HOME, 's3cret').status_code == 200
    for i in range(10):
        assert _login(app, f'192.0.2.{i + 1}', 'guess').status_code == 401
    assert _login(app, '192.0.2.200', 'guess').status_code == 429
    assert _login(app, '192.0.2.201', 's3cret').status_code == 429
    assert _login(app, USER_HOME, 's3cret').status_code == 200


def test_other_logins_are_not_affected(throttled_app, make_user):
    make_user('alice')
    make_user('bob')
    app = throttled_app()
    for _ in range(10):
        _login(app, ATTACKER, 'guess', username='alice')
    assert _login(app, ATTACKER, 's3cret', username='bob').status_code == 200


def test_refresh_token_guessing_from_one_address_is_throttled(throttled_app):
    app = throttled_app(refresh_failures_per_address=3)
    body = lambda: {'refresh_token': str(uuid.uuid4()), 'client_id': 'app'}  # noqa: E731
    for _ in range(3):
        assert _login(app, ATTACKER, '', body=body()).status_code == 401
    assert _login(app, ATTACKER, '', body=body()).status_code == 429


def test_scanning_for_tokens_is_throttled_per_address(throttled_app):
    app = throttled_app(unknown_token_checks_per_minute=10, trusted_networks=[])
    client = app.test_client()
    answers = [client.head(f'/0.1/token/{uuid.uuid4()}',
                           environ_base={'REMOTE_ADDR': ATTACKER}).status_code
               for _ in range(11)]
    assert answers == [404] * 10 + [429]
    other = client.head(f'/0.1/token/{uuid.uuid4()}', environ_base={'REMOTE_ADDR': USER_HOME})
    assert other.status_code == 404


def test_trusted_networks_are_never_throttled_for_checks(throttled_app):
    app = throttled_app(unknown_token_checks_per_minute=5)
    client = app.test_client()
    answers = {client.head(f'/0.1/token/{uuid.uuid4()}').status_code for _ in range(20)}
    assert answers == {404}


def test_the_purge_forgets_counters_and_addresses_past_their_window(throttled_app, make_user,
                                                                    engine):
    make_user()
    app = throttled_app()
    _login(app, ATTACKER, 'guess')
    _login(app, USER_HOME, 's3cret')
    with engine.begin() as conn:
        conn.execute(text("UPDATE auth_login_failure SET window_start = now() - interval '1 day'"))
        conn.execute(text("UPDATE auth_login_known_address "
                          "SET last_success = now() - interval '31 days'"))
    services_of(app).cleaner.purge()
    with engine.connect() as conn:
        left = [conn.execute(text(f'SELECT count(*) FROM {table}')).scalar()
                for table in ('auth_login_failure', 'auth_login_known_address')]
    assert left == [0, 0]


def test_guesses_sent_all_at_once_get_the_budget_plus_the_checks_in_flight(
        make_config, db_uri, engine, make_user):
    # Checked first and counted after, 40 guesses sent at once all passed the check before
    # the first failure was counted: 40 passwords tried where 5 are allowed.
    make_user('alice')
    config = make_config(db_uri=db_uri, password_hash_rounds=10)
    with running_app(config, engine) as app:
        barrier = threading.Barrier(40)

        def guess(index: int):
            client = app.test_client()
            barrier.wait(timeout=30)
            return client.post('/0.1/token', json={}, headers=basic('alice', f'guess-{index}'),
                               environ_base={'REMOTE_ADDR': '203.0.113.66'})
        with ThreadPoolExecutor(max_workers=40) as pool:
            answers = list(pool.map(guess, range(40)))
    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) <= {401, 429}
    assert statuses[401] <= 5 + 16 - 1, statuses  # per address + in flight (defaults)
