"""Retention of the audit trail (issue 18): the cleaner purges events older than
``events.retention_days`` in bounded batches, and never one still waiting for the bus."""
from __future__ import annotations

import pytest

from tests.support.offline_access import execute, rows
from wazo_like_auth.app import create_app, services_of, shutdown
from wazo_like_auth.config import ConfigError
from wazo_like_auth.services.audit_trail import EventRetention


def _event(engine, name: str, days_ago: float, *, publish: bool = False,
           published: bool = False) -> None:
    execute(engine, "INSERT INTO auth_event (name, routing_key, publish, published_at, "
                    "occurred_at) VALUES (:name, 'test', :publish, "
                    "CASE WHEN :published THEN now() END, "
                    "now() - make_interval(secs => :days * 86400))",
            name=name, publish=publish, published=published, days=days_ago)


def _names(engine) -> list[str]:
    return [r.name for r in rows(engine, "SELECT name FROM auth_event "
                                         "WHERE routing_key = 'test' ORDER BY name")]


@pytest.fixture
def cleaner(make_config, db_uri):
    """The cleaner of a service with a bus (whose publisher does not run here), keeping 7
    days of events, purging 2 rows per batch."""
    app = create_app(make_config(db_uri=db_uri, events={'retention_days': 7},
                                 token_cleanup_batch_size=2, amqp={'enabled': True}))
    yield services_of(app).cleaner
    shutdown(app)


def test_old_events_are_purged_except_those_waiting_for_the_bus(engine, cleaner):
    for index in range(5):
        _event(engine, f'old-{index}', 8)
    _event(engine, 'old-published', 30, publish=True, published=True)
    _event(engine, 'old-unpublished', 30, publish=True)
    _event(engine, 'recent', 6.9)
    _event(engine, 'recent-unpublished', 1, publish=True)

    cleaner.purge()

    assert _names(engine) == ['old-unpublished', 'recent', 'recent-unpublished']


def test_a_published_event_goes_at_the_next_purge(engine, cleaner):
    _event(engine, 'waiting', 10, publish=True)
    cleaner.purge()
    assert _names(engine) == ['waiting']

    execute(engine, "UPDATE auth_event SET published_at = now() WHERE routing_key = 'test'")
    cleaner.purge()

    assert _names(engine) == []


def test_a_service_that_publishes_nothing_keeps_no_unpublished_history(engine):
    _event(engine, 'old-unpublished', 8, publish=True)
    _event(engine, 'recent-unpublished', 1, publish=True)

    EventRetention(engine=engine, days=7, batch_size=10, keep_unpublished=False).purge()

    assert _names(engine) == ['recent-unpublished']


def test_retention_days_must_be_a_positive_number_of_days(make_config):
    for bad in (0, -1, 'thirty'):
        with pytest.raises(ConfigError, match='events.retention_days'):
            make_config(events={'retention_days': bad})
    assert make_config()['events'] == {'retention_days': 30, 'publish_logins': False}


def test_a_service_without_bus_purges_the_events_an_earlier_bus_never_took(make_config,
                                                                            db_uri, engine):
    # Events recorded while amqp was on and the broker unreachable wait for it. Once the bus
    # is turned off nothing will ever send them: EventRetention's keep_unpublished=False is
    # for that ("a service that publishes nothing (AMQP off) must not keep its whole
    # history"), but the service builds its retention without it, so they are kept for ever
    # (and sent, months old, should the bus be turned on again).
    _event(engine, 'left-waiting', 30, publish=True)
    app = create_app(make_config(db_uri=db_uri, events={'retention_days': 7},
                                 amqp={'enabled': False}))
    try:
        services_of(app).cleaner.purge()
    finally:
        shutdown(app)

    assert _names(engine) == []
