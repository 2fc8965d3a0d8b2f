"""The event outbox and audit trail (``auth_event``, migration 0009). Functions take a session
and never commit: an event is written in the transaction of the change it describes.

Triggers write rows through the SQL function ``wazo_like_auth_record_event``; services write
theirs with :func:`record`. Both take the actor from :func:`set_actor`, a transaction-local
setting, so a row made by a cascade still names who caused it.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from ..event_models import Event


def set_actor(db: Session | Connection, actor: dict[str, Any] | None) -> None:
    """Name who makes the changes of ``db``'s current transaction (its auth_id, session,
    address, client...; never a secret). Lasts until the transaction ends. ``db`` may be a
    Connection: services/actors.py sets it as a transaction begins."""
    db.execute(text("SELECT set_config('wazo_like_auth.event_actor', :actor, true)"),
               {'actor': json.dumps(actor) if actor else ''})


def record(db: Session, *, name: str, routing_key: str, data: dict[str, Any],
           tenant_uuid: uuid.UUID | None = None, user_uuid: uuid.UUID | None = None,
           session_uuid: uuid.UUID | None = None, publish: bool = True) -> None:
    """Add one event to ``db``'s transaction, with the actor of :func:`set_actor`."""
    db.execute(text('SELECT wazo_like_auth_record_event(:name, :routing_key, :tenant_uuid, '
                    ':user_uuid, :session_uuid, CAST(:data AS jsonb), :publish)'),
               {'name': name, 'routing_key': routing_key, 'tenant_uuid': tenant_uuid,
                'user_uuid': user_uuid, 'session_uuid': session_uuid,
                'data': json.dumps(data), 'publish': publish})


__all__ = ['Event', 'record', 'set_actor']
