"""The transactional outbox and its publisher: one publisher per cluster, commit order without
skipping, at-least-once with a stable message id, a poison event set aside, the bus disabled,
the top tenant announced on a fresh database."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from tests.support.bus_events import bus_settings, received
from tests.support.credentials import basic
from tests.support.offline_access import PASSWORD, offline_login
from tests.support.apps import running_app
from tests.support.scratch_db import scratch  # noqa: F401
from wazo_like_auth import db
from wazo_like_auth.repositories import event_outbox
from wazo_like_auth.services import event_publisher
from wazo_like_auth.services.event_publisher import EventPublisher


@pytest.fixture
def alice(make_user):
    return make_user('alice')


@pytest.fixture
def make_publisher(engine, rabbitmq):
    """Publishers not started: the test runs their cycles (``run_once``) itself."""
    made = []

    def make(**overrides):
        publisher = EventPublisher(engine=engine, settings=bus_settings(rabbitmq.uri,
                                                                        **overrides))
        made.append(publisher)
        return publisher
    yield make
    for publisher in made:
        publisher.stop()


def login(client, username='alice') -> dict:
    response = client.post('/0.1/token', json={}, headers=basic(username, PASSWORD))
    assert response.status_code == 200, response.get_json()
    return response.get_json()['data']


def test_one_publisher_per_cluster_and_a_standby_takes_over(client, alice, consumer,
                                                            make_publisher):
    first, second = make_publisher(), make_publisher()
    session = login(client)['session_uuid']

    assert first.run_once() >= 1
    assert second.run_once() is None  # the lock is held: the other node publishes
    received(consumer, 'auth_session_created', uuid=session)
    first.stop()
    again = login(client)['session_uuid']

    assert second.run_once() == 1
    received(consumer, 'auth_session_created', uuid=again)
    assert len(consumer.named('auth_session_created', uuid=session)) == 1


def test_an_event_committed_late_with_a_lower_id_is_sent_not_skipped(client, engine, alice,
                                                                     top_tenant, consumer,
                                                                     make_publisher):
    publisher = make_publisher()
    publisher.run_once()
    late = uuid.uuid4()
    with engine.connect() as slow:  # takes its id first, commits last
        slow.execute(text('INSERT INTO auth_session (uuid, tenant_uuid) VALUES (:u, :t)'),
                     {'u': late, 't': top_tenant})
        early = login(client)['session_uuid']
        assert publisher.run_once() == 1
        received(consumer, 'auth_session_created', uuid=early)
        slow.commit()

    assert publisher.run_once() == 1
    [message] = received(consumer, 'auth_session_created', uuid=str(late))
    [before] = consumer.named('auth_session_created', uuid=early)
    assert int(message.properties['message_id']) < int(before.properties['message_id'])


def test_a_redelivered_event_keeps_its_message_id_and_origin(client, engine, alice, consumer,
                                                             make_publisher):
    """At-least-once: after a crash between the broker's confirm and the mark, the event is
    sent again; consumers de-duplicate on (origin_uuid, message_id)."""
    publisher = make_publisher()
    session = login(client)['session_uuid']
    publisher.run_once()
    received(consumer, 'auth_session_created', uuid=session)
    with engine.begin() as conn:  # as if the mark had not committed
        conn.execute(text("UPDATE auth_event SET published_at = NULL "
                          "WHERE session_uuid = :s"), {'s': session})

    publisher.run_once()

    first, second = received(consumer, 'auth_session_created', count=2, uuid=session)
    assert first.properties['message_id'] == second.properties['message_id']
    assert first.body == second.body


def test_the_publisher_keeps_no_position_in_the_trail(client, engine, alice, consumer,
                                                      make_publisher):
    """The retention purge may delete any row, published or not: the publisher only ever
    looks for unpublished ones."""
    publisher = make_publisher()
    login(client)
    publisher.run_once()
    with engine.begin() as conn:
        conn.execute(text('DELETE FROM auth_event'))
    session = login(client)['session_uuid']

    assert publisher.run_once() == 1
    received(consumer, 'auth_session_created', uuid=session)


def test_an_event_too_long_for_amqp_is_set_aside_and_the_rest_goes(client, engine, alice,
                                                                   consumer, make_publisher):
    client_id = 'c' * 300  # a routing key over AMQP's 255 bytes
    assert offline_login(client, 'alice', client_id).status_code == 200
    session = login(client)['session_uuid']

    make_publisher().run_once()

    received(consumer, 'auth_session_created', uuid=session)
    assert not consumer.named('auth_refresh_token_created')
    with engine.connect() as conn:
        assert conn.execute(text("SELECT publish FROM auth_event "
                                 "WHERE name = 'auth_refresh_token_created'")).scalar() is False


@pytest.mark.parametrize('enabled', [True, False])
def test_a_service_without_bus_records_its_events_as_not_for_the_bus(make_config, db_uri, alice,
                                                                     engine, enabled):
    config = make_config(db_uri=db_uri, amqp={'enabled': enabled})
    own = db.make_engine(config, pool_size=1)
    try:
        with running_app(config, own) as app:
            session = login(app.test_client())['session_uuid']
    finally:
        own.dispose()
    with engine.connect() as conn:
        publish = conn.execute(text('SELECT publish FROM auth_event WHERE session_uuid = :s'),
                               {'s': session}).scalar()
    assert publish is enabled


def test_a_fresh_database_announces_its_top_tenant(scratch):  # noqa: F811
    db.upgrade(scratch)
    with scratch.connect() as conn:
        events = conn.execute(text('SELECT name, routing_key, tenant_uuid, data, publish '
                                   'FROM auth_event')).all()
        top = conn.execute(text('SELECT uuid FROM tenant WHERE uuid = parent_uuid')).scalar()
    assert events == [('auth_tenant_added', f'auth.tenants.{top}.created', top,
                       {'uuid': str(top), 'name': 'master', 'slug': 'master',
                        'domain_names': []}, True)]


def test_looking_for_waiting_events_reads_only_the_waiting_ones(engine):
    """Every node's publisher looks for waiting events every poll_interval (0.5 s): however
    long the trail (30 days of sessions and logins), the look-up must go through the partial
    index of the waiting rows, not read every row of the trail."""
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO auth_event (name, routing_key, publish, published_at) "
                          "SELECT 'auth_session_created', 'auth.sessions.x.created', true, "
                          "now() FROM generate_series(1, 100000)"))
        conn.execute(text('ANALYZE auth_event'))
        compiled = event_outbox._PENDING.compile(dialect=conn.dialect)
        plan = conn.exec_driver_sql('EXPLAIN ' + str(compiled),
                                    {'limit': event_publisher.BATCH}).scalars().all()

    assert any('auth_event__idx__unpublished' in line for line in plan), plan
