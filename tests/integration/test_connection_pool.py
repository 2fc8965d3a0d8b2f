"""The service's database connections (db.make_engine): a burst larger than the pool waits for
the pool's connections instead of opening PostgreSQL backends that are closed again at once."""
from __future__ import annotations

import threading
import time

from sqlalchemy import text

from tests.support.credentials import basic
from wazo_like_auth import db
from wazo_like_auth.app import create_app, services_of, shutdown


def _backend_pids_of_a_burst(engine, *, threads: int, rounds: int) -> tuple[set[int], list]:
    """Each of ``threads`` threads takes a connection ``rounds`` times, holds it 5 ms (a
    request's statements) and notes the PostgreSQL backend that served it."""
    pids: set[int] = set()
    errors: list = []
    start = threading.Barrier(threads)

    def work():
        try:
            start.wait()
            for _ in range(rounds):
                with engine.connect() as conn:
                    pids.add(conn.execute(text('SELECT pg_backend_pid()')).scalar())
                    time.sleep(0.005)
        except Exception as e:  # noqa: BLE001 - reported by the assertion below
            errors.append(e)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    return pids, errors


def test_a_burst_is_served_by_the_pools_connections_only(make_config, db_uri):
    engine = db.make_engine(make_config(db_uri=db_uri, db_pool_size=3))
    try:
        pids, errors = _backend_pids_of_a_burst(engine, threads=12, rounds=10)
    finally:
        engine.dispose()
    assert errors == []
    # Each new backend is a process forked by PostgreSQL: a burst must not make any beyond
    # the pool's (before: 2 more at a time, closed when returned and opened again).
    assert len(pids) == 3


def test_a_request_finding_every_connection_busy_answers_503_and_the_log_says_so(
        make_config, db_uri, make_user, service_log):
    lines = service_log()
    make_user('alice')
    app = create_app(make_config(db_uri=db_uri, db_pool_size=1, db_connect_timeout=1,
                                 token_cleanup_interval=0))
    try:
        engine = services_of(app).engine
        client = app.test_client()
        with engine.connect():  # the pool's only connection, busy for the whole request
            started = time.monotonic()
            response = client.post('/0.1/token', json={}, headers=basic('alice', 's3cret'))
            waited = time.monotonic() - started
        assert response.status_code == 503
        assert response.get_json()['error_id'] == 'database-unavailable'
        assert 0.9 < waited < 5  # db_connect_timeout, not the statement's or a client's
        assert client.post('/0.1/token', json={},
                           headers=basic('alice', 's3cret')).status_code == 200
    finally:
        shutdown(app)
    logged = '\n'.join(lines())
    assert 'No free database connection in time on POST /0.1/token' in logged
    assert 'Database unavailable' not in logged  # PostgreSQL was up: no false trail
