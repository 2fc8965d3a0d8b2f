"""Failed-login counters and known addresses (models.LoginFailure, LoginKnownAddress): what
services/throttle.py decides on. Windows are in seconds, ages in days; "now" is the
database's, so every node counts on the same clock."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, delete, func, literal_column, select, text, update
from sqlalchemy.orm import Session

from ..models import LoginFailure, LoginKnownAddress
from ..prepared import PreparedQuery

_RECORD_FAILURE = text("""
INSERT INTO auth_login_failure (key, failures, window_start) VALUES (:key, 1, now())
ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN auth_login_failure.window_start < now() - make_interval(secs => :window)
                    THEN 1 ELSE auth_login_failure.failures + 1 END,
    window_start = CASE WHEN auth_login_failure.window_start < now()
                                - make_interval(secs => :window)
                        THEN now() ELSE auth_login_failure.window_start END
RETURNING failures, window_start
""")

# Prepared: every login and refresh exchange runs it.
_COUNTS = PreparedQuery('wla_login_failures', text(
    'SELECT key, failures, window_start FROM auth_login_failure WHERE key = ANY(:keys) '
    'AND window_start >= now() - make_interval(secs => :window)'))

_REMEMBER_ADDRESS = text("""
INSERT INTO auth_login_known_address (login, address, last_success) VALUES (:login, :address, now())
ON CONFLICT (login, address) DO UPDATE SET last_success = now()
""")


def counter(key, window):
    """The counter of ``key`` if still in its window of ``window`` seconds (bind parameters),
    as a subquery of at most one (failures, window_start) row, for a statement that reads more
    than it (the refresh exchange: one round trip)."""
    since = func.now() - literal_column("interval '1 second'") * window
    return select(LoginFailure.failures, LoginFailure.window_start) \
        .where(LoginFailure.key == key, LoginFailure.window_start >= since).subquery()


def _ago(**interval: int):
    """The database's now() minus ``interval`` (timedelta arguments)."""
    return func.now() - dt.timedelta(**interval)


def counts(db: Session | Connection, keys: Sequence[str],
           window: int) -> dict[str, tuple[int, dt.datetime]]:
    """``{key: (failures, window start)}`` of the counters of ``keys`` still in their window."""
    rows = _COUNTS.execute(db, {'keys': list(keys), 'window': window})
    return {row.key: (row.failures, row.window_start) for row in rows}


def record_failure(db: Session, key: str, window: int) -> tuple[int, dt.datetime]:
    """Count one for ``key``, starting a new window when the last one is over; the counter
    now (count, window start). Its row stays locked until the transaction ends: concurrent
    counts of one key take turns."""
    row = db.execute(_RECORD_FAILURE, {'key': key, 'window': window}).one()
    return row.failures, row.window_start


def uncount(db: Session, key: str) -> None:
    """Take one back from the counter of ``key``."""
    db.execute(update(LoginFailure).where(LoginFailure.key == key, LoginFailure.failures > 0)
               .values(failures=LoginFailure.failures - 1))


def forget(db: Session, key: str) -> None:
    db.execute(delete(LoginFailure).where(LoginFailure.key == key))


def remember_address(db: Session, login: str, address: str) -> None:
    db.execute(_REMEMBER_ADDRESS, {'login': login, 'address': address})


def is_known(db: Session, logins: Sequence[str], addresses: Iterable[str], days: int) -> bool:
    """Whether one of ``logins`` succeeded from one of ``addresses`` within the last
    ``days``."""
    return db.execute(select(1).where(
        LoginKnownAddress.login.in_(list(logins)),
        LoginKnownAddress.address.in_(list(addresses)),
        LoginKnownAddress.last_success >= _ago(days=days))).first() is not None


def purge(db: Session, window: int, days: int) -> None:
    """Forget counters whose window is over and addresses older than ``days``."""
    db.execute(delete(LoginFailure).where(LoginFailure.window_start < _ago(seconds=window)))
    db.execute(delete(LoginKnownAddress).where(LoginKnownAddress.last_success < _ago(days=days)))
