"""panva's openid-client (npm, OpenID Certified relying party) as a test tool: one Node process
running tests/interop/relying_party.mjs, driven a step at a time (discover, authorize,
callback, userinfo, refresh, ...), each step validated by the library itself.

Its package is installed by `make .venv/.installed-test` (`npm ci` in tests/interop, from
package-lock.json); `.ci/install-deps` installs Node. Without Node 18 or newer or without the
package the tests skip, saying why.
"""
from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

INTEROP = Path(__file__).resolve().parents[1] / 'interop'
SCRIPT = INTEROP / 'relying_party.mjs'
NODE = shutil.which('node')


def _node_major() -> int:
    if not NODE:
        return 0
    version = subprocess.run([NODE, '--version'], capture_output=True, text=True,
                             timeout=30, check=False).stdout.strip()
    try:
        return int(version.lstrip('v').split('.')[0])
    except ValueError:
        return 0


def _missing() -> str | None:
    """Why openid-client cannot run here, or None."""
    major = _node_major()
    if major < 18:
        return ('Node.js 18 or newer is not installed (run .ci/install-deps)' if not major
                else f'Node.js {major} is too old for openid-client 6 (18 or newer)')
    if not (INTEROP / 'node_modules' / 'openid-client' / 'package.json').is_file():
        return ('openid-client is not installed (`make .venv/.installed-test` runs '
                '`npm ci` in tests/interop, which needs the npm registry; run it again there)')
    return None


MISSING = _missing()
needs_openid_client = pytest.mark.skipif(MISSING is not None, reason=MISSING or '')


class RelyingPartyError(AssertionError):
    """openid-client refused an answer of the provider (or a step failed)."""

    def __init__(self, op: str, error: dict):
        super().__init__(f'openid-client {op}: {json.dumps(error)[:3000]}')
        self.error = error


class OpenIDClient:
    """The Node process; ``rp('op', **args)`` runs a step and returns its result."""

    def __init__(self):
        # Node 18 (Debian 12) has WebCrypto only behind a flag; 19 and newer by default.
        flags = ['--experimental-global-webcrypto'] if _node_major() < 19 else []
        self._process = subprocess.Popen(
            [NODE, *flags, str(SCRIPT)], cwd=INTEROP, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
            env={**os.environ, 'NODE_NO_WARNINGS': '1'})

    def __call__(self, op: str, timeout: float = 20, **args):
        answer = self.attempt(op, timeout, **args)
        if not answer['ok']:
            raise RelyingPartyError(op, answer['error'])
        return answer['result']

    def attempt(self, op: str, timeout: float = 20, **args) -> dict:
        """The step's answer, ``{"ok": false, "error": ...}`` included."""
        self.send(op, **args)
        return self.receive(op, timeout)

    def send(self, op: str, **args) -> None:
        """Starts a step (a device grant's polling) to ``receive`` its answer later."""
        self._process.stdin.write(json.dumps({'op': op, **args}) + '\n')
        self._process.stdin.flush()

    def receive(self, op: str, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while not select.select([self._process.stdout], [], [], 0.1)[0]:
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f'openid-client {op}: no answer; stderr: '
                                     f'{self._stop()[-3000:]}')
        return json.loads(self._process.stdout.readline())

    def _stop(self) -> str:
        """Ends the process; what it wrote on stderr."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait(timeout=10)
        stderr = self._process.stderr.read()
        for stream in (self._process.stdin, self._process.stdout, self._process.stderr):
            stream.close()
        return stderr

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._process.stdin.close()  # the script ends at the end of its input
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=5)
        self._stop()


@pytest.fixture
def openid_client():
    rp = OpenIDClient()
    yield rp
    rp.close()
