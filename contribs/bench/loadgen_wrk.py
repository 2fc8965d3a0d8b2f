"""wrk as the load generator: a Lua script sets the request and prints the summary as JSON.

wrk only takes whole seconds, so each run is given a generous ``-d`` and ended with SIGINT at the
exact time (wrk then stops, and still calls ``done``). The warm-up is a separate, discarded run,
followed by ``settle()``.
Statuses: wrk counts every response >= 400 in ``errors.status``; for a scenario expecting a 404
the errors are therefore the responses below 400 (a 5xx would go unnoticed there).
Note: wrk hangs on a HEAD response that announces a body (404 with Content-Length), so the
scenarios use GET for unknown tokens.
"""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable
import time

from .load import HOST, NoProbe, Probe, Request, Result

DONE = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"timeout": %d, "status": %d, "p50": %d, "p90": %d, "p99": %d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
"""


def _lua_string(value: str) -> str:
    escaped = value.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')
    return f'"{escaped}"'


def lua_script(request: Request) -> str:
    lines = [f'wrk.method = {_lua_string(request.method)}']
    if request.body:
        lines.append(f'wrk.body = {_lua_string(request.body.decode())}')
    for name, value in request.headers.items():
        lines.append(f'wrk.headers[{_lua_string(name)}] = {_lua_string(value)}')
    return '\n'.join(lines) + '\n' + DONE


def wrk_version() -> str:
    out = subprocess.run(['wrk', '--version'], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).splitlines()
    return first[0].split(' Copyright')[0] if first else 'wrk'


class WrkGenerator:
    name = 'wrk'

    def run(self, port: int, request: Request, *, connections: int, duration: float,
            warmup: float, probe: Probe = NoProbe(), stop: threading.Event | None = None,
            settle: Callable[[], object] | None = None) -> Result:
        with tempfile.NamedTemporaryFile('w', suffix='.lua', delete=False) as script:
            script.write(lua_script(request))
        try:
            if warmup > 0:
                self._wrk(port, request, script.name, connections, warmup, None)
                if settle is not None:
                    settle()
            probe.start()
            try:
                summary = self._wrk(port, request, script.name, connections, duration, stop)
            finally:
                probe.stop()
        finally:
            os.unlink(script.name)
        return _result(summary, request)

    @staticmethod
    def _wrk(port: int, request: Request, script: str, connections: int, seconds: float,
             stop: threading.Event | None) -> dict:
        threads = max(1, min(connections, os.cpu_count() or 1))
        cap = math.ceil(seconds) + 5
        argv = ['wrk', '-t', str(threads), '-c', str(connections), '-d', f'{cap}s',
                '--timeout', '30s', '--latency', '-s', script,
                f'http://{HOST}:{port}{request.path}']
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        if stop is None:
            time.sleep(seconds)
        else:
            stop.wait(seconds)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            out, err = process.communicate(timeout=cap + 10)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        for line in reversed(out.splitlines()):
            if line.startswith('{'):
                return json.loads(line)
        raise RuntimeError(f'wrk gave no summary: {err.strip() or out.strip()}')


def _result(summary: dict, request: Request) -> Result:
    socket_errors = sum(summary[key] for key in ('connect', 'read', 'write', 'timeout'))
    if request.expect >= 400:
        unexpected = summary['requests'] - summary['status']
    else:
        unexpected = summary['status']
    return Result(requests=summary['requests'], seconds=summary['duration_us'] / 1e6,
                  errors=socket_errors + unexpected, p50=summary['p50'] / 1000,
                  p90=summary['p90'] / 1000, p99=summary['p99'] / 1000)
