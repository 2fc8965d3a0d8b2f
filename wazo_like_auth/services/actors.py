"""Who makes a change: the ``actor`` every event row names (the audit trail's "who").

The HTTP layer knows the caller (its token, its address); the services own the transactions;
the rows are often written by triggers and foreign-key cascades (a session deleted with its
user, a user with its tenant) that no Python code sees. So the actor travels as a
transaction-local PostgreSQL setting (``repositories.events.set_actor``), read by
``wazo_like_auth_record_event`` for every row, whoever writes it.

How the setting gets there: the HTTP layer runs the one service call of a request inside
``acting_as(actor)``, a context variable, and ``name_actor_at_begin`` makes the sessionmaker set
it as each transaction begins. Why not an ``actor`` argument on every service method: some sixty
methods, each of which would have to remember to pass it down to every transaction it opens
(including the login throttle's and the revocation marker's); one forgotten argument and a
cascade writes an anonymous row. Here no service changes and none can forget: any transaction
opened on behalf of a request names its caller, and transactions of the service's own work
(purges, start-up reconciliation, the CLI) name nobody (NULL), as they should. The context
variable is set and reset around exactly one resource call (``with``), per thread, so it never
leaks into another request. Services never read ``flask.request``: the actor is a plain dict.

An actor holds identifiers only (auth_id, user, session, tenant, OAuth client_id, address),
never a token, a secret or a password.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from ..repositories import events as event_repo

Actor = dict[str, Any]

_ACTOR: ContextVar[Actor | None] = ContextVar('wazo_like_auth_actor', default=None)

# The only keys an actor may hold: identifiers, never a credential.
ACTOR_KEYS = ('auth_id', 'user_uuid', 'session_uuid', 'tenant_uuid', 'client_id', 'address')


@contextmanager
def acting_as(actor: Actor | None) -> Iterator[None]:
    """Name ``actor`` in every transaction begun inside the ``with`` (in this thread)."""
    token = _ACTOR.set(_only_identifiers(actor) if actor else None)
    try:
        yield
    finally:
        _ACTOR.reset(token)


def current() -> Actor | None:
    return _ACTOR.get()


def name_in(db: Session, **more: Any) -> None:
    """Add facts learnt inside a transaction (the client that authenticated, the token
    presented to DELETE /token) to the actor of ``db``'s current transaction."""
    event_repo.set_actor(db, _only_identifiers({**(current() or {}), **more}))


def of_token(row: Any, address: str) -> Actor:
    """The actor of a caller presenting the token ``row`` (a token row: auth_id, session_uuid,
    metadata) from ``address``."""
    metadata = row.metadata or {}
    return {'auth_id': row.auth_id, 'user_uuid': metadata.get('uuid'),
            'session_uuid': str(row.session_uuid), 'tenant_uuid': metadata.get('tenant_uuid'),
            'client_id': metadata.get('client_id'), 'address': address}


def name_actor_at_begin(sessions: sessionmaker) -> None:
    """Hook ``sessions`` so each transaction begun under ``acting_as`` names its actor."""
    @event.listens_for(sessions, 'after_begin')
    def _name(session, transaction, connection):
        actor = _ACTOR.get()
        if actor:
            event_repo.set_actor(connection, actor)


def _only_identifiers(actor: Actor) -> Actor:
    return {key: str(actor[key]) for key in ACTOR_KEYS if actor.get(key) not in (None, '')}
