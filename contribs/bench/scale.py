"""--scale N: N live and N expired filler tokens, then the purge measured under check load.

Cached checks never reach the table, so unknown tokens (a lookup in the index every time) are
measured with the big table too.

Filler goes straight into auth_session + auth_token with COPY (the API would take hours at
bcrypt cost): random session ids, random 32-byte digests (no token value exists for them), one
top-tenant session per token, no user row (sessions without user_uuid, a random auth_id), so
the filler weighs on the tables and indexes but on no real user's session count. The purge is
the service's own ExpiredTokenCleaner, run from this process against the same database with
the service's engine settings (statement timeout included).
"""
from __future__ import annotations

import datetime as dt
import io
import os
import threading
import time
from dataclasses import dataclass

from wazo_like_auth import db
from wazo_like_auth.config import load_config
from wazo_like_auth.services.cleanup import ExpiredTokenCleaner

from .services_runner import libpq_uri

CHUNK = 50_000
FILLER_AGENT = 'wazo-like-auth-bench-filler'
PURGE_BATCH = 5000


def _timestamp(moment: dt.datetime) -> str:
    return moment.strftime('%Y-%m-%d %H:%M:%S.%f+00')


def _chunk(count: int, tenant: str, issued: str, expires: str) -> tuple[str, str]:
    """COPY text for ``count`` sessions and their tokens (session id, owner id and digest are
    64 random bytes a row, drawn at once)."""
    raw = os.urandom(64 * count).hex()
    sessions, tokens = [], []
    for at in range(0, len(raw), 128):
        session, owner, digest = raw[at:at + 32], raw[at + 32:at + 64], raw[at + 64:at + 128]
        sessions.append(f'{session}\t{tenant}')
        tokens.append(f'\\\\x{digest}\t{session}\t{owner}\t{issued}\t{expires}'
                      f'\t{{{FILLER_AGENT}.read}}\t{FILLER_AGENT}')
    return '\n'.join(sessions) + '\n', '\n'.join(tokens) + '\n'


def _skip_foreign_key_checks(cur) -> None:
    """Filler is consistent by construction; skipping the per-row FK triggers makes the load
    several times faster. Needs a superuser (the embedded database's); else checks stay on."""
    import psycopg2
    cur.execute('SAVEPOINT fk')
    try:
        cur.execute("SET LOCAL session_replication_role = 'replica'")
    except psycopg2.Error:
        cur.execute('ROLLBACK TO SAVEPOINT fk')


def preload(db_uri: str, count: int) -> float:
    """Insert ``count`` live and ``count`` expired tokens; returns the seconds it took."""
    import psycopg2
    started = time.monotonic()
    now = dt.datetime.now(dt.timezone.utc)
    kinds = [(_timestamp(now), _timestamp(now + dt.timedelta(days=1))),
             (_timestamp(now - dt.timedelta(days=2)), _timestamp(now - dt.timedelta(hours=1)))]
    conn = psycopg2.connect(libpq_uri(db_uri))
    try:
        with conn, conn.cursor() as cur:
            cur.execute('SELECT uuid FROM tenant WHERE uuid = parent_uuid')
            tenant = str(cur.fetchone()[0])
            _skip_foreign_key_checks(cur)
            for issued, expires in kinds:
                for done in range(0, count, CHUNK):
                    sessions, tokens = _chunk(min(CHUNK, count - done), tenant, issued, expires)
                    cur.copy_expert('COPY auth_session (uuid, tenant_uuid) FROM STDIN',
                                    io.StringIO(sessions))
                    cur.copy_expert('COPY auth_token (token_hash, session_uuid, auth_id, '
                                    'issued_at, expires_at, acl, user_agent) FROM STDIN',
                                    io.StringIO(tokens))
        # What an operator runs after a bulk load, and autovacuum would start on its own: the
        # measurement that follows is of a big table, not of a vacuum in progress.
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute('VACUUM (ANALYZE) auth_session')
            cur.execute('VACUUM (ANALYZE) auth_token')
            _flush(cur)
    finally:
        conn.close()
    return time.monotonic() - started


def _flush(cur) -> None:
    """Write the load out now: the kernel writing back a gigabyte of dirty pages slows the
    whole machine for about a minute after a big load (measured: checks about 15 % slower),
    which is the load's aftermath, not the table size."""
    import psycopg2
    try:
        cur.execute('CHECKPOINT')
    except psycopg2.Error:  # not a superuser (--db-uri): PostgreSQL checkpoints on its own
        pass
    os.sync()


def remove_filler(db_uri: str) -> None:
    """Delete the live filler left after the purge (a database given with --db-uri stays)."""
    import psycopg2
    conn = psycopg2.connect(libpq_uri(db_uri))
    try:
        with conn, conn.cursor() as cur:
            cur.execute('DELETE FROM auth_session WHERE uuid IN (SELECT session_uuid FROM '
                        'auth_token WHERE user_agent = %s)', (FILLER_AGENT,))
    finally:
        conn.close()


@dataclass
class PurgeOutcome:
    removed: int | None = None
    seconds: float = 0.0
    error: str | None = None


class PurgeDuringLoad:
    """A load-generator probe that starts the purge when the measured window opens and sets
    ``stop`` once it is over (and at least ``min_window`` seconds have been measured)."""

    def __init__(self, config_path: str, db_uri: str, min_window: float):
        self.stop_event = threading.Event()
        self.outcome = PurgeOutcome()
        self._config = load_config(config_path, flags={'db_uri': db_uri}, environ={})
        self._min_window = min_window
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._purge, name='bench-purge', daemon=True)
        self._thread.start()

    def stop(self) -> None:
        pass

    def join(self) -> PurgeOutcome:
        if self._thread is not None:
            self._thread.join()
        return self.outcome

    def _purge(self) -> None:
        opened = time.monotonic()
        engine = db.make_engine(self._config, pool_size=2)
        try:
            cleaner = ExpiredTokenCleaner(engine=engine, interval=0, batch_size=PURGE_BATCH)
            self.outcome.removed = cleaner.purge()
        except Exception as e:  # reported in the results, not hidden
            self.outcome.error = f'{type(e).__name__}: {e}'.splitlines()[0]
        finally:
            self.outcome.seconds = time.monotonic() - opened
            engine.dispose()
        time.sleep(max(0.0, opened + self._min_window - time.monotonic()))
        self.stop_event.set()
