"""A per-process cache of validated tokens, invalidated across the cluster, precisely.

Entries are keyed by token digest and bounded in number (LRU). The caller still refuses an
expired entry, so nothing is served past its expiry. Every delete of access tokens, by any path
including foreign-key cascades, fires a PostgreSQL trigger that NOTIFYs the digests (or ``*``
for large deletes); a listener thread per process evicts those digests, and only those. If the
listener connection is lost, the cache empties and stays off until the listener is back (fail
closed). A transaction of this process that deleted rows waits, once committed, until its own
notifications have been applied here (services/local_revocation.py): the next check in this
process never sees a token it revoked.

A read racing with a revocation must not store a stale row: every revocation takes the next
number of a sequence and records it per revoked digest; ``put`` stores a row read at sequence
``n`` unless its own digest was revoked after ``n``. Other revocations do not stop it. The
record is bounded: when it overflows, reads older than what it forgets are refused.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from ..logs import get_logger
from ..repositories import revocations

logger = get_logger(__name__)

LISTENER_NAME = 'wazo-like-auth-listener'
# Payloads starting with this are markers of one process's transaction, not revocations.
MARKER_PREFIX = 'sync:'


class ValidationCache:
    def __init__(self, max_size: int = 10000, revoked_size: int = 10000):
        self._max_size = max_size
        self._revoked_size = revoked_size
        self._items: OrderedDict[bytes, Any] = OrderedDict()
        self._revoked: OrderedDict[bytes, int] = OrderedDict()  # digest → sequence
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._sequence = 0
        self._floor = 0  # reads made before this are refused whatever their digest
        self._enabled = False
        self._epoch = 0  # counts the listener's connections and losses
        self._markers: set[str] = set()
        self.hits = 0
        self.invalidations = 0

    @property
    def generation(self) -> int:
        """The revocation sequence now: what a read passes to ``put``."""
        return self._sequence

    @property
    def enabled(self) -> bool:
        return self._enabled

    def get(self, digest: bytes, *, count: bool = True) -> Any | None:
        """The row cached for ``digest``, or None; a row found is a hit unless ``count`` is
        false (the caller then counts it with ``hit`` if it answers from it)."""
        with self._lock:
            row = self._items.get(digest)
            if row is not None:
                self._items.move_to_end(digest)
                self.hits += count
            return row

    def hit(self) -> None:
        with self._lock:
            self.hits += 1

    def put(self, digest: bytes, row: Any, generation: int) -> None:
        """Store ``row``, read at ``generation``, unless its digest was revoked since."""
        with self._lock:
            if (not self._enabled or generation < self._floor
                    or self._revoked.get(digest, -1) > generation):
                return
            self._items[digest] = row
            if len(self._items) > self._max_size:
                self._items.popitem(last=False)

    def evict(self, digests: list[bytes]) -> None:
        with self._lock:
            self._sequence += 1
            self.invalidations += 1
            for digest in digests:
                self._items.pop(digest, None)
                self._revoked[digest] = self._sequence
                self._revoked.move_to_end(digest)
            while len(self._revoked) > self._revoked_size:
                _, forgotten = self._revoked.popitem(last=False)
                self._floor = max(self._floor, forgotten)

    def clear(self) -> None:
        with self._lock:
            self.invalidations += 1
            self._reset()

    def set_enabled(self, enabled: bool) -> None:
        with self._lock:
            self._enabled = enabled
            self._epoch += 1
            self._reset()
            self._changed.notify_all()

    def _reset(self) -> None:
        self._sequence += 1
        self._floor = self._sequence
        self._items.clear()
        self._revoked.clear()

    # --- markers: a transaction of this process waiting for its own notifications ---------

    def new_marker(self, name: str) -> tuple[str, int] | None:
        """A marker to NOTIFY after a transaction's deletes, or None when the cache is off
        (nothing is cached then, and turning it on empties it)."""
        with self._lock:
            if not self._enabled:
                return None
            self._markers.add(name)
            return name, self._epoch

    def marker_seen(self, name: str) -> None:
        with self._lock:
            if name in self._markers:
                self._markers.discard(name)
                self._changed.notify_all()

    def await_marker(self, marker: tuple[str, int], timeout: float) -> None:
        """Return once the listener has applied every notification sent before the marker
        (they arrive in commit order), or the listener changed (the cache was emptied);
        after ``timeout``, empty the cache (fail closed)."""
        name, epoch = marker
        with self._lock:
            done = self._changed.wait_for(
                lambda: name not in self._markers or self._epoch != epoch, timeout)
            self._markers.discard(name)
            if not done:
                logger.warning('own revocation not notified within %.1fs; cache emptied',
                               timeout)
                self.invalidations += 1
                self._reset()

    def forget_marker(self, marker: tuple[str, int]) -> None:
        with self._lock:
            self._markers.discard(marker[0])


class RevocationListener:
    """LISTENs for revocations on its own connection and applies them to a cache."""

    def __init__(self, *, dsn: dict[str, Any], cache: ValidationCache, timeout: float,
                 retry_delay: float = 1.0):
        """``timeout``: seconds the server may take to answer (connect, LISTEN, the
        keep-alive round trip after each silent second); past it the cache goes off."""
        self._dsn = dsn
        self._cache = cache
        self._timeout = timeout
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
        listening = revocations.Listening(self._dsn, timeout=self._timeout,
                                          application_name=LISTENER_NAME)
        try:
            # Enabled only once listening: nothing revoked from now on can be missed.
            self._cache.set_enabled(True)
            while not self._stop.is_set():
                for payload in listening.payloads(wait=1.0):
                    self._apply(payload)
        finally:
            listening.close()

    def _apply(self, payload: str) -> None:
        if payload.startswith(MARKER_PREFIX):
            self._cache.marker_seen(payload)
            return
        if payload == '*':
            self._cache.clear()
            return
        try:
            digests = [bytes.fromhex(item) for item in payload.split(',') if item]
        except ValueError:
            self._cache.clear()
            return
        self._cache.evict(digests)
