"""The bundled load generator: processes × threads, one persistent http.client connection each.

Used when wrk is not installed. Every response's completion time and latency are recorded;
only those inside the measured window count, so the warm-up and the ramp-down are excluded.
The warm-up runs on the same connections, so ``settle`` is not needed and not called.
Python costs far more CPU per request than wrk, and on a small machine that CPU is taken from
the server under test: compare runs made with the same generator only.
"""
from __future__ import annotations

import http.client
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable
import time
from array import array

from .load import HOST, NoProbe, Probe, Request, Result, percentile

CONNECT_TIMEOUT = 10.0
START_TIMEOUT = 60.0
ERROR_PAUSE = 0.01  # after a failed request, so a dead server is not hammered


class BundledGenerator:
    name = 'bundled'

    def run(self, port: int, request: Request, *, connections: int, duration: float,
            warmup: float, probe: Probe = NoProbe(), stop: threading.Event | None = None,
            settle: Callable[[], object] | None = None) -> Result:
        # fork: children start in milliseconds and re-import nothing; at this point the
        # parent holds no connection or lock that the children would touch.
        ctx = multiprocessing.get_context('fork')
        ready, results = ctx.Queue(), ctx.Queue()
        go, finish = ctx.Event(), ctx.Event()
        start_at = ctx.Value('d', 0.0)
        shares = _split(connections, min(connections, os.cpu_count() or 1))
        workers = [ctx.Process(target=_worker, daemon=True,
                               args=(port, request, share, ready, results, go, finish,
                                     start_at, warmup + duration + START_TIMEOUT))
                   for share in shares]
        for worker in workers:
            worker.start()
        try:
            _await_ready(ready, workers)
            start_at.value = time.monotonic()
            go.set()
            window = _measure(start_at.value, warmup, duration, probe, stop)
            finish.set()
            samples = [results.get(timeout=START_TIMEOUT) for _ in workers]
        finally:
            finish.set()
            go.set()
            for worker in workers:
                worker.join(timeout=10)
                if worker.is_alive():
                    worker.kill()
        return _summarise(samples, window)


def _await_ready(ready, workers) -> None:
    """Wait for every worker's connections; fail fast if one of them died."""
    deadline = time.monotonic() + START_TIMEOUT
    for _ in workers:
        while True:
            try:
                ready.get(timeout=0.5)
                break
            except queue.Empty:
                dead = [w for w in workers if w.exitcode is not None]
                if dead or time.monotonic() > deadline:
                    raise RuntimeError('bundled load generator: a worker did not start') \
                        from None


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _measure(start: float, warmup: float, duration: float, probe: Probe,
             stop: threading.Event | None) -> tuple[float, float]:
    """Sleep through the warm-up, then the window; returns its (start, end) monotonic times."""
    time.sleep(max(0.0, start + warmup - time.monotonic()))
    probe.start()
    begin = time.monotonic()
    if stop is None:
        time.sleep(duration)
    else:
        stop.wait(duration)
    end = time.monotonic()
    probe.stop()
    return begin, end


def _summarise(samples: list[tuple[bytes, bytes, bytes]], window: tuple[float, float]) -> Result:
    begin, end = window
    latencies: list[float] = []
    errors = 0
    for done_raw, latency_raw, error_raw in samples:
        done, latency, failed = array('d'), array('d'), array('d')
        done.frombytes(done_raw)
        latency.frombytes(latency_raw)
        failed.frombytes(error_raw)
        latencies.extend(lat for t, lat in zip(done, latency) if begin <= t <= end)
        errors += sum(1 for t in failed if begin <= t <= end)
    latencies.sort()
    ms = [value * 1000 for value in (percentile(latencies, 50), percentile(latencies, 90),
                                     percentile(latencies, 99))]
    return Result(requests=len(latencies), seconds=end - begin, errors=errors,
                  p50=ms[0], p90=ms[1], p99=ms[2])


class _Connection:
    """One client loop: the same request again and again on one keep-alive connection."""

    def __init__(self, port: int, request: Request):
        self._port = port
        self._request = request
        self._conn = http.client.HTTPConnection(HOST, port, timeout=CONNECT_TIMEOUT)
        self.done, self.latency, self.errors = array('d'), array('d'), array('d')

    def connect(self) -> None:
        self._conn.connect()

    def loop(self, stopped: threading.Event, deadline: float) -> None:
        request = self._request
        while not stopped.is_set() and time.monotonic() < deadline:
            began = time.monotonic()
            try:
                self._conn.request(request.method, request.path, body=request.body or None,
                                   headers=request.headers)
                response = self._conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                self._conn.close()  # the next request reconnects
                self.errors.append(time.monotonic())
                time.sleep(ERROR_PAUSE)
                continue
            ended = time.monotonic()
            self.done.append(ended)
            self.latency.append(ended - began)
            if response.status != request.expect:
                self.errors.append(ended)
        self._conn.close()


def _worker(port, request, connections, ready, results, go, finish, start_at, limit) -> None:
    clients = [_Connection(port, request) for _ in range(connections)]
    for client in clients:
        try:
            client.connect()
        except OSError:
            pass  # counted as errors by its loop, which reconnects
    ready.put(os.getpid())
    go.wait(START_TIMEOUT)
    deadline = start_at.value + limit
    stopped = threading.Event()
    threads = [threading.Thread(target=client.loop, args=(stopped, deadline), daemon=True)
               for client in clients]
    for thread in threads:
        thread.start()
    finish.wait(max(0.0, deadline - time.monotonic()))
    stopped.set()
    for thread in threads:
        thread.join(CONNECT_TIMEOUT + 1)
    merged = [array('d'), array('d'), array('d')]
    for client in clients:
        for target, source in zip(merged, (client.done, client.latency, client.errors)):
            target.extend(source)
    results.put(tuple(values.tobytes() for values in merged))
