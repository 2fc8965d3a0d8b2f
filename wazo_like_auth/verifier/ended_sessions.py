"""The JWT mode's memory of the sessions push revocation announced ended (see ``push``).

A JWT stays valid by itself until ``exp``: to refuse the tokens of an ended session, the
verifier must remember the session as long as one of its tokens may still be presented. The
event does not tell how long that is, so each session is kept ``keep_for`` seconds (set it to
the longest lifetime of the issuer's access tokens), and, once a token of it is refused, until
that token expires. Memory grows with the rate of session ends times ``keep_for``.
"""
from __future__ import annotations

import threading
from typing import Callable


class EndedSessions:
    """Sessions announced ended (JWT mode), each remembered ``keep_for`` seconds of the epoch
    clock; a session whose token is refused is remembered until that token expires."""

    def __init__(self, *, keep_for: float, wall_clock: Callable[[], float]):
        self._keep_for, self._wall_clock = keep_for, wall_clock
        self._until: dict[str, float] = {}  # session -> when it may be forgotten
        self._lock = threading.Lock()
        self._next_prune = 0.0

    def __len__(self) -> int:
        return len(self._until)

    def add(self, session: str) -> None:
        now = self._wall_clock()
        with self._lock:
            self._until[session] = max(self._until.get(session, 0.0), now + self._keep_for)
            if now >= self._next_prune:  # forget the old ones, at most once a minute
                self._until = {s: until for s, until in self._until.items() if until > now}
                self._next_prune = now + min(self._keep_for, 60.0)

    def refuses(self, session: str, token_expiry: float) -> bool:
        """Whether a token of ``session`` valid until ``token_expiry`` (epoch s) is refused."""
        until = self._until.get(session)
        if until is None or until <= self._wall_clock():
            return False
        if token_expiry > until:  # this token stays refused for as long as it would pass
            with self._lock:
                self._until[session] = max(self._until.get(session, 0.0), token_expiry)
        return True
