"""A clock the test moves: the real time plus an offset, so rows written by the database
(``now()``) and by the service stay comparable."""
from __future__ import annotations

import datetime as dt


class ManualClock:
    def __init__(self):
        self._offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc) + self._offset

    def advance(self, seconds: float) -> None:
        """Move time forward, as waiting ``seconds`` would."""
        self._offset += dt.timedelta(seconds=seconds)


class ManualMonotonic:
    """A monotonic clock (seconds, as ``time.monotonic``) the test moves by hand: set ``now``
    or call ``advance``."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
