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


def as_utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC, a naive one taken as UTC. What the database is given: PostgreSQL
    refuses offsets past ±15:59, which Python reads up to ±23:59. Raises OverflowError when
    the UTC time falls outside years 1 to 9999."""
    return moment.replace(tzinfo=moment.tzinfo or dt.timezone.utc).astimezone(dt.timezone.utc)
