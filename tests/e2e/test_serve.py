"""The real service: `wazo-like-auth serve` as a process, spoken to over HTTP."""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from tests.support.polling import wait_until
from tests.support.served import (Service, clean_environment, embedded_serve, free_port, log_in,
                                  serve_command, service, write_config)

pytestmark = pytest.mark.e2e

ADMIN = ('e2e-admin', 'e2e-password-1234')
TOKEN_FORM = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')


# --- with a configured database -----------------------------------------------------------


@pytest.fixture
def configured(tmp_path, db_uri, engine) -> tuple[list[str], int]:
    port = free_port()
    config = write_config(tmp_path / 'config.yml', {
        'db_uri': db_uri,
        'rest_api': {'listen': '127.0.0.1', 'port': port, 'workers': 1},
        'state_dir': str(tmp_path / 'state'),
        'bootstrap_user_on_startup': True,
        'bootstrap_user_username': ADMIN[0],
        'bootstrap_user_password': ADMIN[1],
        'password_hash_rounds': 4,
        'token_secret': 'e2e-token-secret-' + 'z' * 32,
    })
    return serve_command('--config', config), port


def test_served_service_logs_in_the_bootstrap_user_and_stops_on_sigterm(configured, tmp_path):
    args, port = configured
    with service(args, port, tmp_path / 'logs') as svc:
        svc.wait_until_up()
        data = log_in(svc, ADMIN)
        assert TOKEN_FORM.match(data['token'])
        for prefix in ('/0.1', '/api/auth/0.1'):
            response = requests.head(svc.url(f"{prefix}/token/{data['token']}"), timeout=10)
            assert response.status_code == 204
        assert svc.terminate() == 0
    logged = svc.output()
    assert re.search(r'serving with \d+ workers of 64 threads each', logged), logged
    assert 'quite high' not in logged  # granian's warning about those threads: ours on purpose


def test_served_service_answers_errors_in_the_envelope(configured, tmp_path):
    args, port = configured
    with service(args, port, tmp_path / 'logs') as svc:
        svc.wait_until_up()
        unknown = requests.get(svc.url('/0.1/token/not-a-token'), timeout=10)
        failed = requests.post(svc.url('/0.1/token'), auth=(ADMIN[0], 'wrong'), json={},
                               timeout=10)
        too_long = requests.get(svc.url('/0.1/token/' + 'a' * 17_000), timeout=10)
        for response, status in ((unknown, 404), (failed, 401), (too_long, 414)):
            assert response.status_code == status
            assert response.headers['Content-Type'].startswith('application/json')
            assert response.json()['status_code'] == status
        assert failed.json()['message'] == 'Authentication Failed'
        assert svc.terminate() == 0


# --- the embedded default -----------------------------------------------------------------


def postgres_pids(data_dir: Path) -> list[int]:
    """Processes whose command line names ``data_dir`` (the embedded PostgreSQL)."""
    pids = []
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmdline = (entry / 'cmdline').read_bytes().replace(b'\0', b' ').decode()
            if str(data_dir) in cmdline and 'postgres' in cmdline:
                pids.append(int(entry.name))
    return pids


def wait_for_no_postgres(data_dir: Path, timeout: float = 5) -> list[int]:
    wait_until(lambda: not postgres_pids(data_dir), timeout, interval=0.1)
    return postgres_pids(data_dir)


def curl_line(svc: Service) -> str:
    def printed() -> str:
        return next((line.strip() for line in svc.stdout.read_text().splitlines()
                     if line.strip().startswith('curl ')), '')
    return wait_until(printed, 5, interval=0.1) or pytest.fail(
        f'no curl line printed:\n{svc.output()}')


@pytest.fixture
def state_dir() -> Iterator[Path]:
    # Not tmp_path: as root, the unprivileged PostgreSQL user must traverse this directory,
    # and pytest makes its temporary directories 0700.
    path = Path(tempfile.mkdtemp(prefix='wazo-like-auth-e2e-'))
    path.chmod(0o711)
    try:
        yield path
    finally:
        for pid in postgres_pids(path):  # only if the service failed to stop its database
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(path, ignore_errors=True)


def test_sigterm_while_the_embedded_database_starts_stops_it_too(state_dir, tmp_path):
    config = write_config(tmp_path / 'config.yml', {
        'rest_api': {'port': free_port(), 'workers': 1}, 'password_hash_rounds': 4})
    process = subprocess.Popen(serve_command('--config', config, '--state-dir', str(state_dir)),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=clean_environment())
    try:
        # The server runs and has written its lock file, it is not ready yet (initdb, before
        # its log is opened, writes a postmaster.pid of its own).
        wait_until(lambda: (state_dir / 'postgresql/postgresql.log').exists()
                   and (state_dir / 'postgresql/data/postmaster.pid').exists(), 60)
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    finally:
        process.kill()
    assert wait_for_no_postgres(state_dir) == []


# `wazo-like-auth serve` sending itself a real SIGNAL once, when the embedded start reaches
# POINT, an event of sys.setprofile ('call' or 'return' of a function, 'c_return' of a builtin;
# a function named alone or after its module, a module's own code as MODULE.<module>) from the
# moment EmbeddedPostgres.start is called: only the instant is chosen.
SIGNALLING_SERVE = '''
import os, signal, sys
(event_wanted, name_wanted), signum = sys.argv[1].split(':'), getattr(signal, sys.argv[2])
state = {'armed': False, 'sent': False}
def profile(frame, event, arg):
    if event == 'call' and frame.f_code.co_qualname == 'EmbeddedPostgres.start':
        state['armed'] = True
    if not state['armed'] or state['sent'] or event != event_wanted:
        return
    name = getattr(arg, '__name__', '') if event.startswith('c_') else frame.f_code.co_qualname
    if name_wanted in (name, f"{frame.f_globals.get('__name__')}.{name}"):
        state['sent'] = True
        os.kill(os.getpid(), signum)
sys.setprofile(profile)
from wazo_like_auth.cli import main
sys.exit(main(sys.argv[3:]))
'''

START_POINTS = [
    'call:EmbeddedPostgres.start',
    'c_return:fork_exec',  # inside Popen: the server forked, Popen not returned yet
    'return:Popen.__init__',  # the server's Popen made, not yet held by EmbeddedPostgres
    'call:EmbeddedPostgres._wait_ready',
    # psycopg2's first import, in _wait_ready: its C part imports psycopg2.errors and clears
    # any error raised meanwhile, the handler's SystemExit included.
    'call:psycopg2.errors.<module>',
    'call:EmbeddedPostgres._create_database',
    'return:EmbeddedPostgres.start',
    'return:_started',  # the embedded server started, its db_uri not yet used
    'c_return:fork',  # the preparation's child forked, not yet waited for
    'call:Server.run',
]


@pytest.mark.parametrize('point, stop', [(point, 'SIGTERM') for point in START_POINTS] + [
    ('c_return:fork_exec', 'SIGINT'), ('return:Popen.__init__', 'SIGINT'),
    ('c_return:fork', 'SIGINT')])
def test_a_signal_at_any_point_of_the_embedded_start_leaves_no_postgresql(point, stop,
                                                                         state_dir, tmp_path):
    config = write_config(tmp_path / 'config.yml', {
        'rest_api': {'port': free_port(), 'workers': 1}, 'password_hash_rounds': 4})
    process = subprocess.Popen(
        [sys.executable, '-c', SIGNALLING_SERVE, point, stop,
         'serve', '--config', config, '--state-dir', str(state_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=clean_environment())
    try:
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 0, err.decode()[-3000:]
    assert (state_dir / 'postgresql/data/PG_VERSION').exists()  # it got as far as the start
    assert wait_for_no_postgres(state_dir) == []


def test_embedded_default_prints_a_working_curl_line(state_dir, tmp_path):
    port, args = embedded_serve(tmp_path, state_dir)
    with service(args, port, tmp_path / 'logs') as svc:
        svc.wait_until_up()
        line = curl_line(svc)
        assert '-u admin:' in line
        result = subprocess.run(line, shell=True, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        token = yaml.safe_load(result.stdout)['data']['token']
        assert TOKEN_FORM.match(token)
        assert requests.head(svc.url(f'/0.1/token/{token}'), timeout=10).status_code == 204
        for secret_file in ('credentials', 'token_secret'):
            mode = stat.S_IMODE((state_dir / secret_file).stat().st_mode)
            assert mode == 0o600, (secret_file, oct(mode))
        password = line.split('-u admin:')[1].split()[0].strip("'")
        assert password in (state_dir / 'credentials').read_text()
        assert svc.terminate() == 0
    assert wait_for_no_postgres(state_dir) == []


def test_the_first_start_curl_line_reaches_an_ipv6_listen_address(state_dir, tmp_path):
    """The line works as pasted on ::1 too: the host in brackets (http://[::1]:PORT/...)."""
    port, args = embedded_serve(tmp_path, state_dir, listen='::1')
    with service(args, port, tmp_path / 'logs', host='[::1]') as svc:
        svc.wait_until_up()
        line = curl_line(svc)
        result = subprocess.run(line, shell=True, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, (line, result.stderr)
        assert TOKEN_FORM.match(yaml.safe_load(result.stdout)['data']['token'])
        assert svc.terminate() == 0
