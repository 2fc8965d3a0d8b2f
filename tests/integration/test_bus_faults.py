"""The outbox under faults: the broker away under load (no request fails, every event arrives
after it returns, in order per session), the broker crashing mid-publish (none lost),
PostgreSQL down (no event for a change that did not commit)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from tests.support.bus_events import bus_settings, distinct, received
from tests.support.credentials import basic
from tests.support.polling import wait_until
from tests.support.postgres import migrated_restartable
from tests.support.rabbitmq import BusConsumer
from wazo_like_auth.app import create_app, services_of, shutdown
from wazo_like_auth.services.event_publisher import EventPublisher

CYCLES = 15  # login then logout, per worker
WORKERS = 4


@pytest.fixture
def broker(own_rabbitmq):
    """A broker of the test's own, with a consumer bound before anything is published."""
    bus = BusConsumer(own_rabbitmq.uri)
    yield own_rabbitmq, bus
    bus.close()


@pytest.fixture
def running_publisher(engine, broker):
    publisher = EventPublisher(engine=engine, settings=bus_settings(broker[0].uri))
    publisher.start()
    yield publisher
    publisher.stop()


def _login_logout(app, username: str) -> list[int]:
    client, statuses = app.test_client(), []
    for _ in range(CYCLES):
        response = client.post('/0.1/token', json={}, headers=basic(username, 's3cret'))
        statuses.append(response.status_code)
        token = response.get_json()['data']['token']
        statuses.append(client.delete(f'/0.1/token/{token}').status_code)
    return statuses


def _session_order_kept(messages) -> bool:
    """Each session's first created comes before its first deleted."""
    first: dict[tuple[str, str], int] = {}
    for index, message in enumerate(messages):
        first.setdefault((message.headers['name'], message.body['data']['uuid']), index)
    return all(first[('auth_session_created', session)] < index
               for (name, session), index in first.items() if name == 'auth_session_deleted')


def test_broker_down_under_load_fails_no_request_and_delivers_everything_in_order(
        app, make_user, broker, running_publisher):
    rabbitmq, consumer = broker
    users = [f'user{n}' for n in range(WORKERS)]
    uuids = [str(make_user(name)) for name in users]
    rabbitmq.stop()

    with ThreadPoolExecutor(WORKERS) as pool:
        statuses = [s for result in pool.map(lambda u: _login_logout(app, u), users)
                    for s in result]
    assert set(statuses) <= {200, 204} and len(statuses) == 2 * CYCLES * WORKERS
    rabbitmq.start()

    expected = CYCLES * WORKERS
    for name in ('auth_session_created', 'auth_session_deleted'):
        mine = set().union(*(distinct(consumer, name, count=CYCLES, timeout=30, user_uuid=u)
                             for u in uuids))
        assert len(mine) == expected
    assert _session_order_kept([m for m in consumer.messages
                                if m.headers['name'].startswith('auth_session_')])


def test_broker_crash_mid_publish_loses_no_event(engine, top_tenant, broker):
    rabbitmq, consumer = broker
    total = 5000
    with engine.begin() as conn:  # a backlog: one session_created event per row
        conn.execute(text('INSERT INTO auth_session (uuid, tenant_uuid) '
                          'SELECT gen_random_uuid(), :t FROM generate_series(1, :n)'),
                     {'t': top_tenant, 'n': total})
    publisher = EventPublisher(engine=engine, settings=bus_settings(rabbitmq.uri))
    publisher.start()
    try:
        assert wait_until(lambda: _published(engine) > 0, timeout=10, interval=0.005)
        rabbitmq.stop(kill=True)
        assert _published(engine) < total  # it crashed in the middle
        rabbitmq.start()
        assert wait_until(lambda: _published(engine) >= total, timeout=30)
    finally:
        publisher.stop()

    assert len(distinct(consumer, 'auth_session_created', count=total, timeout=30)) == total


def _published(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM auth_event WHERE published_at IS NOT NULL "
                                 "AND name = 'auth_session_created'")).scalar()


@pytest.fixture
def outage_db():
    yield from migrated_restartable()


def test_database_down_publishes_no_event_for_a_change_that_did_not_commit(
        outage_db, make_config, rabbitmq, consumer):
    config = make_config(db_uri=outage_db.uri, token_cleanup_interval=0, amqp={
        'enabled': True, 'uri': rabbitmq.uri, 'poll_interval': 0.05,
        'retry_initial_delay': 0.05, 'retry_max_delay': 0.2})
    app = create_app(config, background=True)  # the publisher as the server runs it
    try:
        admin = services_of(app).bootstrap.ensure_admin('admin', 'pw')
        client = app.test_client()
        login = lambda: client.post('/0.1/token', json={}, headers=basic('admin', 'pw'))  # noqa
        assert login().status_code == 200
        received(consumer, 'auth_session_created', user_uuid=str(admin))
        outage_db.stop()
        try:
            assert {login().status_code for _ in range(5)} == {503}
        finally:
            outage_db.restart()
        after = wait_until(lambda: (response := login()).status_code == 200 and response)
        assert after, 'the service did not recover'
        session = after.get_json()['data']['session_uuid']
        received(consumer, 'auth_session_created', uuid=session)
    finally:
        shutdown(app)
    # Delivery is at least once: an event sent as the database went down, before it was
    # marked sent, is sent again after (consumers de-duplicate). What counts is its session.
    created = {m.body['data']['uuid']
               for m in consumer.named('auth_session_created', user_uuid=str(admin))}
    assert len(created) == 2  # the two logins that committed, none of the refused ones
