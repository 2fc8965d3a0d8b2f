"""The audit trail: the event rows (the bus's outbox) as an auditor reads them, and their
retention.

What is in it: every event of the bus (sessions, refresh tokens, tenants, users, policies,
groups, clients and their links; see the README's "Audit trail") and the logins
(services/login_trail.py), each with its ``actor``: who made the change (services/actors.py),
NULL for the service's own work (expiry purge, start-up).

Who sees what (GET /events, ``auth.events.read``): like every list, the events of the scoping
tenant (``Wazo-Tenant``) and, with ``recurse``, of the tenants below it. The events that belong
to no live tenant (a failed login whose login string names nobody; anything of a tenant deleted
since, its deletion included, even when a tenant was created with its uuid later) hang from no
tree any more: they are shown to the callers whose
visible tenants include the top tenant, and to nobody else.

Whom the caller learns of: an auditor learns what happened in its tenants, not who or where an
operator of a tenant above it is. The ``actor`` of an event is shown in full when the actor's
tenant is one of the caller's visible tenants (whatever ``recurse`` says), or when the caller
sees the top tenant (every tree); otherwise it reads ``REDACTED_ACTOR``: someone acted, no
identifier (user, session, auth_id, tenant, OAuth client, address). The ``user_uuid`` filter
matches the event's own user, who lives in the event's tenant, never the actor: filtering by
a hidden operator finds nothing.
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ..event_models import Event
from ..logs import get_logger
from ..repositories import audit_trail as trail_repo
from ..repositories import policies as policy_repo
from ..repositories import tenants as tenant_repo
from ..repositories.audit_trail import SORT_COLUMNS, EventFilters
from .listing import ListQuery, Page

logger = get_logger(__name__)

__all__ = ['AuditTrail', 'EventFilters', 'EventRetention', 'REDACTED_ACTOR', 'SORT_COLUMNS']

# The actor of a tenant the caller cannot see: someone acted, the caller learns nothing more.
REDACTED_ACTOR: dict[str, Any] = {'redacted': True}
# In place of a policy the caller cannot see, in a link event's routing key.
REDACTED_POLICY = 'redacted'
_POLICY_LINKS = {f'auth_{owner}_policy_{verb}' for owner in ('user', 'group', 'client')
                 for verb in ('added', 'removed')}


class AuditTrail:
    def __init__(self, *, sessions: sessionmaker):
        self._sessions = sessions

    def list(self, scoping: uuid.UUID, tenants: list[uuid.UUID], query: ListQuery,
             filters: EventFilters, *, reach: list[uuid.UUID]) -> Page:
        """The events visible from ``tenants`` (see the module docstring) that match, their
        actors shown only when of the ``reach`` tenants (the caller's visible ones), the
        policies they name only when the caller sees them from ``scoping`` and ``reach``."""
        with self._sessions() as db:
            top = tenant_repo.find_top(db)
            scope = trail_repo.visible(tenants, orphans=top in tenants,
                                       former=trail_repo.former_lives(db))
            total, filtered, rows = trail_repo.page(db, scope, filters, query)
            if top in reach:
                known, hidden = None, set()
            else:
                known = {str(tenant) for tenant in reach}
                hidden = _hidden_policies(db, policy_repo.viewpoint(db, scoping, reach), rows)
        return Page(total, filtered, [event_view(row, known, hidden) for row in rows])


class EventRetention:
    """Deletes events older than ``days``, in batches of ``batch_size`` (one short
    transaction each, rows locked by another purge skipped), at most ``max_batches`` per
    cycle so one cycle stays short; what is left goes in the next cycle. An event still
    waiting for the bus is kept, however old (the publisher needs it), unless
    ``keep_unpublished`` is false: a service that publishes nothing (AMQP off) must not keep
    its whole history."""

    def __init__(self, *, engine: Engine, days: int, batch_size: int, max_batches: int = 100,
                 keep_unpublished: bool = True):
        self._engine = engine
        self._days = days
        self._batch_size = batch_size
        self._max_batches = max_batches
        self._keep_unpublished = keep_unpublished

    def purge(self) -> int:
        """One cycle (the cleaner runs it under its lock): the number of events deleted."""
        removed = 0
        for _ in range(self._max_batches):
            with self._engine.begin() as conn:
                count = trail_repo.purge_batch(conn, self._days, self._batch_size,
                                               self._keep_unpublished)
            removed += count
            if count < self._batch_size:
                break
        if removed:
            logger.info('events older than %d days purged: %d', self._days, removed)
        return removed


def event_view(event: Event, known: set[str] | None = None,
               hidden: Collection[str] = ()) -> dict[str, Any]:
    """An event as GET /events shows it to a caller who may see the actors of the ``known``
    tenants (None: of every tenant) and not the ``hidden`` policies (uuids)."""
    data, routing_key = event.data, event.routing_key
    policy = (data or {}).get('policy_uuid')
    if policy in hidden:  # a link to a policy of a tenant the caller cannot see
        data = {**data, 'policy_uuid': None}
        routing_key = routing_key.replace(policy, REDACTED_POLICY)
    return {
        'id': event.id, 'name': event.name,
        'occurred_at': event.occurred_at.astimezone(dt.timezone.utc).isoformat(),
        'tenant_uuid': _str(event.tenant_uuid), 'user_uuid': _str(event.user_uuid),
        'session_uuid': _str(event.session_uuid), 'routing_key': routing_key,
        'actor': shown_actor(event.actor, known), 'data': data,
    }


def _hidden_policies(db: Session, view: policy_repo.Viewpoint, rows: list[Any]) -> set[str]:
    """The policies that ``rows`` (link events: user, group or client to policy) name and
    that are not visible from ``view``, deleted ones included (whose they were is unknown)."""
    named = {row.data['policy_uuid'] for row in rows if row.name in _POLICY_LINKS}
    return named - {str(u) for u in policy_repo.visible_among(db, view, named)}


def shown_actor(actor: dict[str, Any] | None, known: set[str] | None) -> dict[str, Any] | None:
    """``actor`` as a caller who may see the actors of the ``known`` tenants (None: all)
    sees it; an actor of no known tenant (none recorded, or one deleted since) is redacted."""
    if actor is None or known is None or actor.get('tenant_uuid') in known:
        return actor
    return dict(REDACTED_ACTOR)


def _str(value: Any) -> str | None:
    return str(value) if value is not None else None
