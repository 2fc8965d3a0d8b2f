"""Production serving: granian in front of create_app, and the embedded PostgreSQL.

granian (a Rust HTTP server, PyPI ``granian``) parses HTTP, holds idle and slow connections
and writes answers outside Python; each worker process runs the WSGI application on a pool of
blocking threads. Its master forks the workers: every worker builds its own app (engines,
listener, purge, bcrypt pool, metrics) in ``_WorkerApp``, once, before it serves.
"""
from __future__ import annotations

import gc
import logging
import os
import secrets
import shutil
import socket
import ssl
import string
import sys
from pathlib import Path

from granian.constants import HTTPModes, Interfaces, SSLProtocols
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server import Server as Granian
from sqlalchemy import Engine

from . import db
from .app import create_app
from .composition import Services, build_services
from .config import ConfigError, workers
from .embedded_db import EmbeddedPostgres
from . import tokens
from .logs import escape, get_logger, setup_logging
from .passwords import PasswordHasher

logger = get_logger(__name__)

# A stopping worker finishes its in-flight requests within this, then is killed.
GRACEFUL_TIMEOUT = 10
# An idle keep-alive connection, or a request whose head is not complete, is closed after this.
HEADER_READ_TIMEOUT = 30
# The request line and headers together: past this granian answers 431 itself (empty body).
# Request targets up to 16 KiB reach the app (past that: 414 in the envelope, app.py).
MAX_HEAD_SIZE = 32 * 1024
# A blocking thread idle this long exits (granian's minimum; its default is 30 s): a burst
# (a login storm holds one thread per login waiting for bcrypt) gives its threads' memory,
# about 0.2 MiB each, back soon after it ends.
THREAD_IDLE_TIMEOUT = 5
# How often a worker's threads hand the GIL over (Python's default: 5 ms). A check arriving
# while a longer request runs Python (an admin write, a refresh exchange) waits for the GIL at
# most this long: in the bench's churn mix, check throughput under churn went from about 0.35
# to 0.55 of the checks alone with 0.5 ms.
GIL_SWITCH_INTERVAL = 0.0005
# granian warns at every start when a worker may run more than 2 x cores + 1 threads. Ours do
# on purpose (each login waiting for bcrypt holds one: see settings), so in every journal the
# warning would read as a mistake to fix; Server.run states the sizes as information instead.
_THREADS_WARNING = 'Configuration allows spawning up to '
# granian's own messages (worker spawned, respawned, stopped) go to our handlers.
_GRANIAN_LOGGING = {
    'version': 1, 'disable_existing_loggers': False, 'formatters': {}, 'handlers': {},
    'loggers': {'_granian': {'handlers': [], 'propagate': True},
                'granian.access': {'handlers': [], 'propagate': True}},
}


class Server:
    """granian with our settings; ``app_factory`` (default: the service) lets the benchmark
    serve its bare 204 ceiling apps with exactly the same server settings."""

    def __init__(self, config: dict, app_factory=None):
        self._config = config
        if config['metrics']['enabled']:
            _prepare_metrics_dir(config)
        self._app_factory = app_factory or (lambda: create_app(config, background=True))

    def run(self) -> None:
        """Serve until SIGTERM/SIGINT (graceful: in-flight requests finish); a worker that
        dies is replaced. Raises SystemExit when granian stops on a failure."""
        options = settings(self._config)
        server = _Granian(**options)
        _setup_logging(self._config)  # granian configured logging in its constructor
        logger.info('serving with %d workers of %d threads each (rest_api.workers, '
                    'rest_api.threads)', options['workers'], options['blocking_threads'])
        server.serve(target_loader=_WorkerApp(self._config, self._app_factory),
                     wrap_loader=False)


def check_listen(config: dict) -> None:
    """Raise ConfigError naming the key when rest_api.listen:port cannot be bound (in use by
    another process, a privileged port, an address not on this host): checked before anything
    starts, rather than granian failing with a traceback once the database is prepared."""
    rest = config['rest_api']
    family = socket.AF_INET6 if ':' in rest['listen'] else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as granian binds
        try:
            probe.bind((rest['listen'], rest['port']))
        except OSError as e:
            raise ConfigError(f"rest_api.port: cannot listen on {rest['listen']} port "
                              f"{rest['port']}: {e.strerror}") from None


def check_certificate(config: dict) -> None:
    """Raise ConfigError naming the key when rest_api.certificate and private_key cannot be
    loaded (missing, unreadable, not PEM, not a pair): checked before anything starts, rather
    than granian failing with a traceback once the database is prepared."""
    rest = config['rest_api']
    if not rest['certificate']:
        return
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(
            rest['certificate'], rest['private_key'], password=_encrypted(rest['private_key']))
    except OSError as e:  # ssl.SSLError included
        raise ConfigError(f"rest_api.certificate: cannot load {rest['certificate']} with "
                          f"rest_api.private_key {rest['private_key']}: "
                          f"{e.strerror or getattr(e, 'reason', None) or e}") from None


def _encrypted(path: str):
    """The passphrase callback of an encrypted private key: refuse it, rather than OpenSSL
    asking for a passphrase on the terminal (check-config hung there) that the service,
    started by systemd, could never give."""
    def refuse() -> str:
        raise ConfigError(f'rest_api.private_key: {path} is encrypted: give an unencrypted '
                          'key (readable by the service only)')
    return refuse


def settings(config: dict) -> dict:
    """granian's constructor arguments for our configuration."""
    rest = config['rest_api']
    tls = {}
    if rest['certificate']:
        tls = {'ssl_cert': Path(rest['certificate']), 'ssl_key': Path(rest['private_key']),
               'ssl_protocol_min': SSLProtocols.tls12}
    return {
        'target': 'wazo_like_auth', 'address': rest['listen'], 'port': rest['port'],
        'interface': Interfaces.WSGI, 'workers': workers(config),
        # Logins wait for bcrypt on its own pool: with this many threads, checks still find
        # a free thread while every bcrypt slot is busy.
        'blocking_threads': rest['threads'], 'blocking_threads_idle_timeout': THREAD_IDLE_TIMEOUT,
        'http': HTTPModes.http1, 'websockets': False,
        'http1_settings': HTTP1Settings(header_read_timeout=HEADER_READ_TIMEOUT * 1000,
                                        keep_alive=True, max_buffer_size=MAX_HEAD_SIZE),
        'log_level': LogLevels(config['log_level'].lower()), 'log_dictconfig': _GRANIAN_LOGGING,
        'respawn_failed_workers': True, 'respawn_interval': 0,
        'workers_kill_timeout': GRACEFUL_TIMEOUT,
        **tls,
    }


class _WorkerApp:
    """Called by granian in each worker process, once, to get the WSGI application."""

    def __init__(self, config: dict, factory):
        self._config = config
        self._factory = factory

    def __call__(self):
        _setup_logging(self._config)  # the worker re-ran granian's logging set-up
        sys.setswitchinterval(GIL_SWITCH_INTERVAL)
        app = self._factory()
        # What exists now lives as long as the worker: out of the collector's sight, a full
        # collection walks only what requests leave behind (the import and the app are
        # some 120k objects, 15-30 ms per full collection that every request would wait for).
        gc.collect()
        gc.freeze()
        return app


class _Granian(Granian):
    """granian's process manager, telling prometheus-client when a worker is gone so that a
    dead worker's gauges leave the aggregated metrics. granian has no child-exit hook: this
    extends its (private) respawn step, which every replacement of a worker goes through;
    setup.cfg pins granian to 2.x for it."""

    def _respawn_workers(self, workers, spawn_target, target_loader, delay: float = 0):
        replaced = [self.wrks[idx].inner.pid for idx in workers]
        super()._respawn_workers(workers, spawn_target, target_loader, delay)
        for pid in replaced:  # every one has exited by now
            _mark_dead(pid)


def _setup_logging(config: dict) -> None:
    """Our handlers, and granian's records redacted and escaped on their way to them."""
    setup_logging(config)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_granian_records)


def _granian_records(record: logging.LogRecord) -> bool:
    # '_granian...' (its server and workers) and 'granian.access' (off in our settings; a
    # request line, its path and query, if ever turned on).
    if not record.name.startswith(('_granian', 'granian')):
        return True
    if record.name == '_granian' and str(record.msg).startswith(_THREADS_WARNING):
        return False
    return redact_record(record)


def redact_record(record: logging.LogRecord) -> bool:
    """A log filter for the server's own lines, which may quote a request's path (and so a
    token): tokens redacted, control characters escaped, as our own log lines are."""
    record.msg, record.args = escape(tokens.redact_all(record.getMessage())), None
    if record.exc_info and not record.exc_text:
        record.exc_text = tokens.redact_all(logging.Formatter().formatException(record.exc_info))
    return True


def _prepare_metrics_dir(config: dict) -> None:
    """Workers share metric values through files here (prometheus-client multi-process
    mode); the directory is emptied at start so no dead process's values linger."""
    path = Path(config['state_dir']) / 'metrics'
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, mode=0o700)
    os.environ['PROMETHEUS_MULTIPROC_DIR'] = str(path)


def _mark_dead(pid: int) -> None:
    if os.environ.get('PROMETHEUS_MULTIPROC_DIR'):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(pid)


def prepare_database(config: dict, *, admin: tuple[str, str] | None = None,
                     first: bool = False) -> bool:
    """Migrate the configured database, reconcile it with the configuration (top tenant,
    all-users groups, default policies: services/startup.py; declared OAuth 2.0 clients), and
    create or reset a full-access user: ``admin`` (username, password), else the configured
    bootstrap user when asked for; with ``first``, ``admin`` only on a database without any
    user. Whether a full-access user was made or reset. `serve` and `bootstrap` share this."""
    if admin is None and config['bootstrap_user_on_startup']:
        admin = (config['bootstrap_user_username'], config['bootstrap_user_password'])
    engine = db.make_engine(config, pool_size=1)
    try:
        db.upgrade(engine)
        services = offline_services(config, engine)
        services.startup.run()
        services.client_service.reconcile(config['clients'])
        if admin is not None and first:
            return services.bootstrap.create_first_admin(*admin)
        if admin is not None:
            services.bootstrap.ensure_admin(*admin)
        return admin is not None
    finally:
        engine.dispose()


def offline_services(config: dict, engine: Engine) -> Services:
    """The services, for a command that serves nothing (preparation, key rotation): built by
    the one composition root, no background thread started."""
    # No metrics here: Metrics() imports prometheus-client, which must first be imported
    # after the server has chosen its multi-process mode (metrics.py); nothing is served.
    quiet = {**config, 'metrics': {**config['metrics'], 'enabled': False}}
    return build_services(quiet, engine=engine,
                          hasher=PasswordHasher(rounds=config['password_hash_rounds']))


def embedded_database(config: dict) -> EmbeddedPostgres:
    """The embedded PostgreSQL of ``state_dir``, its cluster created on first use; not
    started. Creating the cluster is not interrupted by SIGTERM (initdb runs on): a cluster
    cut short would fail every later start."""
    state = Path(config['state_dir'])
    state.mkdir(parents=True, exist_ok=True)
    # The server user must traverse state_dir to reach its data directory.
    state.chmod(0o711)
    database = EmbeddedPostgres(state / 'postgresql' / 'data')
    database.initialize()
    return database


def first_admin(config: dict) -> str | None:
    """On the first embedded start (its database has no user), create 'admin' with a random
    password written to state_dir/credentials (mode 0600). Returns the password, or None if
    already done."""
    path = Path(config['state_dir']) / 'credentials'
    if path.exists() or config['bootstrap_user_on_startup']:
        return None
    alphabet = string.ascii_letters + string.digits
    password = ''.join(secrets.choice(alphabet) for _ in range(24))
    if not prepare_database(config, admin=('admin', password), first=True):
        logger.info('%s is absent, but the database has users already: no user made', path)
        return None
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write(f'username: admin\npassword: {password}\n')
    return password
