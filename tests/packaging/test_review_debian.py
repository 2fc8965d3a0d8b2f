"""Review of the Debian package's maintainer scripts (rev7-debian): debian/wazo-like-auth.postinst
run for real, on this machine, against a PostgreSQL of its own.

The postinst's functions run as written; only what needs a Debian root is replaced: the paths
(a temporary /etc, /var and root's home), the system user (everything runs as the test's
user: `runuser -u USER --` is a pass-through, `chown` does nothing) and the local PostgreSQL
server, which `runuser -u postgres -- psql` reaches as on a Debian host (its default socket
there, the test server's port here). The CLI is the project's own (`.venv/bin/wazo-like-auth`).
Cheaper than test_install.py (seconds, no build, no chroot), for the postinst's logic; what
only a real install shows (config.yml's mode, the secret and refresh tokens kept across a purge
that keeps the database, the system group kept) is checked in test_install's lifecycle.
"""
from __future__ import annotations

import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.support.postgres import Postgresql
from wazo_like_auth import db

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
POSTINST = ROOT / 'debian/wazo-like-auth.postinst'
VENV_BIN = Path(sys.executable).parent
SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin'

# runuser -u USER -- COMMAND...: COMMAND as the test's user; as postgres, psql and its
# siblings reach the local server as they would through its default socket.
RUNUSER = '''#!/bin/sh
[ "$1" = -u ] && [ "$3" = -- ] || { echo "runuser stub: unexpected $*" >&2; exit 64; }
if [ "$2" = postgres ]; then
    export PGHOST=127.0.0.1 PGPORT=@PORT@ PGUSER=postgres
fi
shift 3
exec "$@"
'''


@dataclass
class Host:
    """A Debian host as far as the postinst sees it."""
    top: Path
    pg: Postgresql

    @property
    def conf_d(self) -> Path:
        return self.top / 'etc/wazo-like-auth/conf.d'

    @property
    def config(self) -> Path:
        return self.top / 'etc/wazo-like-auth/config.yml'

    @property
    def credentials(self) -> Path:
        return self.top / 'root/.config/wazo-like-auth/credentials.yml'

    def server_uri(self, database: str) -> str:
        return f'postgresql://postgres@127.0.0.1:{self.pg.settings["port"]}/{database}'

    def sql(self, statement: str, database: str = 'postgres') -> list[tuple]:
        engine = create_engine(db.url(self.server_uri(database)), isolation_level='AUTOCOMMIT')
        try:
            with engine.connect() as connection:
                result = connection.execute(text(statement))
                return list(result) if result.returns_rows else []
        finally:
            engine.dispose()

    def tables(self, database: str) -> set[str]:
        engine = create_engine(db.url(self.server_uri(database)))
        try:
            return set(inspect(engine).get_table_names())
        finally:
            engine.dispose()

    def postinst(self, step: str = 'configure', **environment: str) -> subprocess.CompletedProcess:
        """``step`` run with the postinst's functions and settings, the paths moved under
        ``top``; ``environment`` is the caller's (root's shell running apt-get)."""
        script = POSTINST.read_text()
        functions = script[:script.index('\ncase "$1" in\n')]
        here = f'''
CONFIG={self.config}
CONF_D={self.conf_d}
DB_FILE=$CONF_D/40-db.yml
SECRET_FILE=$CONF_D/50-token-secret.yml
STATE_DIR={self.top}/var/lib/wazo-like-auth
LOG_DIR={self.top}/var/log/wazo-like-auth
CREDENTIALS={self.credentials}
PYTHON={VENV_BIN}/python
PROGRAM={VENV_BIN}/wazo-like-auth
create_user() {{ mkdir -p "$STATE_DIR" "$LOG_DIR"; }}
chown() {{ :; }}
'''
        env = {'PATH': f'{self.top}/bin:{VENV_BIN}:{SYSTEM_PATH}', 'HOME': str(self.top / 'root'),
               'LANG': 'C.UTF-8', **environment}
        return subprocess.run(['sh', '-ec', functions + here + step], env=env,
                              capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def host(tmp_path) -> Host:
    """The packaged configuration (config.yml, conf.d/10-debian.yml with this root's paths)
    and a running local PostgreSQL server of its own."""
    top = tmp_path / 'host'
    conf_d = top / 'etc/wazo-like-auth/conf.d'
    conf_d.mkdir(parents=True)
    (top / 'etc/wazo-like-auth/config.yml').write_text(
        (ROOT / 'etc/wazo-like-auth/config.yml').read_text())
    debian = (ROOT / 'debian/conf.d/10-debian.yml').read_text()
    (conf_d / '10-debian.yml').write_text(debian.replace('/var/', f'{top}/var/'))
    (conf_d / '20-test.yml').write_text('password_hash_rounds: 4\n')  # fast bcrypt
    (top / 'root').mkdir()
    with Postgresql() as pg:
        (top / 'bin').mkdir()
        runuser = top / 'bin/runuser'
        runuser.write_text(RUNUSER.replace('@PORT@', str(pg.settings['port'])))
        runuser.chmod(0o755)
        yield Host(top, pg)


def _password_of(host: Host) -> str:
    uri = (host.conf_d / '40-db.yml').read_text()
    return re.search(r'^db_uri: postgresql://wazo_like_auth:([0-9a-f]+)@', uri, re.M)[1]


def test_postinst_writes_no_database_password_to_the_postgresql_log(host):
    """postinst says "this session's statements are never written to PostgreSQL's log", and
    turns log_statement off for the ALTER ROLE that holds the password; but a server that logs
    statements by duration (log_min_duration_statement = 0, as pgBadger's set-up asks) still
    writes the whole statement, password included, to its log."""
    host.sql('ALTER SYSTEM SET log_min_duration_statement = 0')
    host.sql('SELECT pg_reload_conf()')
    result = host.postinst()
    assert result.returncode == 0, result.stdout + result.stderr
    password = _password_of(host)
    log = (Path(host.pg.base_dir) / 'Postgresql.log').read_text()
    leaked = [line for line in log.splitlines() if password in line]
    assert not leaked, leaked


def test_postinst_sets_up_the_package_database_whatever_root_environment(host):
    """root's shell may hold WAZO_LIKE_AUTH_DB_URI (the README's way to point a command at a
    database). postinst strips it when it reads the configuration, so it creates the package's
    database; but upgrade-db and bootstrap run with it: they migrate that other database and
    reset the password of its 'admin' (revoking its sessions), and the package's new database
    gets no schema and no administrator, while credentials.yml holds the other one's."""
    other = f'other_{uuid.uuid4().hex[:8]}'
    host.sql(f'CREATE DATABASE {other}')
    # libpq's variables too: psql, upgrade-db and bootstrap would read them.
    result = host.postinst(WAZO_LIKE_AUTH_DB_URI=host.server_uri(other), PGDATABASE=other,
                           PGOPTIONS='-c default_transaction_read_only=on')
    assert result.returncode == 0, result.stdout + result.stderr
    assert host.credentials.exists(), result.stdout + result.stderr
    assert 'auth_user' in host.tables('wazo_like_auth'), result.stdout + result.stderr
    assert host.sql("SELECT count(*) FROM auth_user WHERE username = 'admin'",
                    'wazo_like_auth') == [(1,)]
    assert host.tables(other) == set(), 'another database was migrated and given an admin'


def test_postinst_run_again_after_an_interruption_finishes_the_first_administrator(host):
    """The postinst says "every step is idempotent: dpkg-reconfigure runs them again safely,
    and finishes the set-up". Interrupted once the database exists (the terminal running
    apt-get closes while upgrade-db runs), dpkg leaves the package half-configured and
    `dpkg --configure -a` runs the postinst again: the database is no longer new, so no
    administrator is made, credentials.yml never appears, and nothing says so."""
    first = host.postinst('upgrade_schema() { kill -HUP $$; }\nconfigure')
    assert first.returncode != 0 and 'wazo_like_auth' in {
        name for (name,) in host.sql('SELECT datname FROM pg_database')}
    again = host.postinst()
    said = again.stdout + again.stderr
    assert again.returncode == 0, said
    assert host.credentials.exists() or 'bootstrap' in said, said
