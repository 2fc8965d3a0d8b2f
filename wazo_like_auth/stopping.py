"""SIGINT and SIGTERM while a command prepares what it serves: they stop it cleanly, and are
never lost (commands.serve)."""
from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from typing import NoReturn

from .logs import get_logger

logger = get_logger(__name__)

# What stops a running service (granian) also stops one still preparing its database.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequests:
    """The SIGINT and SIGTERM received within stop_signals()."""

    def __init__(self) -> None:
        self.received: list[int] = []

    def check(self) -> None:
        """Raise SystemExit(0) if one came. Its handler raised SystemExit already, but code
        that catches what it runs can swallow it: psycopg2's first import, which the
        embedded start runs, clears any error raised while it imports psycopg2.errors."""
        if self.received:
            raise SystemExit(0)


@contextlib.contextmanager
def stop_signals() -> Iterator[StopRequests]:
    """Within: SIGINT or SIGTERM raise SystemExit(0), so that what serve started (the embedded
    PostgreSQL, in its own session) is stopped on the way out; Python's default for SIGTERM
    would end the process at once and leave it running. Not around initdb: SystemExit there
    would kill it half way. Call ``check()`` of what it gives between steps, and it checks
    on the way out: a swallowed SystemExit stops the command at the next one."""
    requests = StopRequests()

    def stop(signum, frame) -> NoReturn:
        requests.received.append(signum)
        _stop(signum, frame)

    previous = {signum: signal.signal(signum, stop) for signum in STOP_SIGNALS}
    try:
        yield requests
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    requests.check()


def _stop(signum, frame) -> NoReturn:
    logger.info('%s: stopping before serving', signal.Signals(signum).name)
    raise SystemExit(0)
