"""The Debian package: built with dpkg-buildpackage from a copy of the source tree (never in the
work tree itself) on this machine, then read with dpkg-deb. test_install.py installs it for real.

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
BUILD_TOOLS = ('dpkg-buildpackage', 'dpkg-checkbuilddeps', 'dpkg-deb', 'dh', 'dh_virtualenv', 'git')
VENV = '/opt/venvs/wazo-like-auth'


def _system_python() -> str:
    """'3.N' of /usr/bin/python3, which the package's virtualenv is built with (the tests may
    run under another python3)."""
    if not Path('/usr/bin/python3').exists():
        return '%d.%d' % sys.version_info[:2]
    return subprocess.run(['/usr/bin/python3', '-c', 'import sys; print("%d.%d" % sys.version_info[:2])'],
                          capture_output=True, text=True, check=True).stdout.strip()


SYSTEM_PYTHON = _system_python()
SITE = f'.{VENV}/lib/python{SYSTEM_PYTHON}/site-packages'
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
    # Deep on purpose: the virtualenv's build path then makes shebangs too long for Linux (127
    # bytes), as in a CI workspace, and pip writes /bin/sh launchers the build must undo.
    top = tmp_path_factory.mktemp('debian-build') / ('deep-directory/' * 5)
    source = top / PACKAGE
    source.mkdir(parents=True)
    names = _copy_source(source)
    env = _env(top)
    deps = _run(['dpkg-checkbuilddeps'], source, env)
    if deps.returncode != 0:
        pytest.skip(f'build dependencies missing: {deps.stderr.decode().strip()}')
    build = _run(['dpkg-buildpackage', '-us', '-uc', '-b'], source, env, timeout=BUILD_SECONDS)
    log = (build.stdout + build.stderr).decode('utf-8', 'replace')
    assert build.returncode == 0, f'dpkg-buildpackage failed:\n{log[-6000:]}'
    debs = list(top.glob(f'{PACKAGE}_*.deb'))
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


def test_package_installs_program_virtualenv_and_config(package):
    python = f'{SITE}/wazo_like_auth'
    for path in ('./usr/bin/wazo-like-auth', f'.{VENV}/bin/wazo-like-auth', f'.{VENV}/bin/python',
                 f'{python}/__init__.py', f'{python}/cli.py',
                 f'{python}/migrations/alembic.ini', f'{python}/migrations/env.py',
                 f'{python}/migrations/versions/0001_initial.py',
                 f'{SITE}/flask/__init__.py', f'{SITE}/sqlalchemy/__init__.py',
                 f'{SITE}/psycopg2/__init__.py', f'{SITE}/prometheus_client/__init__.py',
                 './etc/wazo-like-auth/config.yml', './etc/wazo-like-auth/conf.d/10-debian.yml',
                 f'./etc/logrotate.d/{PACKAGE}', './usr/share/man/man1/wazo-like-auth.1.gz',
                 f'./usr/share/doc/{PACKAGE}/README.Debian.gz',
                 f'./usr/share/doc/{PACKAGE}/examples/wazo-like-auth.conf'):
        assert path in package.contents, path
    assert package.contents['./usr/bin/wazo-like-auth'].startswith('l')
    assert package.files.getmember('./usr/bin/wazo-like-auth').linkname == \
        f'{VENV}/bin/wazo-like-auth'
    assert package.contents[f'.{VENV}/bin/wazo-like-auth'] == '-rwxr-xr-x'
    assert not any(path.startswith(f'{python}/') and '/tests/' in path
                   for path in package.contents)
    assert package.text(f'.{VENV}/bin/wazo-like-auth').startswith(f'#!{VENV}/bin/python')
    [entry_points] = [package.text(path) for path in package.contents
                      if re.match(rf'{re.escape(SITE)}/wazo_like_auth-.*/entry_points.txt$', path)]
    assert 'wazo-like-auth = wazo_like_auth.cli:main' in entry_points.splitlines()


def test_every_program_of_the_virtualenv_runs_its_python_whatever_the_build_directory(package):
    """Each executable of the venv's bin/ starts with the venv's python as its shebang: not
    the build directory's, nor pip's /bin/sh launcher (written when the build directory made
    the shebang too long)."""
    scripts = [path for path, mode in package.contents.items()
               if path.startswith(f'.{VENV}/bin/') and mode.startswith('-') and 'x' in mode
               and not path.endswith(('/python', '/python3')) and '/python3.' not in path]
    assert f'.{VENV}/bin/wazo-like-auth' in scripts and len(scripts) > 3
    for path in scripts:
        assert package.text(path).split('\n', 1)[0] == f'#!{VENV}/bin/python', path


def test_virtualenv_holds_exactly_the_pinned_versions(package):
    """Every distribution in the virtualenv is at its constraints.txt version; psycopg2 was
    built against Debian's libpq, not taken from the wheel that bundles its own."""
    pins = {}
    for line in (ROOT / 'constraints.txt').read_text().splitlines():
        if '==' in line and not line.startswith('#'):
            name, version = line.split('==')
            pins[re.sub(r'[-_.]+', '-', name).lower()] = version
    found = {}
    for path in package.contents:
        match = re.match(rf'{re.escape(SITE)}/([^/]+)-([^-/]+)\.dist-info/METADATA$', path)
        if match:
            found[re.sub(r'[-_.]+', '-', match[1]).lower()] = match[2]
    assert {'flask', 'sqlalchemy', 'psycopg2-binary', 'prometheus-client'} <= set(found)
    wrong = {name: (version, pins.get(name)) for name, version in found.items()
             if name not in ('wazo-like-auth', 'pip', 'setuptools') and pins.get(name) != version}
    assert not wrong, wrong
    assert not any(path.startswith(f'{SITE}/psycopg2_binary.libs/') for path in package.contents)


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
               if f'{SITE}/{name}' not in package.contents]
    assert not missing, missing


def test_packaged_configuration_loads_with_the_debian_settings(unpacked):
    config = configuration.load_config(str(unpacked / 'etc/wazo-like-auth/config.yml'),
                                       environ={})
    assert config['state_dir'] == '/var/lib/wazo-like-auth'
    assert config['log_filename'] == '/var/log/wazo-like-auth/wazo-like-auth.log'
    assert config['rest_api']['listen'] == '127.0.0.1'
    assert config['amqp']['enabled'] is True  # the Wazo services need the events


def test_packaged_program_migrates_an_empty_database(unpacked, db_uri, tmp_path):  # noqa: F811
    """The packaged virtualenv alone, moved elsewhere, runs upgrade-db with its own pinned
    libraries: the console script, the package, its migration files and psycopg2 built against
    this system's libpq are all in the .deb."""
    name = f'packaged_{uuid.uuid4().hex[:12]}'
    admin = create_engine(db.url(db_uri), isolation_level='AUTOCOMMIT')
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE {name}'))
    admin.dispose()
    target = db.url(db_uri).set(database=name).render_as_string(hide_password=False)
    (tmp_path / 'config.yml').write_text((unpacked / 'etc/wazo-like-auth/config.yml').read_text())
    env = {'PATH': SYSTEM_PATH, 'HOME': str(tmp_path), 'LANG': 'C.UTF-8',
           'PYTHONDONTWRITEBYTECODE': '1'}
    venv = unpacked / VENV.lstrip('/')
    where = subprocess.run([str(venv / 'bin/python'), '-c',
                            'import psycopg2, wazo_like_auth as w; print(w.__file__); '
                            'print(psycopg2.__libpq_version__)'],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(venv)), where.stdout
    result = subprocess.run([str(venv / 'bin/python'), str(venv / 'bin/wazo-like-auth'),
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
    architecture = subprocess.run(['dpkg', '--print-architecture'], capture_output=True,
                                  text=True, check=True).stdout.strip()
    assert fields['Architecture'] == architecture
    depends = [dep.strip() for dep in fields['Depends'].split(',')]
    major, minor = SYSTEM_PYTHON.split('.')
    # The virtualenv runs only on the python3 it was built with.
    assert f'python3 (>= {SYSTEM_PYTHON})' in depends
    assert f'python3 (<< {major}.{int(minor) + 1})' in depends
    names = {re.sub(r'\s*\(.*\)', '', dep) for dep in depends}
    assert {'adduser', 'libpq5', 'debconf'} <= {name.split('|')[0].strip() for name in names}
    # The Python libraries come in the virtualenv, not from python3-* packages.
    assert not any(name.startswith('python3-') for name in names), names


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
                 '"$PROGRAM" upgrade-db --config', 'bootstrap --config "$CONFIG" --username admin',
                 'CREDENTIALS=/root/.config/wazo-like-auth/credentials.yml', 'chmod 0600'):
        assert step in postinst, step
    # The virtualenv's programs by absolute path: a python3 on PATH lacks the pinned libraries.
    assert f'PYTHON={VENV}/bin/python' in postinst.splitlines()
    assert f'PROGRAM={VENV}/bin/wazo-like-auth' in postinst.splitlines()
    assert not re.search(r'(?<!")python3? -c', postinst)
    # The admin password reaches bootstrap on standard input, never on a command line.
    assert '--password -' in postinst
    # debhelper's snippets (systemd enable/start) come after our steps, so the service starts
    # with its user, folders, secret and database in place.
    assert postinst.index('\n        configure\n') < postinst.index('deb-systemd-invoke')


def _function(script: str, name: str) -> str:
    start = script.index(f'{name}() {{')
    return script[start:script.index('\n}\n', start)]


def test_postrm_purge_removes_what_the_package_made_and_drops_the_database_only_if_asked(
        package):
    postrm = package.control_text('postrm')
    purge = _function(postrm, 'purge')
    for step in ('$DB_FILE', 'purge_token_secret', 'rm -rf /var/lib/wazo-like-auth '
                 '/var/log/wazo-like-auth', '/root/.config/wazo-like-auth/credentials.yml',
                 'purge_database'):
        assert step in purge, step
    # The system user and group stay: an operator's file keeps their number (README.Debian).
    assert not re.search(r'\b(deluser|delgroup|userdel|groupdel)\b', postrm)
    # The token secret is deleted only with the database whose tokens derive from it.
    secret = _function(postrm, 'purge_token_secret')
    assert 'SECRET_FILE=/etc/wazo-like-auth/conf.d/50-token-secret.yml' in postrm.splitlines()
    assert secret.index('if [ "$database_dropped" = yes ]') < secret.index('rm -f "$SECRET_FILE"')
    # dropdb runs only in purge_database, after the debconf answer is yes.
    ask = _function(postrm, 'purge_database')
    for line in postrm.splitlines():
        if ('dropdb' in line or 'DROP ' in line.upper()) \
                and not line.strip().startswith(('echo', '#')):
            assert line in ask, line
            assert ask.index('db_get wazo-like-auth/purge_database') < ask.index(line)
            assert ask.index('if [ "$drop" != true ]') < ask.index(line)
    templates = package.control_text('templates')
    assert 'Template: wazo-like-auth/purge_database\nType: boolean\nDefault: false' in templates


def test_lintian_reports_no_error(built):
    if shutil.which('lintian', path=SYSTEM_PATH) is None:
        pytest.skip('lintian is not installed')
    deb, _ = built
    result = subprocess.run(['lintian', '--no-tag-display-limit', str(deb)], capture_output=True,
                            text=True, timeout=180, check=False,
                            env={**_env(deb.parent), 'USER': os.environ.get('USER', 'root')})
    errors = [line for line in result.stdout.splitlines() if line.startswith('E:')]
    assert not errors, result.stdout + result.stderr


def test_systemd_analyze_scores_the_unit_as_the_readme_says(package, tmp_path):
    """The unit's sandbox, as systemd itself rates it (lower is safer), is the one documented."""
    if shutil.which('systemd-analyze', path=SYSTEM_PATH) is None:
        pytest.skip('systemd-analyze is not installed')
    unit = tmp_path / f'{PACKAGE}.service'
    unit.write_text(package.text(_unit_path(package)))
    result = subprocess.run(['systemd-analyze', 'security', '--offline=yes', '--no-pager',
                             str(unit)], capture_output=True, text=True, timeout=60, check=False,
                            env={'PATH': SYSTEM_PATH, 'LANG': 'C.UTF-8'})
    if 'offline' in result.stderr and result.returncode != 0:
        pytest.skip(f'this systemd-analyze cannot rate a unit file: {result.stderr.strip()}')
    scored = re.search(rf'Overall exposure level for {PACKAGE}\.service: ([0-9.]+) (\w+)',
                       result.stdout)
    assert scored, result.stdout + result.stderr
    documented = re.search(r'`systemd-analyze security` scores it ([0-9.]+) (\w+)',
                           (ROOT / 'README.md').read_text())
    assert documented, 'README.md states no systemd-analyze score'
    assert scored.groups() == documented.groups(), result.stdout
