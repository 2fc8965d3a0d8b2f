"""The online mode's cache of positive answers, which push revocation can empty by session.

Keys are SHA-256 digests of (token, acl, tenant), so the cache never holds a usable token value.
"""
from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True, slots=True)
class _Entry:
    stored: float
    expires: float  # the token's own expiry, when known (clock seconds); inf otherwise
    session: str | None


class PositiveCache:
    """A thread-safe LRU of ``size`` recently allowed checks.

    An entry is good for ``ttl`` seconds after it was stored; for ``push_ttl`` instead while
    push revocation is live (``hit(..., pushed=True)``) and the entry knows its session (push
    can then drop it); never past the token's expiry when the answer told it.

    ``generation()`` before asking the service, given back to ``remember``: an answer is not
    stored if a session ended or the cache was emptied in between (the answer may predate a
    revocation that push has already applied).
    """

    def __init__(self, ttl: float, size: int, clock: Callable[[], float],
                 push_ttl: float = 0.0):
        self._ttl, self._push_ttl, self._size, self._clock = ttl, push_ttl, size, clock
        self._enabled = size > 0 and max(ttl, push_ttl) > 0
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._sessions: dict[str, set[bytes]] = {}
        self._generation = 0
        self._lock = threading.Lock()

    @staticmethod
    def key(token: str, acl: str, tenant: str | None) -> bytes:
        return hashlib.sha256('\0'.join((token, acl, tenant or '')).encode()).digest()

    def __len__(self) -> int:
        return len(self._entries)

    def generation(self) -> int:
        return self._generation

    def hit(self, key: bytes, pushed: bool = False) -> bool:
        if not self._enabled:
            return False
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False
            ttl = self._push_ttl if pushed and entry.session else self._ttl
            if self._clock() >= min(entry.stored + ttl, entry.expires):
                self._discard(key)
                return False
            self._entries.move_to_end(key)
            return True

    def remember(self, key: bytes, generation: int, session: str | None = None,
                 lifetime: float | None = None) -> None:
        """Store an allowed check of the token of ``session``, valid ``lifetime`` more
        seconds (None: unknown)."""
        if not self._enabled:
            return
        with self._lock:
            if generation != self._generation:
                return
            now = self._clock()
            self._discard(key)
            self._entries[key] = _Entry(now, math.inf if lifetime is None else now + lifetime,
                                        session)
            if session:
                self._sessions.setdefault(session, set()).add(key)
            while len(self._entries) > self._size:
                self._discard(next(iter(self._entries)))

    def drop_session(self, session: str) -> None:
        """Forget every check of the tokens of ``session``, now."""
        with self._lock:
            self._generation += 1
            for key in self._sessions.pop(session, ()):
                self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()
            self._sessions.clear()

    def _discard(self, key: bytes) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None and entry.session:
            keys = self._sessions.get(entry.session)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._sessions[entry.session]
