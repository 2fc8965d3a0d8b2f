"""The revocation notifications of migration 0002 (a trigger NOTIFYs the digests of revoked
tokens on CHANNEL), and the connection that listens for them."""
from __future__ import annotations

import select
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

CHANNEL = 'wazo_like_auth_revocations'


class Listening:
    """A psycopg2 connection LISTENing on CHANNEL, in asynchronous mode so that every wait on
    the server has a deadline: connecting, LISTEN and each keep-alive round trip raise
    TimeoutError when the server has not answered within ``timeout`` seconds. A blocking
    connection waited on a silent server (a network partition, a host gone, a hung backend)
    until the kernel gave up retransmitting, about 15 minutes, or for ever; and all that time
    its process trusted a cache that no longer heard of revocations."""

    def __init__(self, dsn: dict[str, Any], *, timeout: float, application_name: str):
        # Imported here, as embedded_db does: psycopg2's first import is one step of the
        # service's start (stopping.py), not of importing this module.
        import psycopg2
        self._extensions = psycopg2.extensions
        self._timeout = timeout
        self._conn = psycopg2.connect(async_=True, application_name=application_name, **dsn)
        try:
            self._wait()
            self._cursor = self._conn.cursor()
            self._run(f'LISTEN {CHANNEL}')
        except BaseException:
            self._conn.close()
            raise

    def payloads(self, wait: float) -> list[str]:
        """The notifications that arrived within ``wait`` seconds, oldest first. After a
        silent ``wait``, one round trip proves the server still answers (TimeoutError, or
        psycopg2's OperationalError when the connection broke)."""
        if _ready(self._conn, select.POLLIN, wait):
            self._wait()  # reads what arrived: notifications only, no query runs
        else:
            self._run('SELECT 1')
        payloads = [notify.payload for notify in self._conn.notifies]
        del self._conn.notifies[:]
        return payloads

    def close(self) -> None:
        self._conn.close()

    def _run(self, statement: str) -> None:
        self._cursor.execute(statement)
        self._wait()

    def _wait(self) -> None:
        """Drive the connection until its current step is done, within the timeout."""
        deadline = time.monotonic() + self._timeout
        extensions = self._extensions
        while (state := self._conn.poll()) != extensions.POLL_OK:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f'PostgreSQL did not answer within {self._timeout:g} s')
            _ready(self._conn, select.POLLIN if state == extensions.POLL_READ
                   else select.POLLOUT, remaining)


def _ready(conn, events: int, wait: float) -> bool:
    """Whether ``conn``'s socket is ready for ``events`` within ``wait`` seconds. poll, not
    select: select refuses descriptors of 1024 and more, which a granian worker holding
    many keep-alive connections gives (it raises its open-file limit), and the listener
    then never listened (the cache stayed off)."""
    poller = select.poll()
    poller.register(conn, events | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(max(wait, 0) * 1000))


def notify(db: Session, payload: str) -> None:
    """NOTIFY ``payload`` on CHANNEL, sent when ``db``'s transaction commits."""
    db.execute(text('SELECT pg_notify(:channel, :payload)'),
               {'channel': CHANNEL, 'payload': payload})
