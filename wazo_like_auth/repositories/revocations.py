"""The revocation notifications of migration 0002 (a trigger NOTIFYs the digests of revoked
tokens on CHANNEL), read on a plain psycopg2 connection in autocommit mode."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

CHANNEL = 'wazo_like_auth_revocations'


def listen(conn) -> None:
    """Start receiving the notifications on ``conn`` (see ``conn.poll()``, ``conn.notifies``)."""
    with conn.cursor() as cur:
        cur.execute(f'LISTEN {CHANNEL}')


def ping(conn) -> None:
    """A round trip: raises when the server is gone."""
    with conn.cursor() as cur:
        cur.execute('SELECT 1')


def notify(db: Session, payload: str) -> None:
    """NOTIFY ``payload`` on CHANNEL, sent when ``db``'s transaction commits."""
    db.execute(text('SELECT pg_notify(:channel, :payload)'),
               {'channel': CHANNEL, 'payload': payload})
