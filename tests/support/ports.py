"""Ports for the servers the tests start, each test process drawing from a block of its own,
below the kernel's ephemeral range.

A port the kernel hands out (bind to port 0, then close) is free for anyone until our server
binds it: another pytest-xdist worker may be handed it meanwhile, or a client socket. A broker
restarted on its own port (the crash test) then found another worker's broker answering
there, took it for itself, and the events published to it never reached the test's consumer.
Blocks of their own leave each process's ports to that process alone, and the kernel never
hands out a port below its ephemeral range (32768 by default).

A block is a process's own while that process holds the block's first port bound: the socket
stays open until the process ends, and the kernel releases it even after a crash. So no two
processes of the machine share a block: the workers of one run, and also two runs at once (two
checkouts, two CI jobs on one host). A block chosen by xdist worker index alone was shared by
every run's ``gw0`` (and every run without xdist), each drawing the same ports in the same order:
two brokers started at once on one port (the second did not start: ``own_rabbitmq`` ended in
ERROR), and a broker stopped by its test saw another run's broker take its port (the verifier of
test_verifier_push's bus-down test subscribed to that one).
"""
from __future__ import annotations

import itertools
import os
import socket
import threading

_BASE = 20000
_BLOCK = 500
_BLOCKS = 24  # 20000-31999

_drawn = itertools.count()
_lock = threading.Lock()
# (pid, the bound first port of its block, or None when every block was held: shared then)
_claim: tuple[int, socket.socket | None] | None = None


def free_port() -> int:
    """A port of this process's block that nothing is bound to now."""
    with _lock:
        base = _block()
        for _ in range(_BLOCK - 1):
            port = base + 1 + next(_drawn) % (_BLOCK - 1)  # the first one is the claim
            if _bindable(port):
                return port
    raise RuntimeError(f'no free port in {base + 1}-{base + _BLOCK - 1}')


def _block() -> int:
    """The first port of this process's block, claimed on first use (a forked child claims
    one of its own: its parent's stays its parent's). Called under ``_lock``."""
    global _claim
    if _claim is None or _claim[0] != os.getpid():
        _claim = os.getpid(), _claimed_block()
    if _claim[1] is None:  # more processes than blocks: the worker's own, shared as before
        return _BASE + _worker_index() % _BLOCKS * _BLOCK
    return _claim[1].getsockname()[1]


def _claimed_block() -> socket.socket | None:
    """A socket bound to the first port of a block nobody holds, the worker's own block
    first (so the workers of one run rarely try the same one); None when every block is held
    (a runner with more than _BLOCKS cores, or several runs at once): the process then
    shares its worker's block, each port still checked free before it is handed out."""
    first = _worker_index() % _BLOCKS
    for index in range(_BLOCKS):
        claim = socket.socket()  # no SO_REUSEADDR: no other socket may bind this port
        try:
            claim.bind(('127.0.0.1', _BASE + (first + index) % _BLOCKS * _BLOCK))
        except OSError:
            claim.close()
            continue
        return claim
    return None


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
