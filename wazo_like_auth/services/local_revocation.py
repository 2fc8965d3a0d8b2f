"""This process's own revocations, evicted from its validation cache as soon as they commit.

The PostgreSQL trigger names the revoked digests (cascades included) in notifications that
reach every process, this one too. A transaction that deleted rows also NOTIFYs a marker of its
own, after the trigger's notifications; once it commits, the committing thread waits until this
process's listener has seen the marker, so every digest it revoked is evicted here before the
request that revoked it answers. A delete that removed no token sends no digest: it evicts
nothing. The wait is bounded; past it, the cache empties (fail closed).

Only deletes from tables whose rows can take tokens with them (``revoking_tables``: auth_token
and the tables its rows cascade from, read from the models' foreign keys) send a marker: a
policy, a login-failure counter or a known address deleted revokes nothing, and every login
deletes a counter.
"""
from __future__ import annotations

import itertools
import os
import secrets

from sqlalchemy import MetaData, event

from ..models import Base, Token
from ..repositories import revocations
from .validation_cache import MARKER_PREFIX, ValidationCache

WAIT = 2.0


def revoking_tables(metadata: MetaData, tokens: str) -> frozenset[str]:
    """``tokens`` and the tables from which a delete cascades (ON DELETE CASCADE, through any
    number of tables) to it. Raises if a foreign key names a table ``metadata`` lacks (a
    models module not imported): the set would be too small."""
    found = {tokens}
    grown = True
    while grown:
        grown = False
        for table in metadata.tables.values():
            if table.name not in found:
                continue
            for key in table.foreign_keys:
                parent = key.column.table.name
                if (key.ondelete or '').upper() == 'CASCADE' and parent not in found:
                    found.add(parent)
                    grown = True
    return frozenset(found)


def evict_on_local_revocation(sessions, cache: ValidationCache, wait: float = WAIT) -> None:
    """Hook ``sessions`` (a sessionmaker) so its committed deletes are evicted from ``cache``
    before the commit returns."""
    counter = itertools.count(1)
    prefix = secrets.token_hex(4)
    revoking = revoking_tables(Base.metadata, Token.__tablename__)

    @event.listens_for(sessions, 'do_orm_execute')
    def _mark_delete(state):
        if state.is_delete and state.statement.table.name in revoking:
            state.session.info['revoked'] = True

    @event.listens_for(sessions, 'after_flush')
    def _mark_orm_delete(session, context):
        if any(type(row).__table__.name in revoking for row in session.deleted):
            session.info['revoked'] = True

    @event.listens_for(sessions, 'before_commit')
    def _send_marker(session):
        if not session.info.pop('revoked', False):
            return
        marker = cache.new_marker(f'{MARKER_PREFIX}{os.getpid()}:{prefix}:{next(counter)}')
        if marker is not None:
            revocations.notify(session, marker[0])
            session.info['marker'] = marker

    @event.listens_for(sessions, 'after_commit')
    def _await(session):
        marker = session.info.pop('marker', None)
        if marker is not None:
            cache.await_marker(marker, wait)

    @event.listens_for(sessions, 'after_rollback')
    def _forget(session):
        session.info.pop('revoked', None)
        marker = session.info.pop('marker', None)
        if marker is not None:
            cache.forget_marker(marker)
