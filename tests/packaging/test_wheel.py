"""The pinned dependency set outside the Debian package: `python -m build` makes a wheel, which
installs with `-c constraints.txt` into a clean virtualenv and runs.

Skips, saying why, when PyPI cannot be reached.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = str(ROOT / 'constraints.txt')


def _run(args: list[str], cwd: Path, timeout: int = 600) -> str:
    # No variables of the test's own virtualenv, so pip and python see only the new one.
    env = {k: v for k, v in os.environ.items()
           if k not in ('VIRTUAL_ENV', 'PYTHONPATH', 'PYTHONHOME')}
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                            env=env, check=False)
    assert result.returncode == 0, f'{args}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}'
    return result.stdout


def _venv(path: Path) -> Path:
    subprocess.run([sys.executable, '-m', 'venv', str(path)], check=True, timeout=120)
    return path / 'bin'


@pytest.fixture(scope='module')
def pypi():
    try:
        with urllib.request.urlopen('https://pypi.org/simple/build/', timeout=15):
            pass
    except OSError as e:
        pytest.skip(f'PyPI is not reachable: {e}')


def test_built_wheel_installs_with_the_pins_in_a_clean_virtualenv_and_runs(pypi, tmp_path):
    source = tmp_path / 'source'  # never build inside the work tree (build/, *.egg-info)
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        '.venv', '.git', '*.egg-info', 'build', 'dist', '__pycache__', '.pytest_cache'))
    builder = _venv(tmp_path / 'builder')
    _run([str(builder / 'pip'), 'install', '--quiet', '-c', CONSTRAINTS, 'build'], tmp_path)
    _run([str(builder / 'python'), '-m', 'build', '--wheel', '--outdir', str(tmp_path / 'dist'),
          str(source)], tmp_path)
    [wheel] = (tmp_path / 'dist').glob('wazo_like_auth-*-py3-none-any.whl')

    clean = _venv(tmp_path / 'clean')
    _run([str(clean / 'pip'), 'install', '--quiet', '-c', CONSTRAINTS, str(wheel)], tmp_path)
    installed = dict(line.split('==') for line in _run(
        [str(clean / 'pip'), 'freeze', '--exclude-editable'], tmp_path).split() if '==' in line)
    pins = dict(line.split('==') for line in Path(CONSTRAINTS).read_text().splitlines()
                if '==' in line and not line.startswith('#'))
    assert 'Flask' in installed and 'SQLAlchemy' in installed
    assert {name: version for name, version in installed.items()
            if name != 'wazo-like-auth' and pins.get(name) != version} == {}

    help_text = _run([str(clean / 'wazo-like-auth'), 'serve', '--help'], tmp_path)
    assert '--config' in help_text and '--listen' in help_text
    migrations = _run([str(clean / 'python'), '-c', 'from wazo_like_auth import db; '
                       'print(sorted(p.name for p in (db.MIGRATIONS / "versions").glob("0*.py")))'],
                      tmp_path)
    assert '0001_initial.py' in migrations
