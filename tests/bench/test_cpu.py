"""CPU accounting from /proc: process trees, per-window CPU seconds, waiting for idle."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from contribs.bench import cpu

BUSY = 'import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n' \
       'import sys; sys.stdout.write("done\\n"); sys.stdout.flush(); time.sleep(30)'


@pytest.fixture
def busy_child():
    child = subprocess.Popen([sys.executable, '-c', BUSY], stdout=subprocess.PIPE, text=True)
    yield child
    child.kill()
    child.wait()


def test_tree_holds_descendants_and_drops_excluded_subtrees(busy_child):
    assert busy_child.pid in cpu.tree([os.getpid()])
    assert busy_child.pid not in cpu.tree([os.getpid()], exclude=[busy_child.pid])
    assert cpu.parent_of(busy_child.pid) == os.getpid()
    assert cpu.command_name(busy_child.pid).startswith('python')


def test_probe_counts_cpu_spent_in_its_window(busy_child):
    probe = cpu.CpuProbe({'child': lambda: {busy_child.pid}, 'nobody': lambda: set()})
    probe.start()
    assert busy_child.stdout.readline() == 'done\n'
    probe.stop()
    assert probe.used['child'] >= 0.2
    assert probe.used['nobody'] is None


def test_wait_idle_returns_once_the_processes_are_idle(busy_child):
    assert busy_child.stdout.readline() == 'done\n'
    waited = cpu.wait_idle(lambda: {busy_child.pid}, sample=0.1, limit=20)
    assert waited < 20
