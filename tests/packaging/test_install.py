"""The Debian package installed for real, on a clean Debian 12 and a clean Debian 13.

For each release: contribs/debian/build-deb builds the package twice (the second time with a
bumped version and a changed config.yml, as the next release would) in a build root of that
release; then one clean minbase root of the release, with PostgreSQL installed but not running,
goes through install, serve, upgrade, remove and purge, with `apt-get` from Debian's archive.
The service runs as the unit's ExecStart and User= say (no systemd in a chroot). Each step's
duration is printed (pytest -s) for the README.

Skips, saying why, without root, mmdebstrap, Debian's archive or PyPI.
"""
from __future__ import annotations

import configparser
import contextlib
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import yaml

from tests.packaging import chroot

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
RELEASES = {'bookworm': 'deb12', 'trixie': 'deb13'}
CREDENTIALS = 'root/.config/wazo-like-auth/credentials.yml'
CONF_D = 'etc/wazo-like-auth/conf.d'
CONFIG = 'etc/wazo-like-auth/config.yml'
START_TIMEOUT = 60
CONFOLD = ['-o', 'Dpkg::Options::=--force-confold']


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@dataclass
class Target:
    """One release's clean root, its two builds and the ports its servers use."""
    release: str
    root: Path
    debs: list[Path]  # [first, newer]
    service_port: int = field(default_factory=free_port)
    timings: dict[str, float] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f'http://127.0.0.1:{self.service_port}{path}'

    def read(self, path: str) -> str:
        return (self.root / path).read_text()

    def apt(self, *args: str) -> subprocess.CompletedProcess:
        return chroot.run(self.root, ['apt-get', '-y', *args])

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        yield
        self.timings[name] = round(time.monotonic() - started, 1)


def _copy_tree(destination: Path, *, changed_config: bool) -> Path:
    """The source tree as the next commit would hold it; with ``changed_config``, the packaged
    config.yml gains a line, as a newer release's would."""
    names = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard', '-z'], cwd=ROOT,
                           capture_output=True, check=True).stdout.decode().split('\0')
    for name in filter(None, names):
        if (ROOT / name).exists():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name, follow_symlinks=False)
    if changed_config:
        with open(destination / CONFIG, 'a') as config:
            config.write('# (a newer release documents one more thing here)\n')
    subprocess.run(['git', 'init', '-q'], cwd=destination, check=True)
    subprocess.run(['git', 'add', '-A'], cwd=destination, check=True)
    return destination


def _build(release: str, top: Path, timings: dict[str, float]) -> list[Path]:
    base = subprocess.run(['dpkg-parsechangelog', '-l', str(ROOT / 'debian/changelog'),
                           '-S', 'Version'], capture_output=True, text=True,
                          check=True).stdout.strip()
    debs = []
    for version, changed in ((base, False), (base + '.1', True)):
        source = _copy_tree(top / f'source-{version}', changed_config=changed)
        started = time.monotonic()
        build = subprocess.run(
            [str(source / 'contribs/debian/build-deb'), release, str(top / 'debs'), version],
            env={**chroot.passed_on(), 'PATH': chroot.PATH, 'HOME': str(top),
                 'BUILD_ROOT': str(top / 'build-root')},
            capture_output=True, text=True, timeout=1800, check=False)
        assert build.returncode == 0, build.stdout[-6000:] + build.stderr[-4000:]
        timings[f'build {version}'] = round(time.monotonic() - started, 1)
        [deb] = (top / 'debs').glob(f'wazo-like-auth_{version}+{RELEASES[release]}_*.deb')
        debs.append(deb)
    return debs


@pytest.fixture(scope='class')
def target(request, tmp_path_factory) -> Iterator[Target]:
    """The release of the test's class (its ``release``), built and bootstrapped."""
    release = request.cls.release
    reason = chroot.unavailable(release)
    if reason:
        pytest.skip(f'cannot install on Debian {release}: {reason}')
    top = tmp_path_factory.mktemp(f'install-{release}')
    timings: dict[str, float] = {}
    root = top / 'root'
    try:
        debs = _build(release, top, timings)
        chroot.remove(top / 'build-root')
        started = time.monotonic()
        chroot.bootstrap(release, root, ['postgresql', 'ca-certificates'])
        timings['clean root with postgresql'] = round(time.monotonic() - started, 1)
        for deb in debs:
            shutil.copy(deb, root / 'tmp')
        yield Target(release, root, [Path('/tmp') / deb.name for deb in debs], timings=timings)
    finally:
        chroot.remove(top / 'build-root')
        chroot.remove(root)
        print(f'\nDebian {release} install test, seconds per step: {timings}')


# --- PostgreSQL and the service inside the root -------------------------------------------


def _cluster(target: Target) -> str:
    """'VERSION main' of the root's only PostgreSQL cluster, moved to a free port."""
    [conf] = (target.root / 'etc/postgresql').glob('*/main/postgresql.conf')
    text = conf.read_text()
    if '\nport = 5432' in text:  # a free port: the host may run PostgreSQL on 5432
        conf.write_text(text.replace('\nport = 5432', f'\nport = {free_port()}'))
    return f'{conf.parent.parent.name} main'


def postgresql(target: Target, action: str) -> None:
    chroot.run(target.root, ['pg_ctlcluster', *_cluster(target).split(), action])


def psql(target: Target, sql: str, database: str = 'postgres') -> str:
    return chroot.run(target.root, ['runuser', '-u', 'postgres', '--', 'psql', '-XqAt',
                                    '-d', database, '-c', sql]).stdout.strip()


def unit(target: Target) -> dict[str, str]:
    # /lib up to bookworm's debhelper, /usr/lib after (and /lib may be a link to /usr/lib).
    path = next(p for p in (target.root / 'usr/lib/systemd/system/wazo-like-auth.service',
                            target.root / 'lib/systemd/system/wazo-like-auth.service')
                if p.exists())
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(path)
    return dict(parser['Service'])


@contextlib.contextmanager
def service(target: Target) -> Iterator[subprocess.Popen]:
    """The service started as the unit does it: ExecStart as User/Group, with its UMask."""
    settings = unit(target)
    script = (f"umask {settings['UMask']}; exec runuser -u {settings['User']} "
              f"-g {settings['Group']} -- {settings['ExecStart']}")
    process = subprocess.Popen(chroot.command(target.root, ['sh', '-c', script]),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
            pytest.fail('the service did not stop within 30 s of SIGTERM')


def wait_for_status(target: Target, process: subprocess.Popen, expected: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f'the service exited {process.returncode}:\n{process.stdout.read()}')
        with contextlib.suppress(requests.RequestException):
            response = requests.get(target.url('/0.1/status'), timeout=2)
            if response.status_code == expected:
                return
        time.sleep(0.3)
    pytest.fail(f'/0.1/status never answered {expected} within {START_TIMEOUT} s')


def admin(target: Target) -> tuple[str, str]:
    credentials = yaml.safe_load(target.read(CREDENTIALS))
    return credentials['username'], str(credentials['password'])


def log_in(target: Target) -> dict:
    response = requests.post(target.url('/0.1/token'), auth=admin(target), timeout=30, json={
        'expiration': 3600, 'access_type': 'offline', 'client_id': 'packaging-test'})
    assert response.status_code == 200, response.text
    return response.json()['data']


def token_is_valid(target: Target, token: str) -> bool:
    return requests.head(target.url(f'/0.1/token/{token}'), timeout=10).status_code == 204


def refreshes(target: Target, refresh_token: str) -> bool:
    response = requests.post(target.url('/0.1/token'), timeout=30, json={
        'expiration': 60, 'refresh_token': refresh_token, 'client_id': 'packaging-test'})
    return response.status_code == 200


def schema_version(target: Target) -> str:
    return psql(target, 'SELECT version_num FROM alembic_version', 'wazo_like_auth')


def generated_files(target: Target) -> dict[str, str]:
    return {name: target.read(f'{CONF_D}/{name}') for name in ('40-db.yml', '50-token-secret.yml')}


# --- the story, step by step --------------------------------------------------------------


def install_without_postgresql_running(target: Target) -> None:
    """postinst with PostgreSQL installed but stopped: installs, says how to finish, and the
    service (its config.yml edited by hand) answers 503 until the database exists."""
    installed = target.apt('install', str(target.debs[0]))
    assert 'dpkg-reconfigure wazo-like-auth' in installed.stdout + installed.stderr
    # config.yml may hold secrets (db_uri's password, smtp.password): not world-readable.
    assert (target.root / CONFIG).stat().st_mode & 0o777 == 0o640
    assert not (target.root / CREDENTIALS).exists()
    assert re.search(r'^db_uri: postgresql://wazo_like_auth:[0-9a-f]{48}@127\.0\.0\.1:5432/',
                     target.read(f'{CONF_D}/40-db.yml'), re.M)
    with open(target.root / CONFIG, 'a') as config:  # the hand edit dpkg must keep
        config.write(f'rest_api:\n  port: {target.service_port}\n  workers: 1\n')
    with service(target) as process:
        wait_for_status(target, process, 503)
        login = requests.post(target.url('/0.1/token'), auth=('admin', 'x'), json={}, timeout=10)
        assert login.status_code == 503


def create_the_database_later(target: Target) -> dict:
    """PostgreSQL started, `dpkg-reconfigure` creates the database and the first administrator,
    the service serves; a second run of postinst changes nothing."""
    postgresql(target, 'start')
    chroot.run(target.root, ['dpkg-reconfigure', 'wazo-like-auth'])
    assert admin(target)[0] == 'admin'
    before = generated_files(target), target.read(CREDENTIALS)
    chroot.run(target.root, ['dpkg-reconfigure', 'wazo-like-auth'])
    assert (generated_files(target), target.read(CREDENTIALS)) == before
    assert ':5432/' not in target.read(f'{CONF_D}/40-db.yml')  # the server's real port
    with service(target) as process:
        wait_for_status(target, process, 200)
        tokens = log_in(target)
        assert token_is_valid(target, tokens['token'])
        token = tokens['token']
        assert not token_is_valid(target, token[:-1] + ('1' if token.endswith('0') else '0'))
    return tokens


def upgrade_from_an_older_schema(target: Target, tokens: dict) -> None:
    """The newer build over the first, the database one migration behind: postinst migrates it,
    keeps the hand-edited config.yml, the generated secret and db_uri, and every token."""
    head = schema_version(target)
    chroot.run(target.root, ['runuser', '-u', 'wazo-like-auth', '--',
                             '/opt/venvs/wazo-like-auth/bin/python', '-c', DOWNGRADE])
    assert schema_version(target) != head
    generated, edited = generated_files(target), target.read(CONFIG)
    target.apt('install', *CONFOLD, str(target.debs[1]))
    assert schema_version(target) == head
    assert target.read(CONFIG) == edited
    assert (target.root / f'{CONFIG}.dpkg-dist').exists()
    assert generated_files(target) == generated
    version = chroot.run(target.root, ['dpkg-query', '-W', '-f=${Version}', 'wazo-like-auth'])
    assert version.stdout == target.debs[1].name.split('_')[1]
    with service(target) as process:
        wait_for_status(target, process, 200)
        assert token_is_valid(target, tokens['token'])
        assert refreshes(target, tokens['refresh_token'])
        assert token_is_valid(target, log_in(target)['token'])


DOWNGRADE = '''
from alembic import command
from alembic.config import Config
from wazo_like_auth import config, db
engine = db.make_engine(config.load_config('/etc/wazo-like-auth/config.yml'), pool_size=1)
cfg = Config(str(db.MIGRATIONS / 'alembic.ini'))
cfg.set_main_option('script_location', str(db.MIGRATIONS))
with engine.begin() as connection:
    cfg.attributes['connection'] = connection
    command.downgrade(cfg, '-1')
'''


def an_invalid_configuration_is_one_line(target: Target) -> None:
    """A host name in rest_api.listen: reconfiguring succeeds, saying in one line which file
    and key; the service, started as the unit does, stops on that same line with exit status 2
    (which the unit does not restart)."""
    local = target.root / CONF_D / '90-local.yml'
    local.write_text('rest_api:\n  listen: auth.example.com\n')
    try:
        reconfigured = chroot.run(target.root, ['dpkg-reconfigure', 'wazo-like-auth'])
        said = reconfigured.stdout + reconfigured.stderr
        assert 'Traceback' not in said, said
        [line] = [line for line in said.splitlines() if 'rest_api.listen' in line]
        assert '/etc/wazo-like-auth/conf.d/90-local.yml: rest_api.listen: ' in line
        assert 'dpkg-reconfigure wazo-like-auth' in line
        assert 'RestartPreventExitStatus' in unit(target)
        with service(target) as process:
            output, _ = process.communicate(timeout=START_TIMEOUT)
            assert process.returncode == 2, output
            assert '90-local.yml: rest_api.listen: ' in output and 'Traceback' not in output
    finally:
        local.unlink()


def remove_keeps_data(target: Target) -> None:
    target.apt('remove', 'wazo-like-auth')
    assert not (target.root / 'opt/venvs/wazo-like-auth/bin/python').exists()
    for kept in (f'{CONF_D}/40-db.yml', f'{CONF_D}/50-token-secret.yml', CONFIG,
                 'var/lib/wazo-like-auth', CREDENTIALS):
        assert (target.root / kept).exists(), kept
    assert psql(target, 'SELECT count(*) FROM auth_user', 'wazo_like_auth') != '0'


def purge_asks_before_dropping_the_database(target: Target, tokens: dict) -> None:
    """Unanswered (default no), purge keeps the database and its token secret, which the
    reinstall uses again (the refresh tokens kept in the database still refresh); preseeded
    yes, it drops the database and deletes the secret."""
    secret = target.read(f'{CONF_D}/50-token-secret.yml')
    purged = target.apt('purge', 'wazo-like-auth')
    assert 'dropdb wazo_like_auth' in purged.stdout + purged.stderr
    assert [path.relative_to(target.root).as_posix() for path in
            (target.root / 'etc/wazo-like-auth').rglob('*') if path.is_file()] == [
        f'{CONF_D}/50-token-secret.yml']
    assert not (target.root / 'var/lib/wazo-like-auth').exists()
    assert not (target.root / CREDENTIALS).exists()
    # config.yml's statoverride (0640 root:wazo-like-auth) goes with the package.
    assert chroot.run(target.root, ['dpkg-statoverride', '--list', f'/{CONFIG}'],
                      check=False).stdout == ''
    # The system user and group stay (README.Debian): files may still have their number.
    assert re.search(r'^wazo-like-auth:', target.read('etc/passwd'), re.M)
    assert re.search(r'^wazo-like-auth:', target.read('etc/group'), re.M)
    assert psql(target, "SELECT count(*) FROM pg_database WHERE datname = 'wazo_like_auth'") == '1'

    target.apt('install', str(target.debs[1]))
    assert target.read(f'{CONF_D}/50-token-secret.yml') == secret
    assert (target.root / CONFIG).stat().st_mode & 0o777 == 0o640
    with open(target.root / CONFIG, 'a') as config:  # the hand edit went with the purge
        config.write(f'rest_api:\n  port: {target.service_port}\n  workers: 1\n')
    with service(target) as process:
        wait_for_status(target, process, 200)
        assert refreshes(target, tokens['refresh_token'])
    chroot.run(target.root, ['debconf-set-selections'],
               input='wazo-like-auth wazo-like-auth/purge_database boolean true\n')
    target.apt('purge', 'wazo-like-auth')
    assert not (target.root / 'etc/wazo-like-auth').exists()
    assert psql(target, "SELECT count(*) FROM pg_database WHERE datname = 'wazo_like_auth'") == '0'
    assert psql(target, "SELECT count(*) FROM pg_roles WHERE rolname = 'wazo_like_auth'") == '0'


class _OneRelease:
    """The whole life of the package on ``release``. A class per release: pytest-xdist
    (make test) runs a class on one worker, so the two releases, each minutes long, run side
    by side (tests/conftest.py schedules them first)."""
    release: str

    def test_package_installs_serves_upgrades_and_purges(self, target):
        lifecycle(target)


class TestDebian12(_OneRelease):
    release = 'bookworm'


class TestDebian13(_OneRelease):
    release = 'trixie'


def lifecycle(target: Target) -> None:
    with target.step('install, PostgreSQL stopped: 503'):
        install_without_postgresql_running(target)
    with target.step('start PostgreSQL, reconfigure twice, serve'):
        tokens = create_the_database_later(target)
    with target.step('upgrade from an older schema, serve'):
        upgrade_from_an_older_schema(target, tokens)
    with target.step('an invalid configuration'):
        an_invalid_configuration_is_one_line(target)
    with target.step('remove'):
        remove_keeps_data(target)
    with target.step('purge, reinstall, purge dropping the database'):
        purge_asks_before_dropping_the_database(target, tokens)
    postgresql(target, 'stop')
    assert not chroot.processes_inside(target.root), shlex.join(
        map(str, chroot.processes_inside(target.root)))
