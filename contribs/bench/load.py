"""What every load generator takes and gives back, and how one is chosen.

A generator sends one fixed ``Request`` over ``connections`` keep-alive connections to a server
on 127.0.0.1, discards a warm-up, and measures a window of ``duration`` seconds (or until
``stop`` is set). ``probe.start()``/``probe.stop()`` are called at the window's edges, so CPU
readings cover exactly the measured requests. A generator whose warm-up is a separate run calls
``settle()`` between the two, so requests the warm-up left queued in the server (a backlog of
logins at bcrypt cost) are not charged to the window.
"""
from __future__ import annotations

import math
import shutil
import threading
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Protocol

HOST = '127.0.0.1'  # load tests target loopback only


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # with its query string
    body: bytes = b''
    headers: dict[str, str] = field(default_factory=dict)
    expect: int = 200  # any other status counts as an error


@dataclass(frozen=True)
class Result:
    requests: int  # responses received in the window, whatever their status
    seconds: float  # length of the measured window
    errors: int  # unexpected statuses + connection errors and timeouts
    p50: float  # latencies in milliseconds
    p90: float
    p99: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


class Probe(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


class NoProbe:
    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class Generator(Protocol):
    name: str

    def run(self, port: int, request: Request, *, connections: int, duration: float,
            warmup: float, probe: Probe = NoProbe(), stop: threading.Event | None = None,
            settle: Callable[[], object] | None = None) -> Result: ...


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def choose(preference: str = 'auto') -> Generator:
    """wrk when installed (or asked for), else the bundled Python generator."""
    if preference == 'wrk' or (preference == 'auto' and shutil.which('wrk')):
        from .loadgen_wrk import WrkGenerator
        return WrkGenerator()
    from .loadgen_bundled import BundledGenerator
    return BundledGenerator()
