"""Expired-token purge (wazo-token-api §4.5, spec D8), and the announcement of sessions about
to expire (``auth_session_expire_soon``, once per session).

Every process runs the loop, but a cycle only proceeds on the node holding a PostgreSQL
advisory lock, so the cluster purges in one place at a time. Batches are small transactions on
the indexed expiry column; checks never wait for them (expired tokens are refused on read
whether purged or not). Between two batches the purge pauses half as long as the batch took: a
big backlog (a million expired tokens after an outage) is worked off at two thirds of one
database core, leaving the rest to the requests, instead of competing with them flat out.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
import threading
import time

from sqlalchemy import Engine

from ..logs import get_logger
from ..repositories import locks
from ..repositories import sessions as session_repo

logger = get_logger(__name__)

CLEANUP_LOCK_ID = 0x7761_7a70
PAUSE_RATIO = 0.5  # pause after a full batch ÷ the time the batch took

class ExpiredTokenCleaner:
    def __init__(self, *, engine: Engine, interval: float, batch_size: int,
                 on_purged: Callable[[int], None] | None = None,
                 also: Sequence[Callable[[], None]] = ()):
        """``also``: more housekeeping run by the lock holder in each cycle (e.g. forgetting
        stale login-failure counters)."""
        self._engine = engine
        self._on_purged = on_purged
        self._also = tuple(also)
        self._interval = interval
        self._batch_size = batch_size
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def purge(self) -> int | None:
        """One cycle: the number of sessions removed, or None if another node holds the lock."""
        with self._engine.connect() as lock_conn:
            got = locks.try_hold(lock_conn, CLEANUP_LOCK_ID)
            lock_conn.commit()
            if not got:
                return None
            try:
                self._announce_expiring()  # first: every purged session was announced
                removed = self._purge_batches()
                for task in self._also:
                    task()
                return removed
            finally:
                locks.release(lock_conn, CLEANUP_LOCK_ID)
                lock_conn.commit()

    def _purge_batches(self) -> int:
        removed = 0
        while not self._stop.is_set():
            started = time.monotonic()
            with self._engine.begin() as conn:
                count = session_repo.purge_expired_batch(conn, self._batch_size)
            removed += count
            if count < self._batch_size:
                break
            self._stop.wait((time.monotonic() - started) * PAUSE_RATIO)
        if removed:
            logger.info('expired tokens purged: %d sessions removed', removed)
            if self._on_purged is not None:
                self._on_purged(removed)
        return removed

    def _announce_expiring(self) -> None:
        """auth_session_expire_soon for the sessions whose token expires before the next
        cycle (spec: within one cleanup interval), or expired unannounced, in batches of the
        purge's size."""
        while not self._stop.is_set():
            with self._engine.begin() as conn:
                count = session_repo.announce_expiring_batch(conn, self._interval,
                                                              self._batch_size)
            if count < self._batch_size:
                return

    def start(self) -> None:
        """Run cycles every ``interval`` seconds in a daemon thread (0 disables)."""
        if self._interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name='token-cleanup', daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop and wait (at most ``timeout`` s) for a cycle in progress to end, so
        no purge runs on behind a shut-down app; a batch in progress still commits."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            started = time.monotonic()
            try:
                self.purge()
            except Exception:  # a failed cycle must not kill the loop; next one retries
                logger.warning('expired-token purge failed', exc_info=True)
            elapsed = time.monotonic() - started
            if elapsed > self._interval:
                logger.warning('expired-token purge took %.1f s, longer than its interval',
                               elapsed)
