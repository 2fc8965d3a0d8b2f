"""The real service: `wazo-like-auth serve` as a process, spoken to over HTTP."""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

pytestmark = pytest.mark.e2e

ADMIN = ('e2e-admin', 'e2e-password-1234')
TOKEN_FORM = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
START_TIMEOUT = 30
STOP_TIMEOUT = 15


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def serve_command(*args: str) -> list[str]:
    return [sys.executable, '-m', 'wazo_like_auth.cli', 'serve', *args]


def clean_environment() -> dict[str, str]:
    """Our environment minus the variables the service reads, so only the test configures it."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith('WAZO_LIKE_AUTH_') and k != 'XIVO_UUID'}


def write_config(path: Path, settings: dict) -> str:
    path.write_text(yaml.safe_dump(settings))
    return str(path)


class Service:
    def __init__(self, process: subprocess.Popen, port: int, stdout: Path, stderr: Path):
        self.process = process
        self.port = port
        self.stdout = stdout
        self.stderr = stderr

    def url(self, path: str) -> str:
        return f'http://127.0.0.1:{self.port}{path}'

    def output(self) -> str:
        return self.stdout.read_text() + '\n--- stderr ---\n' + self.stderr.read_text()[-5000:]

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f'service exited with {self.process.returncode}:\n{self.output()}')
            with contextlib.suppress(requests.RequestException):
                response = requests.get(self.url('/0.1/status'), timeout=1)
                if response.status_code == 200:
                    assert response.json()['database'] == {'status': 'ok'}
                    return
            time.sleep(0.2)
        pytest.fail(f'service not up after {START_TIMEOUT}s:\n{self.output()}')

    def terminate(self) -> int:
        """SIGTERM; the exit code, failing the test if it takes longer than STOP_TIMEOUT."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f'service still running {STOP_TIMEOUT}s after SIGTERM')


@contextlib.contextmanager
def service(args: list[str], port: int, logs: Path) -> Iterator[Service]:
    logs.mkdir(parents=True, exist_ok=True)
    stdout, stderr = logs / 'stdout', logs / 'stderr'
    with open(stdout, 'w') as out, open(stderr, 'w') as err:
        process = subprocess.Popen(args, stdout=out, stderr=err, env=clean_environment(),
                                   start_new_session=True)
    try:
        yield Service(process, port, stdout, stderr)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def log_in(svc: Service, auth: tuple[str, str], prefix: str = '/api/auth/0.1') -> dict:
    response = requests.post(svc.url(f'{prefix}/token'), auth=auth, json={'expiration': 60},
                             timeout=10)
    assert response.status_code == 200, response.text
    return response.json()['data']


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
    deadline = time.monotonic() + timeout
    while (pids := postgres_pids(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return pids


def curl_line(svc: Service) -> str:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for line in svc.stdout.read_text().splitlines():
            if line.strip().startswith('curl '):
                return line.strip()
        time.sleep(0.1)
    pytest.fail(f'no curl line printed:\n{svc.output()}')


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


def test_embedded_default_prints_a_working_curl_line(state_dir, tmp_path):
    port = free_port()
    config = write_config(tmp_path / 'config.yml', {
        'rest_api': {'port': port, 'workers': 1}, 'password_hash_rounds': 4})
    args = serve_command('--config', config, '--state-dir', str(state_dir))
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
