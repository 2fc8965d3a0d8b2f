"""Serve a WSGI app over real HTTP in a background thread, for tests of HTTP clients.

``LiveServer(app)`` listens on 127.0.0.1 on a free port and records every request it answers
(method and path, and the query strings of each path), so a test can count how often a client
really called the service, and with what parameters.
"""
from __future__ import annotations

import contextlib
import socket
import threading

from werkzeug.serving import WSGIRequestHandler, generate_adhoc_ssl_context, make_server


class _QuietHandler(WSGIRequestHandler):
    # werkzeug logs every request line, and token check paths contain tokens.
    def log_request(self, *args, **kwargs):
        pass


class LiveServer:
    """``tls=True`` serves HTTPS with a throw-away self-signed certificate."""

    def __init__(self, app, *, tls: bool = False):
        self._app = app
        self._lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []
        self._queries: list[tuple[str, str]] = []  # (path, query string), in arrival order
        self._scheme = 'https' if tls else 'http'
        self._server = make_server('127.0.0.1', 0, self._record, threaded=True,
                                   request_handler=_QuietHandler,
                                   ssl_context=generate_adhoc_ssl_context() if tls else None)
        # A short poll interval: shutdown() waits for the loop to notice, once per test.
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={'poll_interval': 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f'{self._scheme}://127.0.0.1:{self._server.server_port}'

    def count(self, method: str, path_prefix: str = '') -> int:
        """How many requests with ``method`` and a path starting with ``path_prefix`` arrived."""
        with self._lock:
            return sum(1 for m, p in self.requests if m == method and p.startswith(path_prefix))

    def queries(self, path: str) -> list[str]:
        """The query strings of the requests to ``path``, in arrival order."""
        with self._lock:
            return [query for p, query in self._queries if p == path]

    def __enter__(self) -> LiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _record(self, environ, start_response):
        with self._lock:
            self.requests.append((environ['REQUEST_METHOD'], environ.get('PATH_INFO', '')))
            self._queries.append((environ.get('PATH_INFO', ''), environ.get('QUERY_STRING', '')))
        return self._app(environ, start_response)


def closed_port_url() -> str:
    """The URL of a local port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    return f'http://127.0.0.1:{port}'


def dripping(stop: threading.Event):
    """A WSGI app answering 200 with a 1 MiB JSON body it sends a byte every 0.1 s until
    ``stop`` is set: each read of its client gets a byte within any read timeout, the whole
    answer never comes."""
    def app(environ, start_response):
        start_response('200 OK', [('Content-Type', 'application/json'),
                                  ('Content-Length', str(1 << 20))])
        while not stop.wait(0.1):
            yield b' '
    return app


def outcome_within(call, seconds: float = 20) -> list:
    """What ``call()`` returned or raised (its type), if it ended within ``seconds`` (a
    liveness check, not a speed one); [] if it was still waiting."""
    outcome = []

    def run():
        try:
            outcome.append(call())
        except Exception as error:  # noqa: BLE001 - the caller looks at what was raised
            outcome.append(type(error))
    caller = threading.Thread(target=run, daemon=True)
    caller.start()
    caller.join(timeout=seconds)
    return list(outcome)


def drip_header(peer: socket.socket, stop: threading.Event, head: bytes) -> None:
    """Answer ``peer``'s request with ``head`` (a status line and the start of a header), then
    one byte of that header every 0.1 s until ``stop``: each read gets a byte within any read
    timeout, and the header never ends."""
    with peer:
        peer.recv(65536)
        peer.sendall(head)
        while not stop.wait(0.1):
            try:
                peer.sendall(b'a')
            except OSError:
                return


@contextlib.contextmanager
def listening(handle):
    """``(url, stop)`` of a local TCP peer running ``handle(peer, stop)`` per connection, in a
    thread, until the block exits."""
    stop = threading.Event()
    listener = socket.create_server(('127.0.0.1', 0))
    listener.settimeout(0.1)

    def serve() -> None:
        while not stop.is_set():
            try:
                peer, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=handle, args=(peer, stop), daemon=True).start()
    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f'http://127.0.0.1:{listener.getsockname()[1]}', stop
    finally:
        stop.set()
        listener.close()


NO_CONTENT = b'HTTP/1.1 204 No Content\r\n\r\n'
EMPTY_JSON = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}'


def request_heads(conn):
    """The heads (request line and headers) of the requests arriving on ``conn``, a socket
    kept alive, one at a time until the client closes it (these peers take no bodies)."""
    buffer = b''
    while True:
        while b'\r\n\r\n' not in buffer:
            data = conn.recv(65536)
            if not data:
                return
            buffer += data
        head, buffer = buffer.split(b'\r\n\r\n', 1)
        yield head

