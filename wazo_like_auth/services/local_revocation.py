"""This process's own revocations, evicted from its validation cache as soon as they commit.

The PostgreSQL trigger names the revoked digests (cascades included) in notifications that
reach every process, this one too. A transaction that deleted rows also NOTIFYs a marker of its
own, after the trigger's notifications; once it commits, the committing thread waits until this
process's listener has seen the marker, so every digest it revoked is evicted here before the
request that revoked it answers. A delete that removed no token sends no digest: it evicts
nothing. The wait is bounded; past it, the cache empties (fail closed).
"""
from __future__ import annotations

import itertools
import os
import secrets

from sqlalchemy import event

from ..repositories import revocations
from .validation_cache import MARKER_PREFIX, ValidationCache

WAIT = 2.0


def evict_on_local_revocation(sessions, cache: ValidationCache, wait: float = WAIT) -> None:
    """Hook ``sessions`` (a sessionmaker) so its committed deletes are evicted from ``cache``
    before the commit returns."""
    counter = itertools.count(1)
    prefix = secrets.token_hex(4)

    @event.listens_for(sessions, 'do_orm_execute')
    def _mark_delete(state):
        if state.is_delete:
            state.session.info['revoked'] = True

    @event.listens_for(sessions, 'after_flush')
    def _mark_orm_delete(session, context):
        if session.deleted:
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
