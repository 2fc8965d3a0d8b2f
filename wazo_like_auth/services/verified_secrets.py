"""Client secrets recently verified with bcrypt, remembered in memory for a few minutes.

Keyed by (client_id, SHA-256 of the presented secret, stored bcrypt hash): a new secret changes
the stored hash, so checks remembered for the old one never match again. Bounded (LRU) and
expiring; never written anywhere.
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict


class VerifiedSecrets:
    def __init__(self, *, ttl: float, max_size: int = 1024):
        self._ttl = ttl
        self._max_size = max_size
        self._items: OrderedDict[tuple, float] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(client_id: str, secret: str, stored: str | None) -> tuple:
        digest = hashlib.sha256(secret.encode('utf-8', 'surrogatepass')).digest()
        return client_id, digest, stored

    def check(self, client_id: str, secret: str, stored: str | None) -> bool:
        key = self._key(client_id, secret, stored)
        with self._lock:
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
