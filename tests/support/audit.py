"""Reading the audit trail (GET /events) in tests, and who a token's caller is as an actor."""
from __future__ import annotations

import datetime as dt
import json

from tests.support.offline_access import rows


def events(admin, **query) -> list[dict]:
    """The items of GET /events with these query parameters (oldest first unless asked)."""
    query.setdefault('direction', 'asc')
    return admin.ok('GET', '/events', query=query)['items']


def named(admin, *names: str, **query) -> list[dict]:
    return events(admin, name=','.join(names), **query)


def actor_of(client, token: str, address: str = '127.0.0.1') -> dict:
    """The actor the events of a request made with ``token`` from ``address`` name."""
    data = client.get(f'/0.1/token/{token}').get_json()['data']
    metadata = data['metadata']
    actor = {'auth_id': data['auth_id'], 'user_uuid': metadata.get('uuid'),
             'session_uuid': data['session_uuid'], 'tenant_uuid': metadata.get('tenant_uuid'),
             'client_id': metadata.get('client_id'), 'address': address}
    return {key: value for key, value in actor.items() if value is not None}


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def stored_events(engine) -> list:
    """Every auth_event row, straight from the database."""
    return rows(engine, 'SELECT * FROM auth_event ORDER BY id')


def stored_text(engine) -> str:
    """Every name, routing key, data and actor of the trail as one string (to look for
    secrets in)."""
    return json.dumps([[r.name, r.routing_key, r.data, r.actor] for r in stored_events(engine)])
