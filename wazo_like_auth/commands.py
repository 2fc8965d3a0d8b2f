"""What each subcommand of the CLI does, given a validated configuration."""
from __future__ import annotations

import argparse
import contextlib
import ipaddress
import logging
import os
import shlex
import signal
import sys
from collections.abc import Callable, Iterator
from typing import NoReturn

from sqlalchemy.exc import OperationalError

from . import config as configuration
from . import config_secret, db, server
from .embedded_db import EmbeddedDatabaseError, EmbeddedPostgres
from .exceptions import ServiceError
from .logs import get_logger
from .stopping import STOP_SIGNALS, stop_signals

logger = get_logger(__name__)


class CommandError(Exception):
    """A problem the operator fixes: cli.py prints its message, one line, and exits
    ``status``."""
    status = 1


class InvalidConfiguration(CommandError):
    """A configuration that no start would accept: exit 2, as for a value cli.py refuses
    (the systemd unit does not restart the service on it)."""
    status = 2


@contextlib.contextmanager
def database_errors() -> Iterator[None]:
    """Turn the database problems an operator fixes into CommandErrors: a db_uri that is not
    PostgreSQL, a server that refuses us (down, bad password, no such database), a schema
    migrated by a newer version, a password the service refuses (bootstrap user, declared
    client secret). Anything else propagates, traceback and all: a bug to report."""
    try:
        yield
    except db.DatabaseURIError as e:
        raise CommandError(f'bad db_uri: {e}') from None
    except OperationalError as e:
        raise CommandError(f'cannot use the database: {_reason(e)}') from None
    except db.MigrationError as e:
        raise CommandError(f'cannot migrate the database: {e}') from None
    except ServiceError as e:
        raise CommandError(e.message) from None
    except configuration.ConfigError as e:  # the token_secret file of state_dir
        raise CommandError(f'configuration error: {e}') from None


def _reason(error: OperationalError) -> str:
    """The first line of the driver's message (it never quotes the password)."""
    return str(error.orig or error).strip().splitlines()[0]


def serve(config: dict, args: argparse.Namespace) -> int:
    """Run the service until SIGTERM/SIGINT; start an embedded PostgreSQL when no db_uri."""
    embedded = None
    try:
        with invalid_configuration():  # exit 2: no restart would load it
            server.check_certificate(config)
        with start_errors(config):
            server.check_listen(config)  # exit 1: the port may be freed before a restart
            config = _with_token_secret(config)  # read (or made) before anything starts
            if not config['db_uri']:
                embedded = server.embedded_database(config)  # initdb: not interrupted
        # Until granian takes them over, SIGINT and SIGTERM stop serve through the finally
        # below: the embedded server runs in its own session, nothing else would stop it.
        with stop_signals() as stopping:
            config = _started(config, embedded)
            stopping.check()
            _in_child(_prepare, config, embedded is not None)
            stopping.check()
            with start_errors(config):  # its metrics folder, in state_dir
                served = server.Server(config)
            served.run()
    except SystemExit as e:  # granian exits non-zero when it stops on a failure
        return int(e.code or 0)
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


def _with_token_secret(config: dict) -> dict:
    """``config`` with a token_secret: the configured one, else state_dir's."""
    return {**config, 'token_secret': config_secret.token_secret(config).decode()}


def _started(config: dict, embedded: EmbeddedPostgres | None) -> dict:
    """``config`` with the db_uri of ``embedded``, started."""
    if embedded is None:
        return config
    with start_errors(config):
        embedded.start()
    return {**config, 'db_uri': embedded.uri}


@contextlib.contextmanager
def start_errors(config: dict) -> Iterator[None]:
    """What stops serve before it prepares anything, as one CommandError: an address it
    cannot listen on, no PostgreSQL to embed or one
    that does not start, a state_dir (or its token_secret) this user cannot create or read,
    a token_secret file holding no valid secret."""
    try:
        yield
    except EmbeddedDatabaseError as e:
        raise CommandError(str(e)) from None
    except configuration.ConfigError as e:
        raise CommandError(f'configuration error: {e}') from None
    except OSError as e:
        raise CommandError(f'state_dir {config["state_dir"]}: {e.strerror}'
                           + (f': {e.filename}' if e.filename else '')) from None


@contextlib.contextmanager
def invalid_configuration() -> Iterator[None]:
    """A ConfigError as InvalidConfiguration: one line, exit 2."""
    try:
        yield
    except configuration.ConfigError as e:
        raise InvalidConfiguration(f'configuration error: {e}') from None


def _in_child(function: Callable[..., None], *args) -> None:
    """Run ``function(*args)`` in a forked child process and wait for it. A CommandError
    there (database_errors included) is raised here with the same message; any other
    exception is logged there with its traceback and fails the command here.

    Why a child: the preparation runs the migrations, which import alembic, mako and pygments
    (about 10 MiB) that the granian workers, forked from this process, would otherwise all
    inherit and never use. The child's log lines go through the same handlers (inherited)."""
    reader, writer = os.pipe()
    # Blocked across the fork: the child takes the default actions before it can receive
    # them (a handler of ours would run serve's code there), and the parent's handler runs
    # once _wait_for_child knows the child to stop.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        pid = os.fork()
    except BaseException:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        raise
    if pid == 0:
        os.close(reader)
        _run_child(writer, function, args)
    os.close(writer)
    message, status = _wait_for_child(pid, reader)
    if message:
        raise CommandError(message)
    if os.WIFSIGNALED(status):
        raise CommandError('preparing the database stopped: its process was killed by '
                           + signal.Signals(os.WTERMSIG(status)).name)
    if os.waitstatus_to_exitcode(status) != 0:
        raise CommandError('preparing the database failed (exit status '
                           f'{os.waitstatus_to_exitcode(status)})')


def _run_child(writer: int, function: Callable[..., None], args: tuple) -> NoReturn:
    """The child's side: the outcome as a message on ``writer`` (none: success), then exit
    without running anything of the parent's (its finally blocks, its atexit handlers)."""
    code = 1
    try:
        # Ctrl-C or SIGTERM stop the child at once and the parent says so; the migrations
        # run in one transaction, so nothing half done stays.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        message = _outcome(function, args)
        code = 1 if message else 0
        with os.fdopen(writer, 'wb') as pipe:
            pipe.write(message.encode())
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
    finally:
        os._exit(code)


def _outcome(function: Callable[..., None], args: tuple) -> str:
    """Run ``function(*args)``: '' when it succeeds, else the message for the parent."""
    try:
        with database_errors():
            function(*args)
    except CommandError as e:
        return str(e) or type(e).__name__
    except Exception as e:
        logger.exception('preparing the database failed')
        return f'preparing the database failed: {type(e).__name__} (traceback in the log)'
    return ''


def _wait_for_child(pid: int, reader: int) -> tuple[str, int]:
    """The child's message and wait status. Ctrl-C or SIGTERM here stop the child too, then
    the command, as they stop a running service: SystemExit(0). Unblocks them (_in_child)."""
    status = None
    with stop_signals():
        try:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            with os.fdopen(reader, 'rb') as pipe:
                message = pipe.read().decode(errors='replace')
            status = os.waitpid(pid, 0)[1]
            return message, status
        except BaseException:
            if status is None:
                with contextlib.suppress(ProcessLookupError, ChildProcessError):
                    os.kill(pid, signal.SIGTERM)
                    os.waitpid(pid, 0)
            raise


def _prepare(config: dict, embedded: bool) -> None:
    _prepare_database(config)
    if embedded:
        _announce_first_admin(config)


def _prepare_database(config: dict) -> None:
    """Migrate and reconcile the database before serving. A database that cannot be reached
    (its server down, or not created yet: the Debian package before PostgreSQL runs) does not
    stop the service: every request that needs it answers 503 until a restart finds it."""
    try:
        server.prepare_database(config)
    except OperationalError as e:
        logger.error('Database unreachable (%s); serving 503 until it is created or reachable '
                     'and the service restarted', _reason(e))


def _announce_first_admin(config: dict) -> None:
    password = server.first_admin(config)
    if password is None:
        return
    rest = config['rest_api']
    scheme = 'https' if rest['certificate'] else 'http'
    url = f"{scheme}://{url_host(rest['listen'])}:{rest['port']}/api/auth/0.1/token"
    print(f"\nFirst start: created user 'admin' with full access; its password is in "
          f"{config['state_dir']}/credentials and shown only now.\n"
          f"  curl -sk -X POST -u {shlex.quote('admin:' + password)} "
          f"-H 'Content-Type: application/json' -d '{{\"expiration\": 3600}}' "
          f"{shlex.quote(url)}\n", flush=True)


def url_host(listen: str) -> str:
    """The host part of a URL that reaches the address ``listen`` from this machine. A
    wildcard is reached on the loopback address of its own family: 0.0.0.0 on 127.0.0.1, ::
    on ::1 (a :: socket may be IPv6-only: net.ipv6.bindv6only, IPV6_V6ONLY). An IPv6 address
    is in brackets (RFC 3986), its zone's % written %25 (RFC 6874)."""
    address = ipaddress.ip_address(listen)
    if address.is_unspecified:
        address = ipaddress.ip_address('127.0.0.1' if address.version == 4 else '::1')
    if address.version == 6:
        return '[' + str(address).replace('%', '%25') + ']'
    return str(address)


def check_config(config: dict, args: argparse.Namespace) -> int:
    """``check-config``: what serve checks before it starts, starting nothing. cli.py has
    loaded the configuration (every value) and opened its log file; left: the TLS certificate
    and key, read as this user, and a token_secret file already in state_dir. Not the port,
    which the running service may hold."""
    with invalid_configuration():
        server.check_certificate(config)
        config_secret.check_token_secret(config)
    print('configuration is valid')
    return 0


def upgrade_db(config: dict, args: argparse.Namespace) -> int:
    if not config['db_uri']:
        raise CommandError('upgrade-db needs db_uri (config, WAZO_LIKE_AUTH_DB_URI or --db-uri)')
    with database_errors():
        engine = db.make_engine(config, pool_size=1)
        try:
            db.upgrade(engine)
        finally:
            engine.dispose()
    print('database schema is up to date')
    return 0


def bootstrap(config: dict, args: argparse.Namespace) -> int:
    if not config['db_uri']:
        raise CommandError('bootstrap needs db_uri (config, WAZO_LIKE_AUTH_DB_URI or --db-uri)')
    password = sys.stdin.readline().rstrip('\r\n') if args.password == '-' else args.password
    if not password:
        raise CommandError('bootstrap needs a non-empty password')
    with database_errors():  # in this process: bootstrap forks no workers
        server.prepare_database(config, admin=(args.username, password))
    print(f'user {args.username} has full access')
    return 0
