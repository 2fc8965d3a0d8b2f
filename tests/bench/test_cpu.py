"""CPU accounting from /proc: process trees, per-window CPU seconds, waiting for idle."""
from __future__ import annotations

import os
import subprocess
import sys
import time

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


def test_a_process_starved_of_cpu_is_runnable_not_idle():
    # Two busy siblings at normal priority and a niced one: the niced one gets almost no CPU
    # (about 1 % of a core) yet has work waiting; waiting for idle must not take it for idle.
    spin = 'while True: pass'
    children = [subprocess.Popen([sys.executable, '-c', spin]) for _ in range(2)]
    children.append(subprocess.Popen([sys.executable, '-c', 'import os; os.nice(19)\n' + spin]))
    try:
        assert cpu.runnable({children[-1].pid})
        assert cpu.wait_idle(lambda: {children[-1].pid}, sample=0.1, limit=1.0) >= 1.0
    finally:
        for child in children:
            child.kill()
            child.wait()


def test_a_sleeping_process_is_not_runnable(busy_child):
    assert busy_child.stdout.readline() == 'done\n'
    deadline = time.monotonic() + 5  # it runs a moment more before it sleeps
    while cpu.runnable({busy_child.pid}) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not cpu.runnable({busy_child.pid})
