"""The Debian package: built with dpkg-buildpackage from a copy of the source tree (never in the
work tree itself), then read with dpkg-deb.

Skips when the Debian build tools are missing; `.ci/install-deps` installs them for CI.
"""
from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from wazo_like_auth import config as configuration
from wazo_like_auth import db

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = 'wazo-like-auth'
BUILD_TOOLS = ('dpkg-buildpackage', 'dpkg-checkbuilddeps', 'dpkg-deb', 'dh', 'dh_python3', 'git')
# A bare environment: the test runs inside the project's venv (and maybe under make), whose
# python, PYTHONPATH and MAKEFLAGS must not leak into debian/rules.
SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin'
BUILD_SECONDS = 300


@dataclass
class Package:
    deb: Path
    contents: dict[str, str]  # path ('./usr/bin/...') -> mode string ('-rwxr-xr-x')
    control: dict[str, bytes]  # control archive member name -> content
    files: tarfile.TarFile  # the data archive

    def text(self, path: str) -> str:
        member = self.files.extractfile(path)
        assert member is not None, f'{path} is not a regular file'
        return member.read().decode('utf-8')

    def control_text(self, name: str) -> str:
        return self.control[name].decode('utf-8')


def _env(home: Path) -> dict[str, str]:
    return {'PATH': SYSTEM_PATH, 'HOME': str(home), 'LANG': 'C.UTF-8',
            'DEB_BUILD_OPTIONS': 'nocheck'}


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 60):
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, timeout=timeout,
                          check=False)


def _copy_source(destination: Path) -> list[str]:
    """Copies tracked files plus untracked, non-ignored ones (what the next commit would hold);
    returns their names."""
    listing = _run(['git', 'ls-files', '-co', '--exclude-standard', '-z'], ROOT,
                   {'PATH': SYSTEM_PATH, 'HOME': str(destination)})
    if listing.returncode != 0:
        pytest.skip(f'{ROOT} is not a git work tree: {listing.stderr.decode().strip()}')
    names = []
    for name in filter(None, listing.stdout.decode().split('\0')):
        source = ROOT / name
        if not source.exists() and not source.is_symlink():  # deleted, not yet committed
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
        names.append(name)
    return names


def _tar_members(command: list[str], cwd: Path) -> tarfile.TarFile:
    result = subprocess.run(command, cwd=cwd, capture_output=True, check=True, timeout=60)
    return tarfile.open(fileobj=io.BytesIO(result.stdout))


@pytest.fixture(scope='module')
def built(tmp_path_factory) -> tuple[Path, list[str]]:
    """(path of the .deb, source files built); skips without the Debian build tools."""
    missing = [tool for tool in BUILD_TOOLS if shutil.which(tool, path=SYSTEM_PATH) is None]
    if missing:
        pytest.skip(f'Debian build tools missing ({", ".join(missing)}): '
                    'run .ci/install-deps (apt-get install debhelper dh-python ...)')
    top = tmp_path_factory.mktemp('debian-build')
    source = top / PACKAGE
    source.mkdir()
    names = _copy_source(source)
    env = _env(top)
    deps = _run(['dpkg-checkbuilddeps'], source, env)
    if deps.returncode != 0:
        pytest.skip(f'build dependencies missing: {deps.stderr.decode().strip()}')
    build = _run(['dpkg-buildpackage', '-us', '-uc', '-b'], source, env, timeout=BUILD_SECONDS)
    log = (build.stdout + build.stderr).decode('utf-8', 'replace')
    assert build.returncode == 0, f'dpkg-buildpackage failed:\n{log[-6000:]}'
    debs = list(top.glob(f'{PACKAGE}_*_all.deb'))
    assert len(debs) == 1, f'expected one .deb, got {debs}\n{log[-3000:]}'
    return debs[0], names


@pytest.fixture(scope='module')
def package(built) -> Package:
    deb, _ = built
    listing = subprocess.run(['dpkg-deb', '-c', str(deb)], capture_output=True, text=True,
                             check=True, timeout=60).stdout
    contents = {}
    for line in listing.splitlines():
        fields = line.split(maxsplit=5)
        contents[fields[5].split(' -> ')[0]] = fields[0]
    control_tar = _tar_members(['dpkg-deb', '--ctrl-tarfile', str(deb)], deb.parent)
    control = {Path(m.name).name: control_tar.extractfile(m).read()
               for m in control_tar.getmembers() if m.isfile()}
    files = _tar_members(['dpkg-deb', '--fsys-tarfile', str(deb)], deb.parent)
    return Package(deb=deb, contents=contents, control=control, files=files)


@pytest.fixture(scope='module')
def unpacked(built, tmp_path_factory) -> Path:
    """The package's files extracted (dpkg-deb -x) into a temporary root."""
    deb, _ = built
    root = tmp_path_factory.mktemp('unpacked')
    subprocess.run(['dpkg-deb', '-x', str(deb), str(root)], check=True, timeout=60)
    return root


def _unit_path(package: Package) -> str:
    # debhelper 13 puts units in /lib/systemd/system up to bookworm, /usr/lib/... after.
    candidates = [f'.{prefix}/systemd/system/{PACKAGE}.service' for prefix in ('/lib', '/usr/lib')]
    found = [path for path in candidates if path in package.contents]
    assert found, f'no systemd unit among {sorted(package.contents)}'
    return found[0]


def _fields(control: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    key = None
    for line in control.splitlines():
        if line.startswith((' ', '\t')) and key:
            fields[key] += '\n' + line.strip()
        elif ':' in line:
            key, value = line.split(':', 1)
            fields[key] = value.strip()
    return fields


def test_package_installs_program_python_package_and_config(package):
    python = './usr/lib/python3/dist-packages/wazo_like_auth'
    for path in ('./usr/bin/wazo-like-auth', f'{python}/__init__.py', f'{python}/cli.py',
                 f'{python}/migrations/alembic.ini', f'{python}/migrations/env.py',
                 f'{python}/migrations/versions/0001_initial.py',
                 './etc/wazo-like-auth/config.yml', './etc/wazo-like-auth/conf.d/10-debian.yml',
                 f'./etc/logrotate.d/{PACKAGE}', './usr/share/man/man1/wazo-like-auth.1.gz',
                 f'./usr/share/doc/{PACKAGE}/README.Debian.gz',
                 f'./usr/share/doc/{PACKAGE}/examples/wazo-like-auth.conf'):
        assert path in package.contents, path
    assert package.contents['./usr/bin/wazo-like-auth'] == '-rwxr-xr-x'
    assert not any('/tests/' in path or path.endswith('/tests') for path in package.contents)
    assert package.text('./usr/bin/wazo-like-auth').startswith('#!/usr/bin/python3')
    [entry_points] = [package.text(path) for path in package.contents
                      if path.endswith('.egg-info/entry_points.txt')]
    assert 'wazo-like-auth = wazo_like_auth.cli:main' in entry_points.splitlines()


def test_packaged_config_matches_the_source_tree(package):
    assert package.text('./etc/wazo-like-auth/config.yml') == \
        (ROOT / 'etc/wazo-like-auth/config.yml').read_text()
    debian = package.text('./etc/wazo-like-auth/conf.d/10-debian.yml')
    assert 'state_dir: /var/lib/wazo-like-auth' in debian.splitlines()
    assert 'log_filename: /var/log/wazo-like-auth/wazo-like-auth.log' in debian.splitlines()


def test_package_holds_every_file_of_the_python_package(built, package):
    """Catches package_data omissions (migrations, templates), which editable installs hide."""
    _, names = built
    sources = [name for name in names
               if name.startswith('wazo_like_auth/') and '__pycache__' not in name]
    assert 'wazo_like_auth/migrations/alembic.ini' in sources
    missing = [name for name in sources
               if f'./usr/lib/python3/dist-packages/{name}' not in package.contents]
    assert not missing, missing


def test_packaged_configuration_loads_with_the_debian_settings(unpacked):
    config = configuration.load_config(str(unpacked / 'etc/wazo-like-auth/config.yml'),
                                       environ={})
    assert config['state_dir'] == '/var/lib/wazo-like-auth'
    assert config['log_filename'] == '/var/log/wazo-like-auth/wazo-like-auth.log'
    assert config['rest_api']['listen'] == '127.0.0.1'


def test_packaged_program_migrates_an_empty_database(unpacked, db_uri, tmp_path):  # noqa: F811
    """The installed tree alone (with the test environment's libraries) runs upgrade-db: the
    console script, the package and its migration files are all in the .deb."""
    name = f'packaged_{uuid.uuid4().hex[:12]}'
    admin = create_engine(db.url(db_uri), isolation_level='AUTOCOMMIT')
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE {name}'))
    admin.dispose()
    target = db.url(db_uri).set(database=name).render_as_string(hide_password=False)
    (tmp_path / 'config.yml').write_text((unpacked / 'etc/wazo-like-auth/config.yml').read_text())
    env = {'PATH': SYSTEM_PATH, 'HOME': str(tmp_path), 'LANG': 'C.UTF-8',
           'PYTHONPATH': str(unpacked / 'usr/lib/python3/dist-packages'),
           'PYTHONDONTWRITEBYTECODE': '1'}
    where = subprocess.run([sys.executable, '-c', 'import wazo_like_auth as w; print(w.__file__)'],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(unpacked)), where.stdout
    result = subprocess.run([sys.executable, str(unpacked / 'usr/bin/wazo-like-auth'),
                             'upgrade-db', '--config', str(tmp_path / 'config.yml'),
                             '--db-uri', target],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    migrated = create_engine(db.url(target))
    try:
        tables = set(inspect(migrated).get_table_names())
    finally:
        migrated.dispose()
    assert {'alembic_version', 'auth_token', 'auth_user'} <= tables, tables


def test_control_fields_and_dependencies(package):
    fields = _fields(package.control_text('control'))
    assert fields['Package'] == PACKAGE
    assert fields['Architecture'] == 'all'
    depends = {re.sub(r'\s*\(.*\)', '', dep.strip()) for dep in fields['Depends'].split(',')}
    assert {'adduser', 'python3-flask', 'python3-flask-restful', 'python3-marshmallow',
            'python3-sqlalchemy', 'python3-psycopg2', 'python3-bcrypt', 'python3-alembic',
            'python3-gunicorn', 'python3-yaml'} <= depends
    # setup.cfg's wheel name must map to Debian's module package (debian/py3dist-overrides).
    assert not any('binary' in dep for dep in depends), depends
    assert 'python3-sqlalchemy (>= 2.0)' in fields['Depends']


def test_configuration_files_are_conffiles_and_generated_ones_are_not(package):
    conffiles = set(package.control_text('conffiles').split())
    assert {'/etc/wazo-like-auth/config.yml', '/etc/wazo-like-auth/conf.d/10-debian.yml',
            f'/etc/logrotate.d/{PACKAGE}'} <= conffiles
    assert not any(name.endswith(('40-db.yml', '50-token-secret.yml')) for name in conffiles)
    assert not any(path.endswith(('40-db.yml', '50-token-secret.yml'))
                   for path in package.contents)


def test_systemd_unit_runs_serve_as_the_service_user_hardened(package):
    lines = set(package.text(_unit_path(package)).splitlines())
    for line in ('After=network.target postgresql.service', 'Restart=on-failure',
                 'User=wazo-like-auth', 'Group=wazo-like-auth', 'NoNewPrivileges=yes',
                 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes',
                 'ReadWritePaths=/var/lib/wazo-like-auth /var/log/wazo-like-auth',
                 'ExecStart=/usr/bin/wazo-like-auth serve --config /etc/wazo-like-auth/config.yml',
                 'WantedBy=multi-user.target'):
        assert line in lines, line


def test_logrotate_rotates_daily_and_keeps_fifteen(package):
    text = package.text(f'./etc/logrotate.d/{PACKAGE}')
    assert text.startswith('/var/log/wazo-like-auth/*.log {')
    directives = {line.strip() for line in text.splitlines()}
    assert {'daily', 'rotate 15', 'compress', 'missingok', 'copytruncate',
            'su wazo-like-auth wazo-like-auth'} <= directives


@pytest.mark.parametrize('script', ['postinst', 'postrm', 'prerm'])
def test_maintainer_scripts_are_valid_posix_shell(package, script, tmp_path):
    path = tmp_path / script
    path.write_bytes(package.control[script])
    result = subprocess.run(['sh', '-n', str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert '#DEBHELPER#' not in package.control_text(script)


def test_postinst_configures_everything_before_starting_the_service(package):
    postinst = package.control_text('postinst')
    for step in ('adduser --system --group', 'install -d -o "$SERVICE_USER" -g "$SERVICE_USER"',
                 'STATE_DIR=/var/lib/wazo-like-auth', 'LOG_DIR=/var/log/wazo-like-auth',
                 'SECRET_FILE=$CONF_D/50-token-secret.yml', 'chmod 0640',
                 'runuser -u postgres -- psql', 'CREATE ROLE $DB_NAME',
                 'CREATE DATABASE $DB_NAME', 'DB_FILE=$CONF_D/40-db.yml',
                 'wazo-like-auth upgrade-db --config', '"bootstrap"',
                 'CREDENTIALS=/root/.config/wazo-like-auth/credentials.yml', 'chmod 0600'):
        assert step in postinst, step
    # A python3 earlier on PATH (/usr/local/bin, pyenv) would not see the packaged modules.
    assert not re.search(r'(?<!/usr/bin/)python3 -c', postinst)
    # debhelper's snippets (byte-compilation, systemd enable/start) come after our steps, so the
    # service starts with its user, folders, secret and database in place.
    assert postinst.index('\n        configure\n') < postinst.index('deb-systemd-invoke')
    assert 'py3compile' in postinst


def test_postrm_purge_removes_what_the_package_made_but_not_the_database(package):
    postrm = package.control_text('postrm')
    purge = postrm[postrm.index('purge() {'):postrm.index('\n}\n', postrm.index('purge() {'))]
    for step in ('40-db.yml', '50-token-secret.yml', 'rm -rf /var/lib/wazo-like-auth '
                 '/var/log/wazo-like-auth', '/root/.config/wazo-like-auth/credentials.yml',
                 'deluser --quiet --system'):
        assert step in purge, step
    for line in postrm.splitlines():
        if 'dropdb' in line or 'DROP ' in line.upper():
            assert line.strip().startswith(('echo', '#')), line


def test_lintian_reports_no_error(built):
    if shutil.which('lintian', path=SYSTEM_PATH) is None:
        pytest.skip('lintian is not installed')
    deb, _ = built
    result = subprocess.run(['lintian', '--no-tag-display-limit', str(deb)], capture_output=True,
                            text=True, timeout=180, check=False,
                            env={**_env(deb.parent), 'USER': os.environ.get('USER', 'root')})
    errors = [line for line in result.stdout.splitlines() if line.startswith('E:')]
    assert not errors, result.stdout + result.stderr
