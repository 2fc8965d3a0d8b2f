"""Ports for the servers the tests start, each test process drawing from a block of its own,
below the kernel's ephemeral range.

A port the kernel hands out (bind to port 0, then close) is free for anyone until our server
binds it: another pytest-xdist worker may be handed it meanwhile, or a client socket. A broker
restarted on its own port (the crash test) then found another worker's broker answering
there, took it for itself, and the events published to it never reached the test's consumer.
Blocks of their own leave each worker's ports to that worker alone, and the kernel never hands
out a port below its ephemeral range (32768 by default).
"""
from __future__ import annotations

import itertools
import os
import socket
import threading

_BASE = 20000
_BLOCK = 500
_WORKERS = 24  # blocks: 20000-31999

_drawn = itertools.count()
_lock = threading.Lock()


def free_port() -> int:
    """A port of this process's block that nothing is bound to now."""
    base = _BASE + (_worker_index() % _WORKERS) * _BLOCK
    with _lock:
        for _ in range(_BLOCK):
            port = base + next(_drawn) % _BLOCK
            if _bindable(port):
                return port
    raise RuntimeError(f'no free port in {base}-{base + _BLOCK - 1}')


def _worker_index() -> int:
    name = os.environ.get('PYTEST_XDIST_WORKER', '')  # gw0, gw1, ...; unset: one process
    return int(name[2:]) if name.startswith('gw') and name[2:].isdigit() else 0


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(('127.0.0.1', port))
        except OSError:
            return False
    return True
