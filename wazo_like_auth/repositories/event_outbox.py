"""The publisher's side of the event outbox (``auth_event``, migrations 0009 and 0011).

Functions take a connection and never commit. Rows waiting for the bus are found through the
partial index ``auth_event__idx__unpublished``: the scan costs nothing however long the trail.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, bindparam, func, select, update

from ..bus.messages import Event as BusEvent
from ..event_models import Event

# `WHERE publish`, not `publish IS true`: PostgreSQL proves only the former matches the partial
# index auth_event__idx__unpublished; with the latter every poll read the whole trail.
_PENDING = select(Event.id, Event.name, Event.routing_key, Event.tenant_uuid, Event.user_uuid,
                  Event.session_uuid, Event.data, Event.occurred_at) \
    .where(Event.publish, Event.published_at.is_(None)) \
    .order_by(Event.id).limit(bindparam('limit'))


def pending(conn: Connection, limit: int) -> list[BusEvent]:
    """Up to ``limit`` committed events waiting for the bus, oldest id first."""
    return [BusEvent(**row._mapping) for row in conn.execute(_PENDING, {'limit': limit})]


def mark_published(conn: Connection, ids: Sequence[int]) -> None:
    """The broker confirmed these events."""
    if ids:
        conn.execute(update(Event).where(Event.id.in_(ids))
                     .values(published_at=func.clock_timestamp()))


def mark_unsendable(conn: Connection, ids: Sequence[int]) -> None:
    """These events can never go on the wire (e.g. a routing key over AMQP's 255 bytes):
    they stay in the trail as not for the bus, instead of blocking the ones behind them."""
    if ids:
        conn.execute(update(Event).where(Event.id.in_(ids)).values(publish=False))

