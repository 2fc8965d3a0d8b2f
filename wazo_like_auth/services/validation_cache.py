"""A per-process cache of validated tokens, invalidated across the cluster.

Entries are keyed by token digest and bounded in number (LRU). The caller still refuses an
expired entry, so nothing is served past its expiry. Every delete of access tokens, by any path
including foreign-key cascades, fires a PostgreSQL trigger that NOTIFYs the digests (or ``*``
for large deletes); a listener thread per process evicts them. If the listener connection is
lost, the cache empties and stays off until the listener is back (fail closed).

A read racing with a revocation must not re-insert a stale row: ``generation`` changes on every
invalidation, and ``put`` only stores a row read under the current generation.
"""
from __future__ import annotations

import logging
import select
import threading
from collections import OrderedDict
from typing import Any

logger = logging.getLogger(__name__)

CHANNEL = 'wazo_like_auth_revocations'
LISTENER_NAME = 'wazo-like-auth-listener'


class ValidationCache:
    def __init__(self, max_size: int = 10000):
        self._max_size = max_size
        self._items: OrderedDict[bytes, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0
        self._enabled = False
        self.hits = 0
        self.invalidations = 0

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def enabled(self) -> bool:
        return self._enabled

    def get(self, digest: bytes) -> Any | None:
        with self._lock:
            row = self._items.get(digest)
            if row is not None:
                self._items.move_to_end(digest)
                self.hits += 1
            return row

    def put(self, digest: bytes, row: Any, generation: int) -> None:
        """Store ``row`` if nothing was invalidated since ``generation`` was read."""
        with self._lock:
            if not self._enabled or generation != self._generation:
                return
            self._items[digest] = row
            if len(self._items) > self._max_size:
                self._items.popitem(last=False)

    def evict(self, digests: list[bytes]) -> None:
        with self._lock:
            self._generation += 1
            self.invalidations += 1
            for digest in digests:
                self._items.pop(digest, None)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self.invalidations += 1
            self._items.clear()

    def set_enabled(self, enabled: bool) -> None:
        with self._lock:
            self._generation += 1
            self._enabled = enabled
            self._items.clear()


class RevocationListener:
    """LISTENs for revocations on its own connection and applies them to a cache."""

    def __init__(self, *, dsn: dict[str, Any], cache: ValidationCache, retry_delay: float = 1.0):
        self._dsn = dsn
        self._cache = cache
        self._retry_delay = retry_delay
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name='revocation-listener',
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except Exception as e:  # any failure: fail closed, then retry
                logger.warning('revocation listener lost (%s); validation cache off',
                               type(e).__name__)
            self._cache.set_enabled(False)
            self._stop.wait(self._retry_delay)

    def _listen(self) -> None:
        import psycopg2
        conn = psycopg2.connect(connect_timeout=2, application_name=LISTENER_NAME, **self._dsn)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'LISTEN {CHANNEL}')
            # Enabled only once listening: nothing revoked from now on can be missed.
            self._cache.set_enabled(True)
            while not self._stop.is_set():
                if select.select([conn], [], [], 1.0) == ([], [], []):
                    with conn.cursor() as cur:  # keep-alive: notices a dead server
                        cur.execute('SELECT 1')
                    continue
                conn.poll()
                while conn.notifies:
                    self._apply(conn.notifies.pop(0).payload)
        finally:
            conn.close()

    def _apply(self, payload: str) -> None:
        if payload == '*':
            self._cache.clear()
            return
        try:
            digests = [bytes.fromhex(item) for item in payload.split(',') if item]
        except ValueError:
            self._cache.clear()
            return
        self._cache.evict(digests)


def clear_on_local_revocation(sessions, cache: ValidationCache) -> None:
    """Empty this process's cache as soon as one of its own transactions that deleted rows
    commits, so a revocation is seen by the very next check here without waiting for the
    notification (which still reaches the other processes and nodes)."""
    from sqlalchemy import event

    @event.listens_for(sessions, 'do_orm_execute')
    def _mark_delete(state):
        if state.is_delete:
            state.session.info['revoked'] = True

    @event.listens_for(sessions, 'after_flush')
    def _mark_orm_delete(session, context):
        if session.deleted:
            session.info['revoked'] = True

    @event.listens_for(sessions, 'after_commit')
    def _clear(session):
        if session.info.pop('revoked', False):
            cache.clear()

    @event.listens_for(sessions, 'after_rollback')
    def _forget(session):
        session.info.pop('revoked', None)
