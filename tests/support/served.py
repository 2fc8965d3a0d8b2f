"""The real service as a process (`wazo-like-auth serve`), started and stopped by the e2e
tests."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from tests.support.polling import wait_until
from tests.support.ports import free_port  # noqa: F401 - what tests import from here

START_TIMEOUT = 30
STOP_TIMEOUT = 15


def serve_command(*args: str) -> list[str]:
    return [sys.executable, '-m', 'wazo_like_auth.cli', 'serve', *args]


def clean_environment() -> dict[str, str]:
    """Our environment minus the variables the service reads, so only the test configures it."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith('WAZO_LIKE_AUTH_') and k != 'XIVO_UUID'}


def write_config(path: Path, settings: dict) -> str:
    path.write_text(yaml.safe_dump(settings))
    return str(path)


def embedded_serve(tmp_path: Path, state_dir: Path,
                   listen: str | None = None) -> tuple[int, list[str]]:
    """The port and command line of a one-worker serve on its embedded PostgreSQL of
    ``state_dir`` (bcrypt cost 4), on ``listen`` if given."""
    port = free_port()
    rest = {'port': port, 'workers': 1, **({'listen': listen} if listen else {})}
    config = write_config(tmp_path / 'config.yml', {'rest_api': rest, 'password_hash_rounds': 4})
    return port, serve_command('--config', config, '--state-dir', str(state_dir))


class Service:
    def __init__(self, process: subprocess.Popen, port: int, stdout: Path, stderr: Path,
                 host: str = '127.0.0.1'):
        self.process = process
        self.port = port
        self.stdout = stdout
        self.stderr = stderr
        self.host = host  # as a URL writes it: [::1]

    def url(self, path: str) -> str:
        return f'http://{self.host}:{self.port}{path}'

    def output(self) -> str:
        return self.stdout.read_text() + '\n--- stderr ---\n' + self.stderr.read_text()[-5000:]

    def wait_until_up(self) -> None:
        if not wait_until(self._up, START_TIMEOUT, interval=0.2):
            pytest.fail(f'service not up after {START_TIMEOUT}s:\n{self.output()}')

    def _up(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f'service exited with {self.process.returncode}:\n{self.output()}')
        with contextlib.suppress(requests.RequestException):
            response = requests.get(self.url('/0.1/status'), timeout=1)
            if response.status_code == 200:
                assert response.json()['database'] == {'status': 'ok'}
                return True
        return False

    def terminate(self) -> int:
        """SIGTERM; the exit code, failing the test if it takes longer than STOP_TIMEOUT."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f'service still running {STOP_TIMEOUT}s after SIGTERM')


@contextlib.contextmanager
def service(args: list[str], port: int, logs: Path,
            host: str = '127.0.0.1') -> Iterator[Service]:
    logs.mkdir(parents=True, exist_ok=True)
    stdout, stderr = logs / 'stdout', logs / 'stderr'
    with open(stdout, 'w') as out, open(stderr, 'w') as err:
        process = subprocess.Popen(args, stdout=out, stderr=err, env=clean_environment(),
                                   start_new_session=True)
    try:
        yield Service(process, port, stdout, stderr, host)
    finally:
        # The whole process group (its own session): granian's workers outlive a killed
        # master, and an orphaned worker would keep serving and holding database connections.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def log_in(svc: Service, auth: tuple[str, str], prefix: str = '/api/auth/0.1') -> dict:
    response = requests.post(svc.url(f'{prefix}/token'), auth=auth, json={'expiration': 60},
                             timeout=10)
    assert response.status_code == 200, response.text
    return response.json()['data']
