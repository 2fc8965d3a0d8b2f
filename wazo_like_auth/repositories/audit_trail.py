"""The audit trail: reading ``auth_event`` rows (GET /events) and purging old ones."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import (ColumnElement, Connection, Text, and_, exists, false, func, literal, or_,
                        select, text)
from sqlalchemy.orm import Session

from ..event_models import Event
from ..models import Tenant
from .listing import ListQuery


@dataclass(frozen=True)
class EventFilters:
    """The strict filters of GET /events; empty ones filter nothing. ``since`` inclusive,
    ``until`` exclusive; ``login`` compares case-insensitively with ``data.login``."""
    names: tuple[str, ...] = ()
    user_uuid: uuid.UUID | None = None
    login: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


SORT_COLUMNS = {'occurred_at': Event.occurred_at, 'id': Event.id}


def visible(tenants: Sequence[uuid.UUID], orphans: bool,
            former: Mapping[uuid.UUID, int] | None = None) -> ColumnElement[bool]:
    """Events of ``tenants``; with ``orphans`` also the events of no tenant (failed logins
    naming nobody) and of tenants deleted since (their tree is gone: only the top tenant's
    callers, who see every tree, may see them). ``former`` (see :func:`former_lives`): a
    live tenant created with the uuid of a deleted one; its events up to that id are the
    deleted tenant's, orphans, not the new tenant's."""
    former = former or {}
    in_tenants = Event.tenant_uuid.in_(list(tenants))
    past = _before(former, [t for t in tenants if t in former])
    if not orphans:
        return and_(in_tenants, ~past)
    live = exists().where(Tenant.uuid == Event.tenant_uuid)
    return or_(and_(in_tenants, ~past), Event.tenant_uuid.is_(None), ~live,
               _before(former, list(former)))


def _before(former: Mapping[uuid.UUID, int],
            tenants: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    lives = [and_(Event.tenant_uuid == t, Event.id <= former[t]) for t in tenants]
    return or_(*lives) if lives else false()


def former_lives(db: Session) -> dict[uuid.UUID, int]:
    """The live tenants whose uuid a deleted tenant had (POST /tenants takes the uuid to
    create), each with the id of its last ``auth_tenant_deleted``: the events of that uuid up
    to it are the deleted tenant's. (That event is written at the commit of the deletion,
    after every event of what the deletion removed, and before any of the new tenant.)"""
    last = select(Event.tenant_uuid, func.max(Event.id)) \
        .where(Event.name == 'auth_tenant_deleted',
               exists().where(Tenant.uuid == Event.tenant_uuid)) \
        .group_by(Event.tenant_uuid)
    return {tenant: last_id for tenant, last_id in db.execute(last)}


def _matching(filters: EventFilters) -> list[ColumnElement[bool]]:
    conditions = []
    if filters.names:
        conditions.append(Event.name.in_(list(filters.names)))
    if filters.user_uuid is not None:
        conditions.append(Event.user_uuid == filters.user_uuid)
    if filters.login is not None:
        # Both conditions: the partial expression index auth_event__idx__login serves them.
        # Both sides folded by PostgreSQL: Python folds some letters otherwise ('İ').
        conditions += [Event.data.has_key('login'),
                       func.lower(Event.data['login'].astext)
                       == func.lower(literal(filters.login, Text))]
    if filters.since is not None:
        conditions.append(Event.occurred_at >= filters.since)
    if filters.until is not None:
        conditions.append(Event.occurred_at < filters.until)
    return conditions


def page(db: Session, scope: ColumnElement[bool], filters: EventFilters,
         query: ListQuery) -> tuple[int, int, list[Event]]:
    """(events in ``scope``, of them matching ``filters``, the page of those asked for);
    ordered by ``query.order`` (default occurred_at), ties broken by id the same way."""
    total = db.scalar(select(func.count()).select_from(Event).where(scope)) or 0
    conditions = [scope, *_matching(filters)]
    filtered = db.scalar(select(func.count()).select_from(Event).where(*conditions)) or 0
    column = SORT_COLUMNS[query.order or 'occurred_at']
    order = [column.desc(), Event.id.desc()] if query.direction == 'desc' \
        else [column.asc(), Event.id.asc()]
    rows = select(Event).where(*conditions).order_by(*order).offset(query.offset)
    if query.limit is not None:
        rows = rows.limit(query.limit)
    return total, filtered, list(db.scalars(rows))


_PURGE_BATCH = text("""
WITH doomed AS (
    SELECT id FROM auth_event
    WHERE occurred_at < now() - make_interval(days => :days)
      AND NOT (:keep_unpublished AND publish AND published_at IS NULL)
    ORDER BY occurred_at LIMIT :batch FOR UPDATE SKIP LOCKED
)
DELETE FROM auth_event WHERE id IN (SELECT id FROM doomed)
""")


def purge_batch(conn: Connection, days: int, batch: int, keep_unpublished: bool = True) -> int:
    """Delete up to ``batch`` events older than ``days`` (the database's now); with
    ``keep_unpublished``, never one still waiting for the bus (``publish`` and not
    ``published_at``). Returns how many."""
    return conn.execute(_PURGE_BATCH, {'days': days, 'batch': batch,
                                       'keep_unpublished': keep_unpublished}).rowcount
