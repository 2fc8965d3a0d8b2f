"""Start and stop what is measured: `wazo-like-auth serve` nodes, the bare ceiling server and,
when installed, nginx answering 204 (the machine's HTTP limit, nginx.py).

Node 0 runs as users run it: ``wazo-like-auth serve --config FILE``, on its embedded PostgreSQL
unless a database URI is given. Further nodes serve the same database (node 0's embedded one,
found from its ``postmaster.pid``). The ceiling runs ``contribs.bench.ceiling`` with a copy of
the same configuration. Everything lives in one temporary directory, removed at the end.
"""
from __future__ import annotations

import http.client
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import make_url

from wazo_like_auth import config as configuration
from wazo_like_auth.embedded_db import free_port

from . import cpu, nginx
from .load import HOST

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
# Variables that would override the configuration file of the service.
OVERRIDING_ENV = tuple(configuration.ENVIRONMENT)


@dataclass(frozen=True)
class Settings:
    rounds: int
    db_uri: str | None = None
    workers: int | None = None
    threads: int | None = None
    validation_cache: bool = True  # passed only when the service knows the key
    username: str = 'bench-admin'
    password: str = field(default_factory=lambda: 'bench-' + secrets.token_hex(12))
    token_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    extra: dict = field(default_factory=dict)  # more configuration (e.g. amqp), merged last


def libpq_uri(uri: str) -> str:
    """``uri`` as libpq (psycopg2.connect) takes it: no SQLAlchemy driver suffix."""
    url = make_url(uri).set(drivername='postgresql')
    return url.render_as_string(hide_password=False)


class ServerProcess:
    """One server started by the benchmark, known by its pid only."""

    def __init__(self, name: str, argv: list[str], port: int, log: Path):
        self.name, self.argv, self.port, self.log = name, argv, port, log
        self._popen: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        return self._popen.pid

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k not in OVERRIDING_ENV}
        env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(REPO), env.get('PYTHONPATH')]))
        # A process group of its own (to be stopped as one), but the session of the load
        # generator: Linux schedules each session as one group (autogroup). In a session of
        # its own the service got half the cores against the load generator's session, and
        # its niced bcrypt, having its session's share to itself, starved the generator
        # instead of yielding to it: checks during a login storm then read p99 200-500 ms
        # (18 ms in one session, as the processes of a server are scheduled in production).
        with open(self.log, 'ab') as log:
            self._popen = subprocess.Popen(self.argv, stdout=log, stderr=log, cwd=REPO, env=env,
                                           process_group=0)

    def wait_ready(self, path: str, timeout: float = READY_TIMEOUT) -> None:
        """Return once the server answers ``GET path`` at all."""
        deadline = time.monotonic() + timeout
        while True:
            if self._popen.poll() is not None:
                raise RuntimeError(f'{self.name} exited at start:\n{self.log_tail()}')
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request('GET', path)
                conn.getresponse().read()
                conn.close()
                return
            except (OSError, http.client.HTTPException):
                if time.monotonic() > deadline:
                    raise RuntimeError(f'{self.name} not ready in {timeout:.0f} s:\n'
                                       f'{self.log_tail()}') from None
                time.sleep(0.2)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return '\n'.join(self.log.read_text(errors='replace').splitlines()[-lines:])
        except OSError:
            return ''

    def terminate(self) -> None:
        """SIGTERM: a graceful stop (serve then stops its embedded PostgreSQL)."""
        if self._popen is not None and self._popen.poll() is None:
            self._popen.send_signal(signal.SIGTERM)

    def wait(self) -> None:
        """Wait for the exit that ``terminate`` asked for; SIGKILL past STOP_TIMEOUT."""
        if self._popen is None:
            return
        try:
            self._popen.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            self._popen.wait()


class Cluster:
    """``nodes`` service nodes on one database, plus the ceiling; a context manager."""

    def __init__(self, settings: Settings, nodes: int = 1):
        self.settings = settings
        self.node_count = nodes
        self.workdir = Path(tempfile.mkdtemp(prefix='wazo-like-auth-bench-'))
        # As root the embedded PostgreSQL runs as another user, which must traverse this.
        self.workdir.chmod(0o711)
        self.nodes: list[ServerProcess] = []
        self.ceiling: ServerProcess | None = None
        self.nginx: ServerProcess | None = None
        self.db_uri: str | None = settings.db_uri
        self.postmaster: int | None = None

    def config_path(self, index: int) -> Path:
        return self.workdir / f'node{index}.yml'

    def _write_config(self, path: Path, port: int, state_dir: Path) -> None:
        s = self.settings
        rest: dict = {'listen': HOST, 'port': port}
        if s.workers:
            rest['workers'] = s.workers
        if s.threads:
            rest['threads'] = s.threads
        content = {
            'rest_api': rest, 'state_dir': str(state_dir), 'token_secret': s.token_secret,
            'password_hash_rounds': s.rounds, 'bootstrap_user_on_startup': True,
            'bootstrap_user_username': s.username, 'bootstrap_user_password': s.password,
            # The purge is measured on demand (--scale), not left to a timer mid-scenario.
            'token_cleanup_interval': 0, 'log_level': 'warning',
        }
        if 'validation_cache' in configuration.DEFAULTS:
            content['validation_cache'] = s.validation_cache
        content.update(s.extra)
        path.write_text(yaml.safe_dump(content))

    def _start_node(self, index: int, wait: bool = True) -> ServerProcess:
        port = free_port()
        path = self.config_path(index)
        self._write_config(path, port, self.workdir / f'state{index}')
        script = Path(sys.executable).parent / 'wazo-like-auth'
        argv = [str(script)] if script.exists() else [sys.executable, '-m', 'wazo_like_auth.cli']
        argv += ['serve', '--config', str(path)]
        if self.db_uri:
            argv += ['--db-uri', self.db_uri]
        node = ServerProcess(f'node {index}', argv, port, self.workdir / f'node{index}.log')
        self.nodes.append(node)
        node.start()
        if wait:
            node.wait_ready('/0.1/status')
        return node

    def _start_ceiling(self) -> ServerProcess:
        port = free_port()
        path = self.workdir / 'ceiling.yml'
        self._write_config(path, port, self.workdir / 'ceiling-state')
        ceiling = ServerProcess('ceiling', [sys.executable, '-m', 'contribs.bench.ceiling',
                                            '--config', str(path)],
                                port, self.workdir / 'ceiling.log')
        self.ceiling = ceiling
        ceiling.start()  # its readiness is awaited once the nodes are up
        return ceiling

    def _start_nginx(self) -> None:
        found = nginx.command(self.workdir / 'nginx',
                              self.settings.workers or configuration.default_workers())
        if found is not None:
            argv, port = found
            self.nginx = ServerProcess('nginx', argv, port, self.workdir / 'nginx.log')
            self.nginx.start()

    def __enter__(self) -> Cluster:
        try:
            self._start_ceiling()
            self._start_nginx()
            self._start_node(0)
            if not self.db_uri:
                self.db_uri = embedded_uri(self.workdir / 'state0')
                self.postmaster = embedded_postmaster(self.workdir / 'state0')
            else:
                self.postmaster = postmaster_pid(self.db_uri)
            # Node 0 has migrated and bootstrapped; the others may start together.
            others = [self._start_node(i, wait=False) for i in range(1, self.node_count)]
            for node in others:
                node.wait_ready('/0.1/status')
            self.ceiling.wait_ready('/0.1/token/ready')
            if self.nginx:
                self.nginx.wait_ready('/ready')
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        processes = [p for p in (self.ceiling, self.nginx) if p] + self.nodes
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def service_pids(self) -> set[int]:
        """granian masters and workers of every node (not the embedded PostgreSQL)."""
        return cpu.tree([node.pid for node in self.nodes],
                        exclude=[self.postmaster] if self.postmaster else [])

    def postgres_pids(self) -> set[int]:
        return cpu.tree([self.postmaster]) if self.postmaster else set()

    def ceiling_pids(self) -> set[int]:
        return cpu.tree([self.ceiling.pid]) if self.ceiling else set()

    def nginx_pids(self) -> set[int]:
        return cpu.tree([self.nginx.pid]) if self.nginx else set()

    def settle(self) -> float:
        """Wait until every server and PostgreSQL are idle; the seconds waited."""
        return cpu.wait_idle(lambda: self.service_pids() | self.ceiling_pids()
                             | self.nginx_pids() | self.postgres_pids())


def embedded_uri(state_dir: Path) -> str:
    """The URI of the embedded PostgreSQL of ``state_dir``: its port and socket directory are
    lines 4 and 5 of postmaster.pid (it listens on no TCP port)."""
    lines = (state_dir / 'postgresql' / 'data' / 'postmaster.pid').read_text().splitlines()
    return f'postgresql://postgres@/wazo_auth?host={lines[4]}&port={int(lines[3])}'


def embedded_postmaster(state_dir: Path) -> int:
    """The pid of the embedded PostgreSQL of ``state_dir`` (first line of postmaster.pid)."""
    path = state_dir / 'postgresql' / 'data' / 'postmaster.pid'
    return int(path.read_text().splitlines()[0])


def postmaster_pid(db_uri: str) -> int | None:
    """The pid of the PostgreSQL server of ``db_uri`` when it runs on this machine, else None.

    Found as the parent of our own backend, which needs no superuser privilege.
    """
    import psycopg2
    conn = psycopg2.connect(libpq_uri(db_uri), connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute('SELECT pg_backend_pid()')
            backend = cur.fetchone()[0]
            parent = cpu.parent_of(backend)
    finally:
        conn.close()
    if parent and cpu.command_name(parent) == 'postgres' and \
            cpu.command_name(backend) == 'postgres':
        return parent
    return None
