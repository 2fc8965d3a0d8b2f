"""CPU seconds of process trees, read from /proc/<pid>/stat.

Each process counts utime + stime plus cutime + cstime, so a child that exits during a
scenario (a PostgreSQL backend, a recycled worker) still counts: its time moves into its
parent's c-fields. Readings are per pid and subtracted per pid, so processes born during the
scenario count from zero.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

TICK = os.sysconf('SC_CLK_TCK')


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of ``pid``, or None if it is gone."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            raw = f.read()
    except OSError:
        return None
    fields = raw[raw.rfind(')') + 2:].split()
    ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return int(fields[1]), ticks / TICK


def parent_of(pid: int) -> int | None:
    stat = _stat(pid)
    return stat[0] if stat else None


def command_name(pid: int) -> str:
    try:
        with open(f'/proc/{pid}/comm') as f:
            return f.read().strip()
    except OSError:
        return ''


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat:
                children.setdefault(stat[0], []).append(int(entry))
    return children


def tree(roots: Iterable[int], exclude: Iterable[int] = ()) -> set[int]:
    """``roots`` and all their descendants, without the subtrees rooted at ``exclude``."""
    children = _children_map()
    excluded = set(exclude)
    found: set[int] = set()
    pending = [pid for pid in roots if pid not in excluded]
    while pending:
        pid = pending.pop()
        if pid in found:
            continue
        found.add(pid)
        pending.extend(c for c in children.get(pid, ()) if c not in excluded)
    return found


def cpu_seconds(pids: Iterable[int]) -> dict[int, float]:
    readings = {}
    for pid in pids:
        stat = _stat(pid)
        if stat:
            readings[pid] = stat[1]
    return readings


def rss_megabytes(pids: Iterable[int]) -> dict[int, float]:
    """Resident memory of each process, in MiB (processes gone meanwhile are left out)."""
    readings = {}
    for pid in pids:
        try:
            with open(f'/proc/{pid}/status') as status:
                for line in status:
                    if line.startswith('VmRSS:'):
                        readings[pid] = int(line.split()[1]) / 1024
                        break
        except OSError:
            continue
    return readings


@dataclass
class CpuProbe:
    """A load-generator probe measuring named groups of processes over the window.

    Each group is a function returning its current pids (trees change: workers, backends).
    After ``stop()``, ``used[name]`` holds the group's CPU seconds (None when it has no pid).
    """
    groups: dict[str, Callable[[], set[int]]]
    before: dict[str, dict[int, float]] = field(default_factory=dict)
    used: dict[str, float | None] = field(default_factory=dict)

    def start(self) -> None:
        self.before = {name: cpu_seconds(pids()) for name, pids in self.groups.items()}

    def stop(self) -> None:
        for name, pids in self.groups.items():
            current = pids()
            if not current and not self.before.get(name):
                self.used[name] = None
                continue
            after = cpu_seconds(current)
            start = self.before.get(name, {})
            self.used[name] = sum(value - start.get(pid, 0.0) for pid, value in after.items())


def runnable(pids: Iterable[int]) -> bool:
    """Whether a thread of ``pids`` is running or waiting for a core (state R)."""
    for pid in pids:
        try:
            tasks = os.listdir(f'/proc/{pid}/task')
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f'/proc/{pid}/task/{task}/stat') as f:
                    raw = f.read()
            except OSError:
                continue
            if raw[raw.rfind(')') + 2:].startswith('R'):
                return True
    return False


def wait_idle(pids: Callable[[], set[int]], *, below: float = 0.15, sample: float = 0.3,
              limit: float = 30.0) -> float:
    """Wait until the processes use less than ``below`` cores over ``sample`` seconds and none
    of their threads is runnable (or ``limit`` passed); returns the seconds waited.

    Between scenarios: a server still working off the queue of the previous one (a login
    backlog at bcrypt cost, requests left over by a warm-up) would be measured as slowness of
    the next one. On a busy machine, low CPU use alone does not tell: niced bcrypt threads
    starved of a core use almost none while their backlog waits, and that backlog's CPU would
    be charged to the next window without its responses (the likely cause of a login row at
    358 ms of CPU per login, for a 247 ms bcrypt verify, in a run at load 8-12).
    """
    started = time.monotonic()
    while time.monotonic() - started < limit:
        current = pids()
        before = cpu_seconds(current)
        time.sleep(sample)
        after = cpu_seconds(current)
        used = sum(value - before.get(pid, value) for pid, value in after.items())
        if used / sample < below and not runnable(current):
            break
    return time.monotonic() - started
