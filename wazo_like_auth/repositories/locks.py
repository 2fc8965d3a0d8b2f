"""PostgreSQL advisory locks: one node at a time for cluster-wide work (start-up
reconciliation, the expired-token purge, client reconciliation)."""
from __future__ import annotations

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session


def hold_for_transaction(db: Session | Connection, key: int) -> None:
    """Wait for lock ``key``, held until the current transaction ends."""
    db.execute(text('SELECT pg_advisory_xact_lock(:key)'), {'key': key})


def try_hold(conn: Connection, key: int) -> bool:
    """Take session-level lock ``key`` if free (True); never waits. Release with ``release``."""
    return bool(conn.execute(text('SELECT pg_try_advisory_lock(:key)'), {'key': key}).scalar())


def release(conn: Connection, key: int) -> None:
    conn.execute(text('SELECT pg_advisory_unlock(:key)'), {'key': key})


def ping(conn: Connection) -> None:
    """A round trip to the database (raises when it cannot answer)."""
    conn.execute(text('SELECT 1'))
