"""The wire format of wazo-auth's events (shared/spec/wazo-events.md), free of I/O.

A message is the JSON object of its headers plus ``"data"``, sent with the same headers as
AMQP message headers, persistent, ``application/json`` in ``utf-8``, so a Wazo consumer
(wazo-bus) binds and decodes it unchanged. ``message_id`` is the outbox row's id: with the
``origin_uuid`` header it names the event across redeliveries (consumers de-duplicate on the
pair; publishing is at-least-once).
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

CONTENT_TYPE = 'application/json'
CONTENT_ENCODING = 'utf-8'
PERSISTENT = 2
MAX_ROUTING_KEY = 255  # bytes: an AMQP short string
_ESCAPES = (('.', '__DOT__'), ('#', '__HASH__'), ('*', '__STAR__'))


def escape_part(part: str) -> str:
    """One part of a routing key: ``.`` would split it, ``#`` and ``*`` act as wildcards.
    (The triggers of migration 0011 do the same in SQL, ``wazo_like_auth_routing_part``.)"""
    for char, escaped in _ESCAPES:
        part = part.replace(char, escaped)
    return part


@dataclass(frozen=True)
class Event:
    """An outbox row, as the publisher reads it."""
    id: int
    name: str
    routing_key: str
    tenant_uuid: uuid.UUID | None
    user_uuid: uuid.UUID | None
    session_uuid: uuid.UUID | None
    data: dict[str, Any]
    occurred_at: dt.datetime


@dataclass(frozen=True)
class Message:
    """What goes on the wire for one event."""
    routing_key: str
    body: bytes
    headers: dict[str, Any]
    message_id: str

    def properties(self) -> dict[str, Any]:
        """The AMQP basic properties of the message."""
        return {'content_type': CONTENT_TYPE, 'content_encoding': CONTENT_ENCODING,
                'delivery_mode': PERSISTENT, 'message_id': self.message_id,
                'application_headers': self.headers}


def headers(event: Event, origin_uuid: str | None) -> dict[str, Any]:
    """The headers of ``event``: a user's event names its user (``user_uuid:<uuid>``); an
    event of no user (a tenant's) is for every user of the tenant (``user_uuid:*``)."""
    result: dict[str, Any] = {
        'name': event.name,
        'origin_uuid': origin_uuid,
        'timestamp': local_timestamp(event.occurred_at),
        'required_acl': f'events.{event.routing_key}',
        'required_access': f'event.{event.name}',
        'tenant_uuid': _text(event.tenant_uuid),
    }
    result[f'user_uuid:{event.user_uuid}' if event.user_uuid else 'user_uuid:*'] = True
    if event.session_uuid is not None:
        result['session_uuid'] = str(event.session_uuid)
    return result


class Unsendable(ValueError):
    """The event cannot be put on the wire (its routing key is too long for AMQP)."""


def encode(event: Event, origin_uuid: str | None) -> Message:
    """The message of ``event``. Raises Unsendable."""
    if len(event.routing_key.encode()) > MAX_ROUTING_KEY:
        raise Unsendable(f'routing key longer than {MAX_ROUTING_KEY} bytes')
    values = headers(event, origin_uuid)
    body = json.dumps({**values, 'data': event.data}, separators=(',', ':'))
    return Message(routing_key=event.routing_key, body=body.encode(CONTENT_ENCODING),
                   headers=values, message_id=str(event.id))


def local_timestamp(moment: dt.datetime) -> str:
    """``moment`` in the service's local time, ISO 8601 without offset (as wazo-bus)."""
    return moment.astimezone().replace(tzinfo=None).isoformat()


def _text(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)
