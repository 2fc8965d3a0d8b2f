"""An embedded PostgreSQL for the default run (no ``db_uri``) and the test suite.

Server binaries are found on PATH, through ``pg_config --bindir``, under
``/usr/lib/postgresql/*/bin`` (newest first), or in the ``pgserver`` wheel, which ships them.
PostgreSQL refuses to run as root, so as root every server command runs through ``setpriv`` as an
unprivileged user (``postgres`` when it exists, else ``nobody``) on a data directory chowned to
it first. ``setpriv`` execs the command, so signals reach PostgreSQL itself (unlike ``runuser``).
"""
from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from .logs import get_logger

logger = get_logger(__name__)


class EmbeddedDatabaseError(RuntimeError):
    pass


def find_bindir() -> Path:
    """The directory holding ``initdb`` and ``postgres``. Raises EmbeddedDatabaseError."""
    for candidate in _bindir_candidates():
        if candidate and (candidate / 'initdb').exists() and (candidate / 'postgres').exists():
            return candidate
    raise EmbeddedDatabaseError(
        'no PostgreSQL server binaries found: install postgresql (apt-get install postgresql) '
        'or the pgserver wheel (pip install pgserver), or set db_uri')


def _bindir_candidates():
    on_path = shutil.which('postgres')
    yield Path(on_path).parent if on_path else None
    pg_config = shutil.which('pg_config')
    if pg_config:
        try:
            out = subprocess.run([pg_config, '--bindir'], capture_output=True, text=True,
                                 timeout=10, check=False).stdout.strip()
            yield Path(out) if out else None
        except (OSError, subprocess.SubprocessError):
            pass
    versions = sorted(glob.glob('/usr/lib/postgresql/*/bin'),
                      key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                      else 0, reverse=True)
    yield from (Path(p) for p in versions)
    spec = importlib.util.find_spec('pgserver')
    if spec and spec.origin:
        yield Path(spec.origin).parent / 'pginstall' / 'bin'


def server_user() -> str | None:
    """The user PostgreSQL runs as when we are root; None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ('postgres', 'nobody'):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise EmbeddedDatabaseError('running as root with no unprivileged user to run PostgreSQL')


def command(program: Path | str, *args: str) -> list[str]:
    """``program args`` as a command line, dropping root privileges when needed."""
    user = server_user()
    if user is None:
        return [str(program), *args]
    # By number: a user's group is not always its namesake (nobody's is nogroup on Debian).
    entry = pwd.getpwnam(user)
    return ['setpriv', f'--reuid={entry.pw_uid}', f'--regid={entry.pw_gid}', '--init-groups',
            '--', str(program), *args]


def hand_over(path: Path) -> None:
    """Give ``path`` (recursively) to the server user when we are root."""
    user = server_user()
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class EmbeddedPostgres:
    """A PostgreSQL cluster in ``data_dir``, trust authentication, reachable only through a
    Unix socket in a directory of its own, mode 0700: its server user's, and root's. On TCP
    (127.0.0.1) any local account was its superuser: every user, password hash and policy of
    the service, and programs run as the server user (COPY ... TO PROGRAM)."""

    def __init__(self, data_dir: Path, *, port: int | None = None, database: str = 'wazo_auth'):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()  # names the socket file (.s.PGSQL.<port>)
        self.database = database
        self.socket_dir = _socket_dir(self.data_dir.parent, self.port)
        self._bindir = find_bindir()
        self._process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return (f'postgresql://postgres@/{self.database}'
                f'?host={self.socket_dir}&port={self.port}')

    def initialize(self) -> None:
        """Create the cluster unless it exists already."""
        if (self.data_dir / 'PG_VERSION').exists():
            return
        # Traversable by the server user whatever the umask (systemd's UMask=0027).
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.data_dir.parent.chmod(0o711)
        self.data_dir.mkdir(exist_ok=True, mode=0o700)
        hand_over(self.data_dir)
        result = subprocess.run(
            command(self._bindir / 'initdb', '-D', str(self.data_dir), '-U', 'postgres',
                    '-A', 'trust', '-E', 'UTF8', '--locale=C', '--lc-messages=C'),
            capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise EmbeddedDatabaseError(f'initdb failed: {result.stderr.strip()}')

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and create the database; returns once it accepts connections.
        When it cannot (too slow, the database not created, Ctrl-C meanwhile) the server is
        stopped before the error propagates: it runs in its own session, so nothing else
        would stop it, and it would hold the data directory's lock. A SIGINT or SIGTERM
        landing while the server is being launched is held until ``_process`` names it."""
        self.initialize()
        self._prepare_socket_dir()
        stop_leftover(self.data_dir)
        try:
            with signals_held():  # an exception inside Popen would lose the only handle
                self._process = self._launch()
            self._wait_ready(timeout)
            self._create_database()
        except BaseException:
            self.stop()
            raise

    def _launch(self) -> subprocess.Popen:
        with _private_log(self.data_dir.parent / 'postgresql.log') as log:
            return subprocess.Popen(
                command(self._bindir / 'postgres', '-D', str(self.data_dir), '-p',
                        str(self.port), '-h', '', '-k', str(self.socket_dir),
                        '-c', 'unix_socket_permissions=0700',
                        '-c', 'logging_collector=off', '-c', 'max_connections=200'),
                stdout=log, stderr=log, start_new_session=True)

    def _wait_ready(self, timeout: float) -> None:
        import psycopg2
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise EmbeddedDatabaseError(
                    f'PostgreSQL exited at start; see {self.data_dir.parent}/postgresql.log')
            try:
                psycopg2.connect(host=str(self.socket_dir), port=self.port, user='postgres',
                                 dbname='postgres', connect_timeout=2).close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise EmbeddedDatabaseError('PostgreSQL did not start in time') from None
                time.sleep(0.1)

    def _create_database(self) -> None:
        import psycopg2
        conn = psycopg2.connect(host=str(self.socket_dir), port=self.port, user='postgres',
                                dbname='postgres')
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute('SELECT 1 FROM pg_database WHERE datname = %s', (self.database,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            conn.close()

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT); SIGKILL if it does not stop in ``timeout`` seconds. A
        SIGINT or SIGTERM meanwhile (a second Ctrl-C) is held until the server is gone."""
        with signals_held():
            if self._process is None or self._process.poll() is not None:
                return
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def _prepare_socket_dir(self) -> None:
        self.socket_dir.mkdir(exist_ok=True, mode=0o700)
        self.socket_dir.chmod(0o700)  # whatever the umask, or an older one's mode
        hand_over(self.socket_dir)

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _socket_dir(base: Path, port: int) -> Path:
    """``base``/socket, or a new private directory under the system's temporary one when the
    socket's path would pass the 107 bytes a Unix socket address holds."""
    preferred = base / 'socket'
    if len(os.fsencode(preferred / f'.s.PGSQL.{port}')) <= 100:
        return preferred
    return Path(tempfile.mkdtemp(prefix='wazo-like-auth-pg-'))


def stop_leftover(data_dir: Path, timeout: float = 30.0) -> None:
    """Stop a server left running on ``data_dir`` (its ``postmaster.pid`` names a live
    PostgreSQL of that directory whose parent is no process of ours): one whose serve was
    killed (kill -9, the OOM killer) outlives it, in its own session, and holds the
    directory's lock, so no start would succeed until someone stopped it by hand. One whose
    serve (or command) still runs is left alone: this start then fails, as it did. Fast
    shutdown, then SIGKILL after ``timeout``."""
    pid = _leftover_pid(data_dir)
    if pid is None:
        return
    logger.warning('a PostgreSQL left running on %s (pid %d) by a previous start: stopped',
                   data_dir, pid)
    os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = float('inf')
        time.sleep(0.1)


def _leftover_pid(data_dir: Path) -> int | None:
    try:
        pid = int((data_dir / 'postmaster.pid').read_text().split('\n', 1)[0])
        cmdline = Path(f'/proc/{pid}/cmdline').read_bytes().split(b'\0')
    except (OSError, ValueError):
        return None
    if os.fsencode(data_dir) not in cmdline or not _alive(pid) or _parent_is_ours(pid):
        return None
    return pid


def _parent_is_ours(pid: int) -> bool:
    """Whether the parent of ``pid`` is a wazo-like-auth process (a serve or a command that
    started this server and still runs); a killed one's server has another parent (init, a
    subreaper)."""
    fields = _stat(pid)
    try:
        cmdline = Path(f'/proc/{int(fields[1])}/cmdline').read_bytes() if fields else b''
    except OSError:
        return False
    return b'wazo-like-auth' in cmdline or b'wazo_like_auth' in cmdline


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (exists, and is no zombie)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != b'Z'


def _stat(pid: int) -> list[bytes] | None:
    """The fields of /proc/<pid>/stat after the command name (state, parent pid, ...), None
    when there is no such process."""
    try:
        return Path(f'/proc/{pid}/stat').read_bytes().rsplit(b')', 1)[1].split()
    except OSError:
        return None


HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Within, SIGINT and SIGTERM wait; on the way out the handlers in force before run for
    each one received (a handler raising SystemExit or KeyboardInterrupt raises there). For
    the statements between starting a server and holding its handle: an exception there
    would leave it running. Handlers run in the main thread only: elsewhere, nothing to hold.
    """
    previous = {signum: signal.getsignal(signum) for signum in HELD_SIGNALS}
    if threading.current_thread() is not threading.main_thread() \
            or None in previous.values():  # a handler set outside Python: leave it alone
        yield
        return
    received: list[int] = []
    for signum in HELD_SIGNALS:
        signal.signal(signum, lambda number, frame: received.append(number))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(received):
            signal.raise_signal(signum)


def _private_log(path: Path):
    """``path`` opened for appending, readable by its owner only: PostgreSQL logs the text of
    a failing statement, with its values (psycopg2 sends them inline): a password hash, an
    e-mail address. An older log made with the umask's mode is narrowed too."""
    log = open(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), 'ab')
    os.fchmod(log.fileno(), 0o600)
    return log
