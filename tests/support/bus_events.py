"""pytest plugin: the event publisher sending to the session's RabbitMQ, and how the tests
look for events among what a consumer received (``publisher``, ``bus_settings``,
``received``)."""
from __future__ import annotations

import pytest

from wazo_like_auth.bus.settings import BusSettings
from wazo_like_auth.services.event_publisher import EventPublisher

ORIGIN = '8f3a1d52-6c0e-4a57-9b1e-3c2d1e0f4a5b'


def bus_settings(uri: str, **overrides) -> BusSettings:
    """Settings for a test publisher: short poll and backoff, the ``xivo`` topic exchange."""
    values = dict(enabled=True, uri=uri, exchange_name='xivo', exchange_type='topic',
                  poll_interval=0.05, retry_initial_delay=0.05, retry_max_delay=0.2,
                  origin_uuid=ORIGIN)
    return BusSettings(**{**values, **overrides})


@pytest.fixture
def publisher(engine, rabbitmq, consumer):
    """The publisher thread, sending to the session's broker (the consumer bound first)."""
    publisher = EventPublisher(engine=engine, settings=bus_settings(rabbitmq.uri),
                               standby_interval=0.1)
    publisher.start()
    yield publisher
    publisher.stop()


def received(consumer, name: str, count: int = 1, timeout: float = 10.0, **where) -> list:
    """The messages of event ``name`` (with these data values), once ``count`` arrived."""
    consumer.wait_for(lambda _: len(consumer.named(name, **where)) >= count, timeout)
    found = consumer.named(name, **where)
    assert len(found) >= count, (name, where, [m.headers.get('name') for m in
                                               consumer.messages])
    return found


def distinct(consumer, name: str, count: int, timeout: float = 10.0, key: str = 'uuid',
             **where) -> set:
    """The distinct ``key`` values of event ``name`` (with these data values), once ``count``
    of them arrived. Delivery is at least once: after a fault, a message sent again must not
    count as another event (counting messages would stop waiting one event short)."""
    def values() -> set:
        return {m.body['data'][key] for m in consumer.named(name, **where)}
    consumer.wait_for(lambda _: len(values()) >= count, timeout)
    return values()
