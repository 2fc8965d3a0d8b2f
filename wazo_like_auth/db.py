"""Engine, sessions and migrations.

Connections time out fast (connect and statement timeouts, a liveness check at checkout) so
that a database outage turns into quick 503 answers instead of hung workers.
"""
from __future__ import annotations

import logging
import select
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, exc, text
from sqlalchemy.orm import sessionmaker

# The OpenID Connect tables live beside models.py on the same base, and
# auth_session.signin_uuid references one of them: every process that opens sessions has them
# registered (imported here, not from models.py, so that neither module imports the other).
from . import event_models, mail_models, oauth_models, oidc_models  # noqa: F401
from .db_uri import DatabaseURIError, url  # noqa: F401 (db.url, db.DatabaseURIError)

MIGRATIONS = Path(__file__).parent / 'migrations'
# Any constant works; it only has to be the same for every node upgrading one database.
MIGRATION_LOCK_ID = 0x7761_7a6f


class MigrationError(Exception):
    """The migrations cannot bring this database to the newest schema (alembic's message: a
    revision this version does not know, ...)."""


# Events recorded by this service's connections are not for the bus when it has none
# (migration 0011): the audit trail keeps them, publishing enabled later does not replay them.
_BUS_OFF = ' -c wazo_like_auth.publish_events=off'


def make_engine(config: dict, *, pool_size: int | None = None) -> Engine:
    """An engine for ``config['db_uri']`` with the service's timeouts (and, with
    ``amqp.enabled`` false, its events recorded as not for the bus)."""
    statement_timeout = config['db_statement_timeout']
    engine = create_engine(
        url(config['db_uri']),
        pool_size=pool_size or config['db_pool_size'],
        # No overflow: a connection beyond the pool is closed when it is returned, so a burst
        # of requests (64 logins at once) opened and closed PostgreSQL backends over and over
        # (a fork and an authentication on the server each time: 2-3x the database CPU of a
        # login). A request finding every connection busy waits for one (pool_timeout).
        max_overflow=0,
        pool_timeout=config['db_connect_timeout'],
        # A database error (a statement timeout, a deadlock) is logged with its traceback:
        # without this its message would quote the statement's values (password hashes,
        # e-mail addresses, token hashes).
        hide_parameters=True,
        connect_args={
            'connect_timeout': config['db_connect_timeout'],
            'application_name': 'wazo-like-auth',
            'options': f'-c statement_timeout={statement_timeout} -c timezone=UTC'
                       + ('' if config['amqp']['enabled'] else _BUS_OFF),
        },
    )
    event.listen(engine, 'checkout', _refuse_dead_connection)
    _logger_of(engine).addFilter(_no_result_rows)
    return engine


def _logger_of(engine: Engine) -> logging.Logger:
    # An InstanceLogger (echo set) wraps the logging.Logger; without echo it is the Logger.
    return getattr(engine.logger, 'logger', engine.logger)


def _no_result_rows(record: logging.LogRecord) -> bool:
    """Keep the engine's statements (INFO, their values hidden), drop its DEBUG records:
    SQLAlchemy logs every result row at DEBUG, which hide_parameters does not hide, and a row
    may hold a device user code, a password hash, an e-mail address, a key. Whoever sets the
    ``sqlalchemy.engine`` logger to DEBUG gets the statements, never the rows."""
    return record.levelno > logging.DEBUG


def _refuse_dead_connection(dbapi_connection, record, proxy) -> None:
    """Replace a pooled connection the server has closed, before it is used.

    An idle connection has nothing to read: a server that restarted, or terminated the backend,
    sent its FATAL message and closed the socket, which then polls readable. This replaces
    SQLAlchemy's pre-ping (a ``SELECT 1`` round trip per checkout, about 60 µs of CPU between
    the two ends on every request that touches the database). Anything unexpected to read
    only costs a reconnection; a connection lost without a word (network) fails its first
    statement as it would after a successful ping, and the pool then replaces it.
    """
    if dbapi_connection.closed or _readable(dbapi_connection.fileno()):
        raise exc.DisconnectionError('the server closed the connection')


def _readable(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration; safe to run from several nodes at once.
    Raises MigrationError when alembic cannot (a revision it does not know: the database was
    migrated by a newer version) or PostgreSQL refuses a migration's DDL (a table of another
    application in the way, a missing privilege)."""
    # Imported here: a serving process never needs alembic (commands.py runs the
    # migrations in a child process, so that granian's workers do not inherit it).
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from alembic.util import CommandError as AlembicError
    cfg = AlembicConfig(str(MIGRATIONS / 'alembic.ini'))
    cfg.set_main_option('script_location', str(MIGRATIONS))
    with engine.connect() as connection:
        # No statement timeout here (the engine's is for requests): waiting for another
        # node's migration, or a migration rewriting a large table, takes what it takes.
        connection.execute(text('SET statement_timeout = 0'))
        connection.execute(text('SELECT pg_advisory_lock(:id)'), {'id': MIGRATION_LOCK_ID})
        connection.commit()
        try:
            cfg.attributes['connection'] = connection
            command.upgrade(cfg, 'head')
            connection.commit()
        except AlembicError as e:
            raise MigrationError(str(e)) from e
        except exc.ProgrammingError as e:
            # A table or index of ours already there, a privilege missing: a db_uri naming
            # another application's database, or a role that may not create tables. The
            # driver's first line names the object (the statement would quote the schema).
            raise MigrationError(str(e.orig).strip().splitlines()[0]) from e
        finally:
            # A migration the database refused leaves the transaction aborted: rolled back
            # first, or the unlock failed too ("current transaction is aborted") and its
            # error hid the refusal's.
            connection.rollback()
            connection.execute(text('SELECT pg_advisory_unlock(:id)'), {'id': MIGRATION_LOCK_ID})
            connection.execute(text('RESET statement_timeout'))
            connection.commit()
