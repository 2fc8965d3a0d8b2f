"""`wazo-like-auth serve` prepares the database (migrations, reconciliation, bootstrap user) in
a child process: its problems read as one line, as every command's do; a signal stops both
processes; and the workers granian forks afterwards inherit none of the migration modules."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support.polling import wait_until
from tests.support.served import (STOP_TIMEOUT, clean_environment, free_port, serve_command,
                                  service, write_config)
from wazo_like_auth import db

pytestmark = pytest.mark.e2e

# The modules only the migrations use (alembic and what it imports), about 10 MiB a process.
MIGRATION_MODULES = ('alembic', 'mako', 'pygments')

# `wazo-like-auth serve`, noting in a file, at every fork, which of MIGRATION_MODULES the new
# process inherits. It only observes: the service runs as the console command runs it.
NOTING_SERVE = '''
import os, sys
modules, record, argv = sys.argv[1].split(','), sys.argv[2], sys.argv[3:]
def note():
    inherited = [name for name in modules if name in sys.modules]
    with open(record, 'a') as f:
        f.write(f"{os.getpid()} {','.join(inherited)}\\n")
os.register_at_fork(after_in_child=note)
from wazo_like_auth.cli import main
sys.exit(main(argv))
'''


def settings(db_uri: str, tmp_path: Path, **more) -> dict:
    return {'db_uri': db_uri, 'state_dir': str(tmp_path / 'state'), 'password_hash_rounds': 4,
            'token_secret': 'prep-token-secret-' + 'p' * 32,
            'rest_api': {'listen': '127.0.0.1', 'port': free_port(), 'workers': 1}, **more}


def run_serve(config: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    """`serve` expected to stop before serving."""
    path = write_config(tmp_path / 'config.yml', config)
    return subprocess.run(serve_command('--config', path), capture_output=True, text=True,
                          env=clean_environment(), timeout=60)


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f'/proc/{pid}/task').iterdir():
        with contextlib.suppress(OSError):
            found += [int(child) for child in (task / 'children').read_text().split()]
    return found


@pytest.fixture
def database(postgres) -> Iterator[str]:
    """The URI of a new, empty database of the session's PostgreSQL."""
    name = f'prep_{uuid.uuid4().hex[:12]}'
    admin = create_engine(db.url(postgres.url()), isolation_level='AUTOCOMMIT')
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE {name}'))
    try:
        yield postgres.url().rsplit('/', 1)[0] + f'/{name}'
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE {name} WITH (FORCE)'))
        admin.dispose()


def test_workers_inherit_none_of_the_migration_modules(tmp_path, db_uri, engine):
    config = settings(db_uri, tmp_path)
    config['rest_api']['workers'] = 2
    record = tmp_path / 'forks'
    args = [sys.executable, '-c', NOTING_SERVE, ','.join(MIGRATION_MODULES), str(record),
            'serve', '--config', write_config(tmp_path / 'config.yml', config)]
    with service(args, config['rest_api']['port'], tmp_path / 'logs') as svc:
        svc.wait_until_up()
        workers = children(svc.process.pid)
        inherited = dict(line.split(' ') for line in record.read_text().splitlines())
        assert svc.terminate() == 0
    assert len(workers) == 2
    assert {str(pid): inherited.get(str(pid)) for pid in workers} == {
        str(pid): '' for pid in workers}


def _stale(uri: str) -> str:
    """``uri`` once its schema claims a revision this version does not know."""
    engine = create_engine(db.url(uri))
    with engine.begin() as conn:
        conn.execute(text('CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)'))
        conn.execute(text("INSERT INTO alembic_version VALUES ('from_a_newer_version')"))
    engine.dispose()
    return uri


@pytest.mark.parametrize('uri, message', [
    ('not a URI', 'not a URI: expected postgresql://user:password@host:port/database'),
    ('mysql://auth:secret@localhost/auth', 'mysql:// is not supported: expected '
                                           'postgresql://user:password@host:port/database'),
])
def test_a_db_uri_serve_cannot_use_is_a_configuration_error(uri, message, tmp_path):
    result = run_serve(settings(uri, tmp_path), tmp_path)
    assert (result.returncode, result.stderr) == (
        2, f'wazo-like-auth: configuration error: {tmp_path}/config.yml: db_uri: {message}\n')


def _with_another_applications_table(uri: str) -> str:
    engine = create_engine(db.url(uri))
    with engine.begin() as conn:
        conn.execute(text('CREATE TABLE tenant (x integer)'))
    engine.dispose()
    return uri


@pytest.mark.parametrize('problem, message', [
    ('stale schema', "cannot migrate the database: Can't locate revision identified by "
                     "'from_a_newer_version'"),
    # A db_uri naming another application's database: the table in the way named, not the
    # traceback of the migration quoting the whole schema.
    ('table in the way', 'cannot migrate the database: relation "tenant" already exists'),
])
def test_a_preparation_problem_stops_serve_with_one_line(problem, message, tmp_path, database):
    config = {
        'stale schema': lambda: settings(_stale(database), tmp_path),
        'table in the way': lambda: settings(_with_another_applications_table(database),
                                             tmp_path),
    }[problem]()
    result = run_serve(config, tmp_path)
    assert (result.returncode, result.stderr) == (1, f'wazo-like-auth: {message}\n')


def test_a_bootstrap_password_bcrypt_would_cut_stops_serve_before_it_migrates(tmp_path,
                                                                             database):
    # It stopped preparing the database, exit 1: systemd restarted it every 2 s. It is a
    # configuration error now (exit 2, not restarted), found before anything starts.
    result = run_serve(settings(database, tmp_path, bootstrap_user_on_startup=True,
                                bootstrap_user_username='admin',
                                bootstrap_user_password='p' * 73), tmp_path)
    assert (result.returncode, result.stderr) == (
        2, f'wazo-like-auth: configuration error: {tmp_path}/config.yml: '
           'bootstrap_user_password: must be at most 72 bytes in UTF-8\n')
    engine = create_engine(db.url(database))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None
    finally:
        engine.dispose()


def test_an_unexpected_preparation_failure_logs_its_traceback_once(tmp_path, database):
    # Something the service does not expect of its own schema (here a trigger refusing the
    # policies the configuration declares): a bug to report, with its traceback.
    engine = create_engine(db.url(database))
    db.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'no policy today'; END $$"))
        conn.execute(text('CREATE TRIGGER refuse BEFORE INSERT ON auth_policy '
                          'FOR EACH ROW EXECUTE FUNCTION refuse()'))
    engine.dispose()
    result = run_serve(settings(database, tmp_path, default_policies={
        'operators': {'acl': ['confd.#']}}), tmp_path)
    lines = result.stderr.splitlines()
    unindented = [line for line in lines if not line.startswith(' ') and '(INFO)' not in line]
    assert result.returncode == 1
    assert len(unindented) == 2, result.stderr  # the log record (its traceback indented)...
    assert unindented[0].endswith('(ERROR) (wazo_like_auth.commands): preparing the database '
                                  'failed')
    assert 'no policy today' in result.stderr
    assert unindented[1] == ('wazo-like-auth: preparing the database failed: '  # ...and why
                             'InternalError (traceback in the log)')


def _waiting_for_the_migration_lock(engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            'AND objid = :id'), {'id': db.MIGRATION_LOCK_ID}).scalar())


@pytest.mark.parametrize('stop', ['SIGINT', 'SIGTERM'])
def test_a_signal_during_the_preparation_stops_it_and_serve(stop, tmp_path, database):
    engine = create_engine(db.url(database))
    config = settings(database, tmp_path, db_statement_timeout=0)
    args = serve_command('--config', write_config(tmp_path / 'config.yml', config))
    with engine.connect() as holder, service(args, 0, tmp_path / 'logs') as svc:
        # Another node migrating: the preparation waits for it.
        holder.execute(text('SELECT pg_advisory_lock(:id)'), {'id': db.MIGRATION_LOCK_ID})
        assert wait_until(lambda: _waiting_for_the_migration_lock(engine), 30, 0.1), \
            svc.output()
        preparing = children(svc.process.pid)
        assert len(preparing) == 1
        svc.process.send_signal(getattr(signal, stop))
        assert svc.process.wait(STOP_TIMEOUT) == 0
        assert not [pid for pid in preparing if os.path.exists(f'/proc/{pid}')]
        assert f'{stop}: stopping before serving' in svc.output()
    engine.dispose()


def test_a_node_waiting_past_the_statement_timeout_for_the_migration_lock_still_starts(
        tmp_path, database):
    engine = create_engine(db.url(database))
    config = settings(database, tmp_path, db_statement_timeout=300)
    port = config['rest_api']['port']
    args = serve_command('--config', write_config(tmp_path / 'config.yml', config))
    with engine.connect() as holder, service(args, port, tmp_path / 'logs') as svc:
        # Another node migrating for longer than a request may take: this one waits for it.
        holder.execute(text('SELECT pg_advisory_lock(:id)'), {'id': db.MIGRATION_LOCK_ID})
        assert wait_until(lambda: _waiting_for_the_migration_lock(engine), 30, 0.1), \
            svc.output()
        time.sleep(1.0)  # several statement timeouts
        holder.execute(text('SELECT pg_advisory_unlock(:id)'), {'id': db.MIGRATION_LOCK_ID})
        holder.commit()
        svc.wait_until_up()
        assert svc.process.poll() is None, svc.output()
        assert 'statement timeout' not in svc.output()
    engine.dispose()


def test_a_state_dir_serve_cannot_use_stops_it_with_one_line(tmp_path, database):
    # With db_uri and token_secret configured (the Debian layout) nothing touched state_dir
    # before the metrics folder of the server: a traceback, after the migrations.
    (tmp_path / 'state').write_text('')  # a file where the folder should be
    result = run_serve(settings(database, tmp_path), tmp_path)
    assert result.returncode == 1 and 'Traceback' not in result.stderr, result.stderr
    assert result.stderr.startswith(f'wazo-like-auth: state_dir {tmp_path}/state: ')
    assert len(result.stderr.splitlines()) == 1, result.stderr
