"""The online mode's cache of positive answers, which push revocation can empty by session.

Keys are SHA-256 digests of (token, acl, tenant), so the cache never holds a usable token value.
"""
from __future__ import annotations

import hashlib
import itertools
import math
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Callable

# Session ends remembered to tell whether an answer in flight may predate the end of its own
# session; an answer asked before more ends than this is not stored (as after ``clear``).
RECENT_ENDS = 1024


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
    stored if its session ended or the cache was emptied in between (the answer may predate a
    revocation that push has already applied). The end of another session does not stop it:
    a busy bus (sessions ending every few milliseconds) would otherwise keep any answer out
    of the cache; an answer naming no session counts as any session's.
    """

    def __init__(self, ttl: float, size: int, clock: Callable[[], float],
                 push_ttl: float = 0.0):
        self._ttl, self._push_ttl, self._size, self._clock = ttl, push_ttl, size, clock
        self._enabled = size > 0 and max(ttl, push_ttl) > 0
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._sessions: dict[str, set[bytes]] = {}
        self._generation = 0  # one more at each drop_session and clear
        self._cleared = 0  # the generation the last clear made
        self._ends: deque[str] = deque(maxlen=RECENT_ENDS)  # the sessions dropped, in order
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
            if self._ended_since(generation, session):
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
            self._ends.append(session)
            for key in self._sessions.pop(session, ()):
                self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._cleared = self._generation
            self._entries.clear()
            self._sessions.clear()

    def _ended_since(self, generation: int, session: str | None) -> bool:
        """Whether an answer about ``session`` asked at ``generation`` may predate what push
        applied since: the cache emptied, or that session (an unknown one: any) ended, or
        more sessions ended than are remembered. Called under the lock."""
        since = self._generation - generation
        if since == 0:
            return False
        if self._cleared > generation or session is None or since > len(self._ends):
            return True
        # No clear since: the last ``since`` generations are all session ends.
        return session in itertools.islice(reversed(self._ends), since)

    def _discard(self, key: bytes) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None and entry.session:
            keys = self._sessions.get(entry.session)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._sessions[entry.session]
