"""What each subcommand of the CLI does, given a validated configuration."""
from __future__ import annotations

import argparse
import logging
import multiprocessing
import shlex
import sys

from sqlalchemy.exc import OperationalError

from . import config as configuration
from . import db, server
from .embedded_db import EmbeddedDatabaseError

logger = logging.getLogger(__name__)


class CommandError(Exception):
    pass


def serve(config: dict, args: argparse.Namespace) -> int:
    """Run the service until SIGTERM/SIGINT; start an embedded PostgreSQL when no db_uri."""
    embedded = None
    try:
        if not config['db_uri']:
            embedded = server.start_embedded(config)
            config = {**config, 'db_uri': embedded.uri}
        if not config['token_secret']:
            config = {**config, 'token_secret': configuration.token_secret(config).decode()}
        _in_child(_prepare, config, embedded is not None)
        server.Server(config).run()
    except EmbeddedDatabaseError as e:
        raise CommandError(str(e)) from None
    except SystemExit as e:  # granian exits non-zero when it stops on a failure
        return int(e.code or 0)
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


def _in_child(function, *args) -> None:
    """Run ``function(*args)`` in a forked child process and wait for it.

    The preparation runs the migrations, which import alembic, mako and pygments: about
    10 MB that the granian workers, forked from this process, would otherwise all inherit and
    never use (measured: worker RSS at start 101.8-103.6 MiB with them, 91.3-91.7 without)."""
    child = multiprocessing.get_context('fork').Process(target=function, args=args)
    child.start()
    child.join()
    if child.exitcode != 0:  # the child printed its traceback
        raise CommandError('preparing the database failed (see the error above)')


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
        reason = str(e.orig or e).strip().splitlines()[0]
        logger.error('Database unreachable (%s); serving 503 until it is created or reachable '
                     'and the service restarted', reason)


def _announce_first_admin(config: dict) -> None:
    password = server.first_admin(config)
    if password is None:
        return
    rest = config['rest_api']
    scheme = 'https' if rest['certificate'] else 'http'
    host = '127.0.0.1' if rest['listen'] in ('0.0.0.0', '::') else rest['listen']
    url = f"{scheme}://{host}:{rest['port']}/api/auth/0.1/token"
    print(f"\nFirst start: created user 'admin' with full access; its password is in "
          f"{config['state_dir']}/credentials and shown only now.\n"
          f"  curl -sk -X POST -u {shlex.quote('admin:' + password)} "
          f"-H 'Content-Type: application/json' -d '{{\"expiration\": 3600}}' {url}\n",
          flush=True)


def upgrade_db(config: dict, args: argparse.Namespace) -> int:
    if not config['db_uri']:
        raise CommandError('upgrade-db needs db_uri (config, WAZO_LIKE_AUTH_DB_URI or --db-uri)')
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
    server.prepare_database(config, admin=(args.username, password))
    print(f'user {args.username} has full access')
    return 0


def keys(config: dict, args: argparse.Namespace) -> int:
    """``keys rotate``: a new ID-token signing key, used by every node from now on."""
    if not config['db_uri']:
        raise CommandError('keys rotate needs db_uri (config, WAZO_LIKE_AUTH_DB_URI or '
                           '--db-uri)')
    engine = db.make_engine(config, pool_size=1)
    try:
        db.upgrade(engine)
        kid = server.offline_services(config, engine).oidc.signing_keys.rotate(args.algorithm)
    finally:
        engine.dispose()
    print(f'signing key {kid} added; older keys retire when their last token expires')
    return 0
