"""Client secrets recently verified with bcrypt, remembered in memory for a few minutes.

Keyed by (client_id, SHA-256 of the presented secret, stored bcrypt hash): a new secret changes
the stored hash, so checks remembered for the old one never match again. Bounded (LRU) and
expiring; never written anywhere. Concurrent verifications of one key share one bcrypt.
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class _Flight:
    """One verification in progress, and what it found."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.matched = False
        self.error: BaseException | None = None


class VerifiedSecrets:
    def __init__(self, *, ttl: float, max_size: int = 1024):
        self._ttl = ttl
        self._max_size = max_size
        self._items: OrderedDict[tuple, float] = OrderedDict()
        self._flights: dict[tuple, _Flight] = {}
        self._lock = threading.Lock()

    def verified(self, client_id: str, secret: str, stored: str | None,
                 verify: Callable[[], bool]) -> bool:
        """True when ``secret`` is remembered for ``client_id`` and ``stored``, or when
        ``verify()`` (bcrypt) says it matches, which is then remembered. Calls for one key
        while its ``verify()`` runs wait for that answer rather than running their own: a
        client's burst of requests (after a restart, or when its check expires) costs one
        bcrypt, not one per request. An exception of ``verify()`` reaches its caller, and
        the calls waiting for it fail too (RuntimeError from it): a right secret is never
        answered as a wrong one because the check could not run."""
        key = self._key(client_id, secret, stored)
        with self._lock:
            if self._fresh(key):
                return True
            flight = self._flights.get(key)
            leading = flight is None
            if leading:
                flight = self._flights[key] = _Flight()
        if not leading:
            flight.done.wait()
            if flight.error is not None:
                raise RuntimeError('the shared client secret check failed') from flight.error
            return flight.matched
        try:
            flight.matched = verify()
            if flight.matched:
                self.remember(client_id, secret, stored)
        except BaseException as e:
            flight.error = e
            raise
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()
        return flight.matched

    @staticmethod
    def _key(client_id: str, secret: str, stored: str | None) -> tuple:
        digest = hashlib.sha256(secret.encode('utf-8', 'surrogatepass')).digest()
        return client_id, digest, stored

    def check(self, client_id: str, secret: str, stored: str | None) -> bool:
        """True when this secret was verified for this client and hash, and not long ago."""
        with self._lock:
            return self._fresh(self._key(client_id, secret, stored))

    def _fresh(self, key: tuple) -> bool:
        """Under the lock: ``key`` remembered and unexpired (an expired one is dropped)."""
        expires = self._items.get(key)
        if expires is None or expires < time.monotonic():
            self._items.pop(key, None)
            return False
        return True

    def remember(self, client_id: str, secret: str, stored: str | None) -> None:
        with self._lock:
            self._items[self._key(client_id, secret, stored)] = time.monotonic() + self._ttl
            if len(self._items) > self._max_size:
                self._items.popitem(last=False)
