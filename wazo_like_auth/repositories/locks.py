"""PostgreSQL advisory locks: one node at a time for cluster-wide work (start-up
reconciliation, the expired-token purge, client reconciliation), and keyed locks that
serialise the requests about one thing (one address's guesses, one user's new sessions)."""
from __future__ import annotations

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session


def hold_for_transaction(db: Session | Connection, key: int) -> None:
    """Wait for lock ``key``, held until the current transaction ends."""
    db.execute(text('SELECT pg_advisory_xact_lock(:key)'), {'key': key})


# The namespaces of keyed (two-key) locks, one per kind of thing, all here so that none is
# used twice; two-key locks never meet the one-key locks above.
DEVICE_GUESSES = 8628  # an address's device user-code verifications
NEW_SESSIONS = 8629  # a user's new sessions, for the session limit's count
TENANT_GROUPS = 8630  # a tenant's new groups, whose slugs are derived from what is free
CLIENT_IDS = 8631  # a client_id, created through the API or declared in the configuration


def hold_keyed_for_transaction(db: Session | Connection, namespace: int, key: str) -> None:
    """Wait for the lock of ``key`` in ``namespace`` (keys hashed to 32 bits: two keys may
    share a lock, which only makes them wait for each other), held until the transaction
    ends."""
    db.execute(text('SELECT pg_advisory_xact_lock(:namespace, hashtext(:key))'),
               {'namespace': namespace, 'key': key})


def try_hold(conn: Connection, key: int) -> bool:
    """Take session-level lock ``key`` if free (True); never waits. Release with ``release``."""
    return bool(conn.execute(text('SELECT pg_try_advisory_lock(:key)'), {'key': key}).scalar())


def release(conn: Connection, key: int) -> None:
    conn.execute(text('SELECT pg_advisory_unlock(:key)'), {'key': key})


def ping(conn: Connection) -> None:
    """A round trip to the database (raises when it cannot answer)."""
    conn.execute(text('SELECT 1'))
