"""Token checks measured while logins keep every bcrypt slot of the service busy.

A second load of logins runs for the whole window, started a moment before it so the hashing
pool is full when the first measured check arrives. The row's latencies are the checks'; its
CPU columns cover both loads (what the service spent while answering both).
"""
from __future__ import annotations

import threading
import time

from .load import Generator, Request, Result

LEAD = 1.5  # seconds of logins before the measured window opens
LIMIT = 600.0  # the logins stop with the window, or after this


class BackgroundLoad:
    """A context manager: ``request`` sent over ``connections`` while inside it."""

    def __init__(self, generator: Generator, port: int, request: Request, connections: int):
        self._generator = generator
        self._port = port
        self._request = request
        self._connections = connections
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='background-load', daemon=True)
        self.result: Result | None = None
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            self.result = self._generator.run(self._port, self._request,
                                              connections=self._connections, duration=LIMIT,
                                              warmup=0.0, stop=self._stop)
        except BaseException as e:  # reported by the caller, never lost in the thread
            self.error = e

    def __enter__(self) -> BackgroundLoad:
        self._thread.start()
        time.sleep(LEAD)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
