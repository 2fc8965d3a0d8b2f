"""Review (rev8, this session's change): the test-port harness (tests/support/ports.py).

A block of ports is now claimed by the process that uses it; there are 24 blocks. ``make test``
runs ``pytest -n auto``: one xdist worker per CPU, each claiming a block. On a CI runner with
more than 24 CPUs (or two runs at once on one host, which the module's docstring says it
supports), the 25th process found no block and every test of its that needs a PostgreSQL,
a RabbitMQ or a served app ended in ERROR; before the change, it shared a block.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import ports

ROOT = Path(__file__).resolve().parents[2]
HOLD = ('import sys\n'
        'from tests.support.ports import free_port\n'
        'print(free_port(), flush=True)\n'
        'sys.stdin.read()\n')  # keeps its block until told to end


def test_more_test_processes_than_blocks_each_get_a_port():
    """One more xdist worker than there are blocks (``-n auto`` on a 25-core runner): each
    must still be given a port to start its PostgreSQL on."""
    workers = []
    try:
        for index in range(ports._BLOCKS + 1):
            env = {**os.environ, 'PYTEST_XDIST_WORKER': f'gw{index}'}
            workers.append(subprocess.Popen(
                [sys.executable, '-c', HOLD], cwd=ROOT, env=env, text=True,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        answers = [worker.stdout.readline().strip() for worker in workers]
    finally:
        for worker in workers:
            worker.stdin.close()
        errors = [worker.stderr.read() for worker in workers]
        for worker in workers:
            worker.wait(timeout=30)

    failed = [(i, errors[i].strip().splitlines()[-1:]) for i, a in enumerate(answers)
              if not a.isdigit()]
    assert failed == [], failed
