"""Both load generators against a tiny keep-alive server on 127.0.0.1 (no service involved):
they count responses, treat unexpected statuses as errors, and honour the stop event."""
from __future__ import annotations

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from contribs.bench.load import Request, percentile
from contribs.bench.loadgen_bundled import BundledGenerator
from contribs.bench.loadgen_wrk import WrkGenerator, _result, lua_script


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'  # keep-alive, as both generators expect

    def _answer(self, status: int) -> None:
        body = b'' if status == 204 else b'{"message": "x"}'
        length = int(self.headers.get('Content-Length') or 0)
        self.rfile.read(length)
        self.send_response(status)
        if status != 204:
            self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def do_HEAD(self):
        self._answer(204)

    def do_GET(self):
        self._answer(404 if 'unknown' in self.path else 200)

    def do_POST(self):
        self._answer(200 if self.headers.get('Authorization') == 'Basic Og==' else 401)

    def log_message(self, *args):
        pass


@pytest.fixture(scope='module')
def port():
    server = ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


GENERATORS = [BundledGenerator(), pytest.param(WrkGenerator(), marks=pytest.mark.skipif(
    not shutil.which('wrk'), reason='wrk is not installed'))]
CASES = [
    (Request('HEAD', '/0.1/token/t', expect=204), False),
    (Request('GET', '/0.1/token/unknown', expect=404), False),
    (Request('POST', '/0.1/token', b'{"a": 1}', {'Authorization': 'Basic Og=='}, 200), False),
    (Request('POST', '/0.1/token', b'{}', {}, 200), True),  # answered 401: all errors
]


@pytest.mark.parametrize('generator', GENERATORS)
@pytest.mark.parametrize('request_, failing', CASES)
def test_generator_counts_responses_and_unexpected_statuses(generator, port, request_, failing):
    result = generator.run(port, request_, connections=2, duration=0.5, warmup=0.2)
    assert result.requests > 0
    assert result.rps > 0
    assert 0 < result.p50 <= result.p90 <= result.p99
    if failing:
        assert result.errors == result.requests
    else:
        assert result.errors == 0


@pytest.mark.parametrize('generator', GENERATORS)
def test_stop_event_ends_the_window_and_probe_brackets_it(generator, port):
    calls = []

    class Probe:
        def start(self):
            calls.append('start')
            threading.Timer(0.3, stop.set).start()

        def stop(self):
            calls.append('stop')

    stop = threading.Event()
    result = generator.run(port, Request('HEAD', '/x', expect=204), connections=1,
                           duration=60, warmup=0, probe=Probe(), stop=stop)
    assert calls == ['start', 'stop']
    assert result.seconds < 30
    assert result.requests > 0


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) == 0.0


def test_lua_script_escapes_body_and_headers():
    script = lua_script(Request('POST', '/p', b'{"a": "b\\\\c"}', {'X-Q': 'say "hi"'}))
    assert 'wrk.method = "POST"' in script
    assert r'wrk.body = "{\"a\": \"b\\\\c\"}"' in script
    assert r'wrk.headers["X-Q"] = "say \"hi\""' in script
    assert 'function done(summary, latency, requests)' in script


def test_wrk_summary_errors_depend_on_the_expected_status():
    summary = {'requests': 100, 'duration_us': 2_000_000, 'connect': 1, 'read': 0, 'write': 0,
               'timeout': 2, 'status': 10, 'p50': 1000, 'p90': 2000, 'p99': 5000}
    ok = _result(summary, Request('HEAD', '/', expect=204))
    assert (ok.errors, ok.rps, ok.p99) == (13, 50.0, 5.0)
    not_found = _result(summary, Request('GET', '/', expect=404))
    assert not_found.errors == 3 + 90
