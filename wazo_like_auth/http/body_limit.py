"""Request bodies, read whole before the application runs, by a bounded number of threads.

granian hands the application its body as it arrives: a read blocks its thread until the client
sends the bytes, with no time limit (granian 2.8 has no body timeout). A client announcing a
body it never sends would hold the thread for as long as it keeps the connection open, and
``rest_api.threads`` such clients would stop every request of the worker, token checks included.
So bodies are read here, by at most ``readers`` threads of the worker at once (a quarter of
them): stalled clients hold those, the others keep answering. A request that finds every reader
busy for READER_WAIT reads, instead of its body, a ``ServerBusy`` (503, Retry-After) raised by
its first read, through the application's error handling (the envelope, an RFC 6749 error, a
page); a request that never reads its body (a token check) is not concerned.

Bodies sent without Content-Length (chunked transfer encoding) have no length up front, and
werkzeug would silently *truncate* one at ``rest_api.max_body_size``: the application would
parse the first MiB of a bigger body (a 400 for invalid JSON at best, a different document at
worst). Such a body is read up to one byte past the limit: over the limit, the application's
first read of it raises 413 (RequestEntityTooLarge); within it, the application gets the body
with its Content-Length, as if the client had sent one. A Content-Length over the limit is not
read: werkzeug answers 413. A body shorter than its Content-Length (the client went away
mid-body) reads as 400: granian ends the stream where it stops, and the part that came is not
the request.
"""
from __future__ import annotations

import io
import threading
from collections.abc import Callable

from werkzeug.exceptions import RequestEntityTooLarge

from ..exceptions import InvalidData, ServerBusy

# How long a request waits for a free reader before it is answered 503. Bodies that have
# arrived with their request are read in microseconds: only readers held by slow or stalled
# clients make anyone wait.
READER_WAIT = 0.1
RETRY_AFTER = '1'
_CHUNKED = -1


def readers_of(threads: int) -> int:
    """The threads of a worker that may wait for request bodies at once."""
    return max(1, threads // 4)


class BodyReader:
    def __init__(self, app, limit: int, readers: int):
        self._app = app
        self._limit = limit
        self._readers = threading.BoundedSemaphore(readers)

    def __call__(self, environ, start_response):
        length = _announced(environ)
        if length is None or length > self._limit:
            return self._app(environ, start_response)
        if not self._readers.acquire(timeout=READER_WAIT):
            environ['wsgi.input'] = _Refused(_busy)
            return self._app(environ, start_response)
        try:
            body = self._read(environ['wsgi.input'], length)
        finally:
            self._readers.release()
        if isinstance(body, _Refused):
            environ['wsgi.input'] = body
        else:
            environ['wsgi.input'] = io.BytesIO(body)
            if length == _CHUNKED:  # as if the client had sent its length
                environ['CONTENT_LENGTH'] = str(len(body))
        return self._app(environ, start_response)

    def _read(self, stream, length: int) -> bytes | _Refused:
        """The body, or its refusal: a chunked body over the limit, or a body shorter than
        its Content-Length. The client of the latter went away mid-body: granian ends the
        stream there and tells werkzeug the stream is whole (wsgi.input_terminated), which
        would hand the part that came to the application as the request."""
        if length != _CHUNKED:
            body = _read_at_most(stream, length)
            return body if len(body) == length else _Refused(_cut_short)
        body = _read_at_most(stream, self._limit + 1)
        if len(body) <= self._limit:
            return body
        # Read (and drop) a bounded rest: closing with unread data makes TCP reset the
        # connection, and the client may never see the 413 of a body slightly too big.
        _discard(stream, self._limit)
        return _Refused(_too_large)


def _announced(environ) -> int | None:
    """The body's Content-Length; _CHUNKED for a chunked body the server ends at its last
    chunk (wsgi.input_terminated: granian does); None when there is no body to read here."""
    if 'chunked' in environ.get('HTTP_TRANSFER_ENCODING', '').lower():
        return _CHUNKED if environ.get('wsgi.input_terminated') else None
    try:
        length = int(environ.get('CONTENT_LENGTH') or 0)
    except ValueError:
        return None  # werkzeug reads such a request as bodiless
    return length if length > 0 else None


def _busy() -> Exception:
    return ServerBusy(headers={'Retry-After': RETRY_AFTER})


def _too_large() -> Exception:
    return RequestEntityTooLarge('Request body too large')


def _cut_short() -> Exception:
    return InvalidData('The body ended before its Content-Length')


class _Refused:
    """The body of a request refused before the application ran (no free reader, over the
    limit, cut short by its client): any read raises ``error()``, which the application
    answers as it answers its own errors (with the request id, CORS, the access log)."""

    def __init__(self, error: Callable[[], Exception]):
        self._error = error

    def read(self, *args):
        raise self._error()

    readline = readlines = read

    def __iter__(self):
        return self

    def __next__(self):
        return self.read()


def _read_at_most(stream, size: int) -> bytes:
    parts, remaining = [], size
    while remaining > 0:
        part = stream.read(min(remaining, 64 * 1024))
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b''.join(parts)


def _discard(stream, size: int) -> None:
    while size > 0 and (part := stream.read(min(size, 64 * 1024))):
        size -= len(part)
