"""One background thread per process, for the verifier's pollers and subscribers.

A backend forks its workers after building its verifier: a thread does not survive a fork, so
``start`` (called on use) starts one in each process that lacks its own. ``stop`` is for good.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable


class ProcessThread:
    """A daemon thread running ``target(stop_event)`` in each process that calls ``start``."""

    def __init__(self, target: Callable[[threading.Event], None], name: str):
        self._target, self._name = target, name
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._stop = threading.Event()
        self._closed = False

    def start(self, before: Callable[[], None] | None = None) -> None:
        """Start this process's thread, unless it runs or ``stop`` was called; ``before`` runs
        first, under the lock, when a thread is about to start."""
        if self._closed or (self._thread is not None and self._pid == os.getpid()):
            return
        with self._lock:
            if self._closed or (self._thread is not None and self._pid == os.getpid()):
                return
            if before is not None:
                before()
            self._pid, self._stop = os.getpid(), threading.Event()
            self._thread = threading.Thread(target=self._target, args=(self._stop,),
                                            daemon=True, name=self._name)
            self._thread.start()

    def stop(self) -> None:
        """Stop for good: the thread is told to end and joined (up to 5 s)."""
        with self._lock:
            thread, self._thread, self._closed = self._thread, None, True
            self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
