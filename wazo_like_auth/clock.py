"""Time as a collaborator: what reads "now" takes a clock, so tests move time instead of
sleeping through it."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]
"""Returns the current time, timezone-aware (UTC)."""


def utc_now() -> dt.datetime:
    """The wall clock: the clock of the running service."""
    return dt.datetime.now(dt.timezone.utc)
