"""Production serving: gunicorn in front of create_app, and the embedded PostgreSQL."""
from __future__ import annotations

import logging
import os
import secrets
import shutil
import string
from pathlib import Path

from gunicorn.app.base import BaseApplication

from . import db
from .app import create_app
from .config import workers
from .embedded_db import EmbeddedPostgres
from .passwords import PasswordHasher
from .services import startup
from .services.bootstrap import BootstrapService
from .services.clients import ClientService

logger = logging.getLogger(__name__)


class Server(BaseApplication):
    """gunicorn with our settings; every worker builds its own app (engines are per process).

    ``app_factory`` (default: the service) lets the benchmark serve its bare 204 ceiling app
    with exactly the same server settings.
    """

    def __init__(self, config: dict, app_factory=None):
        self._config = config
        if config['metrics']['enabled']:
            _prepare_metrics_dir(config)
        self._app_factory = app_factory or (lambda: create_app(config, background=True))
        super().__init__()

    def load_config(self):
        rest = self._config['rest_api']
        settings = {
            'bind': f"{rest['listen']}:{rest['port']}",
            'workers': workers(self._config),
            # gthread, answering the requests gunicorn refuses itself in our envelope.
            'worker_class': 'wazo_like_auth.gunicorn_worker.EnvelopeThreadWorker',
            'threads': rest['threads'],
            'keepalive': 30,
            'graceful_timeout': 10,
            'timeout': 30,
            # Request lines up to 1 MiB reach the app, which answers 414 in the envelope
            # past 16 KiB instead of gunicorn's plain-text error.
            'limit_request_line': 0,
            # Header lines up to 8 KiB (nginx's default buffer) and 100 headers pass; a
            # bigger header is refused by gunicorn with 431 before the app (the envelope,
            # from gunicorn_worker).
            'limit_request_field_size': 8190,
            'limit_request_fields': 100,
            'accesslog': None,
            'control_socket_disable': True,
            'child_exit': _child_exit,
            'certfile': rest['certificate'],
            'keyfile': rest['private_key'],
        }
        for key, value in settings.items():
            if value is not None and key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self):
        return self._app_factory()


def _prepare_metrics_dir(config: dict) -> None:
    """Workers share metric values through files here (prometheus-client multi-process
    mode); the directory is emptied at start so no dead process's values linger."""
    path = Path(config['state_dir']) / 'metrics'
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, mode=0o700)
    os.environ['PROMETHEUS_MULTIPROC_DIR'] = str(path)


def _child_exit(server, worker) -> None:
    if os.environ.get('PROMETHEUS_MULTIPROC_DIR'):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)


def prepare_database(config: dict, *, admin: tuple[str, str] | None = None) -> None:
    """Migrate the configured database, reconcile it with the configuration (top tenant,
    all-users groups, default policies: services/startup.py; declared OAuth 2.0 clients), and
    create or reset a full-access user: ``admin`` (username, password), else the configured
    bootstrap user when asked for. `serve` and `bootstrap` share this."""
    if admin is None and config['bootstrap_user_on_startup']:
        admin = (config['bootstrap_user_username'], config['bootstrap_user_password'])
    engine = db.make_engine(config, pool_size=1)
    try:
        db.upgrade(engine)
        startup.prepare(config, engine)
        sessions = db.make_sessionmaker(engine)
        hasher = PasswordHasher(rounds=config['password_hash_rounds'])
        ClientService(sessions=sessions, hasher=hasher).reconcile(config['clients'])
        if admin is not None:
            BootstrapService(sessions=sessions, hasher=hasher).ensure_admin(*admin)
    finally:
        engine.dispose()


def start_embedded(config: dict) -> EmbeddedPostgres:
    """Start (creating on first use) the embedded PostgreSQL of ``state_dir``."""
    state = Path(config['state_dir'])
    state.mkdir(parents=True, exist_ok=True)
    # The server user must traverse state_dir to reach its data directory.
    state.chmod(0o711)
    database = EmbeddedPostgres(state / 'postgresql' / 'data')
    database.start()
    return database


def first_admin(config: dict) -> str | None:
    """On the first embedded start, create 'admin' with a random password written to
    state_dir/credentials (mode 0600). Returns the password, or None if already done."""
    path = Path(config['state_dir']) / 'credentials'
    if path.exists() or config['bootstrap_user_on_startup']:
        return None
    alphabet = string.ascii_letters + string.digits
    password = ''.join(secrets.choice(alphabet) for _ in range(24))
    prepare_database(config, admin=('admin', password))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write(f'username: admin\npassword: {password}\n')
    return password
