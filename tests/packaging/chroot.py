"""A clean Debian root (mmdebstrap, from Debian's archive) that the packaging tests install the
package into and run it in, as root, with `chroot`.

Every command runs in its own mount namespace with /proc mounted there (`unshare --mount-proc`),
so nothing is ever mounted on the host: removing the root cannot reach outside it. Processes
left running inside (PostgreSQL, the service) are found by their root folder and killed.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

MIRROR = os.environ.get('MIRROR', 'http://deb.debian.org/debian')
PYPI = 'https://pypi.org/simple/pip/'
PATH = '/usr/sbin:/usr/bin:/sbin:/bin'
ENV = {'PATH': PATH, 'HOME': '/root', 'LANG': 'C.UTF-8', 'DEBIAN_FRONTEND': 'noninteractive'}


def passed_on() -> dict[str, str]:
    """The variables contribs/debian/build-deb passes on to pip and mmdebstrap."""
    return {name: os.environ[name] for name in ('MIRROR', 'PIP_INDEX_URL', 'PIP_CERT',
                                                 'SSL_CERT_FILE') if name in os.environ}


def unavailable(release: str) -> str | None:
    """Why a root of ``release`` cannot be made here (None when it can)."""
    if os.geteuid() != 0:
        return 'not root: mmdebstrap --mode=root and chroot need root (CI runs as root)'
    missing = [tool for tool in ('mmdebstrap', 'unshare', 'chroot', 'dpkg-parsechangelog')
               if shutil.which(tool, path=PATH) is None]
    if missing:
        return f'{", ".join(missing)} missing: run .ci/install-deps'
    for url in (f'{MIRROR}/dists/{release}/InRelease', PYPI):
        try:
            with urllib.request.urlopen(url, timeout=15):
                pass
        except OSError as e:
            return f'{url} is not reachable: {e}'
    return None


def bootstrap(release: str, root: Path, include: list[str]) -> None:
    """A minbase root of ``release`` holding ``include``, without documentation, apt lists kept
    (so apt-get resolves dependencies without an update)."""
    subprocess.run(
        ['mmdebstrap', '--variant=minbase', '--mode=root', '--quiet',
         '--include=' + ','.join(include), '--skip=cleanup/apt/lists',
         '--aptopt=APT::Install-Recommends "false"',
         '--dpkgopt=path-exclude=/usr/share/doc/*', '--dpkgopt=path-exclude=/usr/share/man/*',
         '--dpkgopt=path-exclude=/usr/share/locale/*', release, str(root), MIRROR],
        check=True, capture_output=True, timeout=900, env={'PATH': PATH})
    (root / 'dev/shm').mkdir(mode=0o1777, exist_ok=True)
    (root / 'dev/shm').chmod(0o1777)


def command(root: Path, args: list[str], **env: str) -> list[str]:
    return ['unshare', '--mount-proc=' + str(root / 'proc'), 'chroot', str(root),
            'env', '-i', *(f'{k}={v}' for k, v in {**ENV, **env}.items()), *args]


def run(root: Path, args: list[str], *, input: str | None = None, check: bool = True,
        timeout: int = 600, **env: str) -> subprocess.CompletedProcess:
    result = subprocess.run(command(root, args, **env), input=input, capture_output=True,
                            text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f'{args} exited {result.returncode}:\n{result.stdout[-4000:]}\n'
                             f'--- stderr ---\n{result.stderr[-4000:]}')
    return result


def sh(root: Path, script: str, **kwargs) -> subprocess.CompletedProcess:
    return run(root, ['sh', '-ec', script], **kwargs)


def processes_inside(root: Path) -> list[int]:
    pids = []
    for entry in Path('/proc').iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(entry / 'root') == str(root):
                    pids.append(int(entry.name))
    return pids


def kill_everything_inside(root: Path) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in processes_inside(root):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while processes_inside(root) and time.monotonic() < deadline:
            time.sleep(0.1)


def remove(root: Path) -> None:
    kill_everything_inside(root)
    subprocess.run(['rm', '-rf', '--one-file-system', str(root)], check=False, timeout=300)
