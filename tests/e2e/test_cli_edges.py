"""Edges of the command line and the embedded PostgreSQL: who may reach it, starting as root
without a postgres user or under a restrictive umask, after a killed serve, a migration the
database refuses, a NUL byte in a path."""
from __future__ import annotations

import os
import pwd
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DataError

from tests.e2e.test_serve import postgres_pids, state_dir, wait_for_no_postgres  # noqa: F401
from tests.support.served import (clean_environment, embedded_serve, free_port, service,
                                  write_config)
from wazo_like_auth import db, embedded_db, server

pytestmark = pytest.mark.e2e

as_root = pytest.mark.skipif(os.geteuid() != 0, reason='needs root (setpriv, another user)')

# A local user with no business with the service: connects to the embedded PostgreSQL the
# service started, as the superuser 'postgres', and runs a program as the server's user.
INTRUDER = '''
import sys, psycopg2
for host in ('127.0.0.1', sys.argv[2]):  # on TCP, and through the server's own socket
    try:
        conn = psycopg2.connect(host=host, port=int(sys.argv[1]), user='postgres',
                                dbname='wazo_auth', connect_timeout=5)
        break
    except psycopg2.OperationalError as error:
        print('refused on', host)
else:
    sys.exit(0)
conn.autocommit = True
with conn.cursor() as cur:
    cur.execute('SELECT rolsuper FROM pg_roles WHERE rolname = current_user')
    print('connected, superuser:', cur.fetchone()[0])
    cur.execute("COPY (SELECT 1) TO PROGRAM 'id'")
    print('ran a program as the server user')
'''


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=clean_environment(),
                          timeout=60, **kwargs)


@as_root
def test_another_local_user_cannot_use_the_embedded_database(state_dir):  # noqa: F811
    embedded = server.embedded_database({'state_dir': str(state_dir)})
    embedded.start()
    try:
        intruder = _run(['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups',
                         '--', sys.executable, '-c', INTRUDER, str(embedded.port),
                         str(embedded.socket_dir)])
    finally:
        embedded.stop()
    # Trust authentication on 127.0.0.1: any local account is the cluster's superuser (every
    # user, password hash and policy of the service; COPY ... TO PROGRAM as 'postgres').
    assert 'connected' not in intruder.stdout, intruder.stdout
    assert intruder.stdout.count('refused on') == 2, (intruder.stdout, intruder.stderr)


def test_the_embedded_databases_log_is_readable_by_its_owner_only(state_dir):  # noqa: F811
    # PostgreSQL logs a failing statement with its values (psycopg2 sends them inline).
    log = state_dir / 'postgresql' / 'postgresql.log'
    log.parent.mkdir(parents=True)
    log.write_text('an older log, made with the umask\n')
    log.chmod(0o644)
    embedded = server.embedded_database({'state_dir': str(state_dir)})
    embedded.start()
    try:
        engine = create_engine(db.url(embedded.uri))
        with engine.connect() as conn, pytest.raises(DataError):
            conn.execute(text("SELECT 'secret-value'::int"))
        engine.dispose()
    finally:
        embedded.stop()
    assert oct(log.stat().st_mode & 0o777) == oct(0o600)
    assert 'secret-value' in log.read_text()  # what it protects


@as_root
def test_the_embedded_database_starts_as_root_with_a_restrictive_umask(state_dir):  # noqa: F811
    previous = os.umask(0o027)  # systemd's UMask=0027, a hardened root's umask
    try:
        embedded = server.embedded_database({'state_dir': str(state_dir)})
        embedded.start()
    finally:
        os.umask(previous)
    embedded.stop()


@as_root
def test_the_embedded_database_starts_as_root_without_a_postgres_user(state_dir,  # noqa: F811
                                                                      monkeypatch):
    # A host with no 'postgres' account (the pgserver wheel's binaries, a slim image): the
    # README says the server then runs as 'nobody', whose group is 'nogroup' on Debian.
    real = pwd.getpwnam

    def without_postgres(name):
        if name == 'postgres':
            raise KeyError(name)
        return real(name)
    monkeypatch.setattr(embedded_db.pwd, 'getpwnam', without_postgres)
    assert embedded_db.server_user() == 'nobody'
    embedded = server.embedded_database({'state_dir': str(state_dir)})
    embedded.start()
    embedded.stop()


def test_serve_starts_again_after_it_was_killed(state_dir, tmp_path):  # noqa: F811
    port, args = embedded_serve(tmp_path, state_dir)
    with service(args, port, tmp_path / 'first') as svc:
        svc.wait_until_up()
    # service() ends with SIGKILL to serve's process group, as kill -9 or the OOM killer would.
    with service(args, port, tmp_path / 'second') as svc:
        svc.wait_until_up()
        assert svc.terminate() == 0
    assert wait_for_no_postgres(state_dir) == []


# A start of the embedded database by a process of ours that keeps running (a serve, or a
# command using the embedded database).
HOLDER = (
    'import sys, time\n'
    'from wazo_like_auth import server\n'
    "server.embedded_database({'state_dir': sys.argv[1]}).start()\n"
    "print('up', flush=True)\n"
    'time.sleep(120)\n')


def test_a_start_beside_a_running_one_leaves_it_running(state_dir):  # noqa: F811
    holder = subprocess.Popen([sys.executable, '-c', HOLDER, str(state_dir)],
                              stdout=subprocess.PIPE, text=True, env=clean_environment())
    try:
        assert holder.stdout.readline().strip() == 'up'
        data = state_dir / 'postgresql' / 'data'
        running = postgres_pids(state_dir)
        # Not a leftover: its serve still runs. This start fails (the directory is locked),
        # as it always did, rather than stop the server that serve is using.
        with pytest.raises(embedded_db.EmbeddedDatabaseError):
            server.embedded_database({'state_dir': str(state_dir)}).start()
        assert postgres_pids(state_dir) == running
    finally:
        holder.kill()
        holder.wait()
        embedded_db.stop_leftover(data)  # its server, orphaned now: a leftover
    assert wait_for_no_postgres(state_dir) == []


@pytest.fixture
def unprivileged_uri(postgres):
    """A database the role of its URI may connect to but not create tables in (PostgreSQL 15:
    only the owner of schema public may)."""
    name = f'weak_{uuid.uuid4().hex[:12]}'
    admin = create_engine(db.url(postgres.url()), isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE {name} LOGIN'))
        conn.execute(text(f'CREATE DATABASE {name}'))
    try:
        yield postgres.url().rsplit('/', 1)[0].replace('//postgres@', f'//{name}@') + f'/{name}'
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE {name} WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE {name}'))
        admin.dispose()


def test_a_migration_refused_by_the_database_says_why(unprivileged_uri, tmp_path):
    config = write_config(tmp_path / 'config.yml', {
        'state_dir': str(tmp_path / 'state'), 'token_secret': 's' * 40})
    result = _run([sys.executable, '-m', 'wazo_like_auth.cli', 'upgrade-db', '--config', config,
                   '--db-uri', unprivileged_uri])
    # The cause, not the unlock of db.upgrade failing after it on the aborted transaction.
    assert result.returncode == 1
    assert 'permission denied for schema public' in result.stderr
    assert 'current transaction is aborted' not in result.stderr, result.stderr[-3000:]


@pytest.mark.parametrize('command, key', [('check-config', 'log_filename'),
                                          ('serve', 'state_dir')])
def test_a_nul_byte_in_a_path_is_a_configuration_error(command, key, tmp_path):
    path = tmp_path / 'config.yml'
    path.write_text(f'{key}: "{tmp_path}/a\\0b"\nrest_api: {{port: {free_port()}}}\n')
    result = _run([sys.executable, '-m', 'wazo_like_auth.cli', command, '--config', str(path)])
    assert (result.returncode, len(result.stderr.splitlines())) == (2, 1), result.stderr[-2000:]
    assert key in result.stderr
